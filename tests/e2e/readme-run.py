# tests/e2e/readme-run.py: runs README.md's blocks meant to be typed, in order, in one
# directory (a fresh clone), and compares each transcript's printed output with the README.
#
# usage: python3 readme-run.py README DIR          run them; exit 1 on the first difference
#        python3 readme-run.py --check README      only check that every block has a marker
#
# A block meant to be typed is a fenced ```sh block, or an indented block whose first line
# is "$ command" (a transcript: "$ " lines are typed, the lines after one are its output).
# The nearest line above each such block must be a marker:
#   <!-- readme-test -->                run it (a ```sh block with `set -e`: every line must
#                                       succeed; a transcript: its output must match)
#   <!-- readme-test: skip REASON -->   not run here, for the REASON given
# In an expected output, a line "..." stands for any lines (none included), and durations
# (0ms, 5.5s) compare equal whatever they are: they are the only figures that vary.
# Variables a ```sh block exports (PATH, ...) stay for the next blocks; its `cd` does not.
import os
import re
import subprocess
import sys

MARK = re.compile(r"^<!-- readme-test(?:: (skip) (.*\S))? -->$")
DURATION = re.compile(r"\b\d+(?:\.\d+)?(?:ms|s)\b")


def blocks(path):
    """Yields (line number, kind, marker, lines) for each block meant to be typed."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i, n = 0, len(lines)
    prev = ""          # the nearest non-blank line before the current one
    while i < n:
        line = lines[i]
        m = re.match(r"^(```+)(\S*)", line)
        if m:
            fence, info, start = m.group(1), m.group(2), i
            body = []
            i += 1
            while i < n and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            if info == "sh":
                yield start + 1, "sh", prev, body
            prev = line
            i += 1
            continue
        if line.startswith("    $ ") and (i == 0 or lines[i - 1].strip() == ""):
            start, body = i, []
            while i < n and (lines[i].startswith("    ") or lines[i].strip() == ""):
                if lines[i].strip() == "" and (i + 1 >= n or not lines[i + 1].startswith("    ")):
                    break
                body.append(lines[i][4:])
                i += 1
            yield start + 1, "transcript", prev, body
            prev = body[-1] if body else prev
            continue
        if line.strip():
            prev = line
        i += 1


def marker(readme, lineno, prev):
    m = MARK.match(prev)
    if not m:
        sys.exit("%s:%d: a block to type has no <!-- readme-test --> marker above it "
                 "(or <!-- readme-test: skip REASON -->)" % (readme, lineno))
    return "skip" if m.group(1) else "run"


def expect_regex(expected):
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(re.escape(DURATION.sub("<T>", line.rstrip())) + r"\n")
    return re.compile("".join(parts) + r"\Z")


def main():
    if sys.argv[1] == "--check":
        readme = sys.argv[2]
        counts = {"run": 0, "skip": 0}
        for lineno, kind, prev, body in blocks(readme):
            counts[marker(readme, lineno, prev)] += 1
        print("%d blocks run, %d skipped" % (counts["run"], counts["skip"]))
        return 0
    readme, root = sys.argv[1], sys.argv[2]
    env = dict(os.environ)
    envfile = os.path.join(root, ".readme-env")
    for lineno, kind, prev, body in blocks(readme):
        if marker(readme, lineno, prev) == "skip":
            print("README.md:%d: skipped: %s" % (lineno, MARK.match(prev).group(2)))
            continue
        if kind == "sh":
            script = "set -e\n" + "\n".join(body) + "\nenv -0 >\"$READMETEST_ENV\"\n"
            env["READMETEST_ENV"] = envfile
            r = subprocess.run(["sh", "-c", script], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                print(r.stdout, end="")
                sys.exit("README.md:%d: the block failed (exit %d)" % (lineno, r.returncode))
            with open(envfile, encoding="utf-8", errors="replace") as f:
                env = dict(kv.split("=", 1) for kv in f.read().split("\0") if "=" in kv)
            for k in ("PWD", "OLDPWD", "READMETEST_ENV", "_"):
                env.pop(k, None)
            os.unlink(envfile)
            print("README.md:%d: ran" % lineno)
            continue
        out, expected, cmds = [], [], []
        for line in body:
            if line.startswith("$ "):
                cmds.append(line[2:])
                r = subprocess.run(["sh", "-c", line[2:]], cwd=root, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                out.append(r.stdout)
            else:
                expected.append(line)
        while expected and expected[-1].strip() == "":
            expected.pop()
        actual = "".join(out)
        norm = "\n".join(DURATION.sub("<T>", l.rstrip()) for l in actual.split("\n"))
        if expected and not norm.endswith("\n"):
            norm += "\n"
        if not expected_ok(expected, norm):
            print("README.md:%d: the output of %s differs from the README's:" % (lineno, cmds))
            print("--- README\n" + "\n".join(expected))
            print("--- printed\n" + actual)
            return 1
        print("README.md:%d: output as printed" % lineno)
    return 0


def expected_ok(expected, norm):
    if not expected:
        return norm.strip() == ""
    return expect_regex(expected).match(norm) is not None


if __name__ == "__main__":
    sys.exit(main())
