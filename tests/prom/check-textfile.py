#!/usr/bin/env python3
# tests/prom/check-textfile.py FILE: a strict reader of Prometheus' text exposition format
# (version 0.0.4), as node_exporter's textfile collector and promtool read it: every line is
# a HELP, a TYPE or a sample; a family's HELP and TYPE come once, before its samples, and
# its samples are contiguous; names and label names are valid, label values properly
# escaped, no series twice, every value a float (or NaN, +Inf, -Inf); the file ends with a
# line feed. Prints each problem with its line number and exits 1 when there is one.
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def parse_labels(text, problems, no):
    """text is what stands between the braces; returns the (name, value) pairs."""
    pairs, i = [], 0
    while i < len(text):
        m = re.match(LABEL, text[i:])
        if not m:
            problems.append(f'{no}: bad label name at "{text[i:]}"')
            return pairs
        name = m.group(0)
        i += len(name)
        if text[i:i + 2] != '="':
            problems.append(f'{no}: expected =" after label {name}')
            return pairs
        i += 2
        value = []
        while True:
            if i >= len(text):
                problems.append(f'{no}: unterminated value of label {name}')
                return pairs
            c = text[i]
            if c == '\\':
                nxt = text[i + 1:i + 2]
                if nxt not in ('\\', '"', 'n'):
                    problems.append(f'{no}: bad escape \\{nxt} in label {name}')
                value.append({'n': '\n'}.get(nxt, nxt))
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == '\n':
                problems.append(f'{no}: raw line feed in label {name}')
            value.append(c)
            i += 1
        pairs.append((name, ''.join(value)))
        if i < len(text):
            if text[i] != ',':
                problems.append(f'{no}: expected , between labels')
                return pairs
            i += 1
    return pairs


def check(data):
    problems = []
    if data and not data.endswith('\n'):
        problems.append('the file does not end with a line feed')
    helped, typed, closed, series = set(), set(), set(), set()
    current = None
    for no, line in enumerate(data.split('\n')[:-1] if data.endswith('\n') else data.split('\n'), 1):
        if line.startswith('#'):
            m = re.fullmatch(r'# (HELP|TYPE) (' + NAME + r') (.*)', line)
            if not m:
                if line.startswith('# HELP') or line.startswith('# TYPE'):
                    problems.append(f'{no}: malformed {line[2:6]} line')
                continue
            kind, name, rest = m.groups()
            if current and name != current:
                closed.add(current)
            if name in closed:
                problems.append(f'{no}: {kind} of {name} after its samples ended')
            seen = helped if kind == 'HELP' else typed
            if name in seen:
                problems.append(f'{no}: a second {kind} of {name}')
            seen.add(name)
            if kind == 'TYPE' and rest not in TYPES:
                problems.append(f'{no}: unknown type {rest}')
            if kind == 'HELP' and re.search(r'\\[^\\n]', rest):
                problems.append(f'{no}: bad escape in HELP of {name}')
            current = name
            continue
        if not line.strip():
            problems.append(f'{no}: blank line')
            continue
        m = re.fullmatch(r'(' + NAME + r')(?:\{(.*)\})? (\S+)(?: (-?\d+))?', line)
        if not m:
            problems.append(f'{no}: not a sample: {line!r}')
            continue
        name, labels, value, _ = m.groups()
        if name != current:
            if current:
                closed.add(current)
            if name in closed:
                problems.append(f'{no}: samples of {name} are not contiguous')
            if name not in typed:
                problems.append(f'{no}: {name} has no TYPE before its samples')
            current = name
        pairs = parse_labels(labels or '', problems, no)
        names = [p[0] for p in pairs]
        if len(set(names)) != len(names):
            problems.append(f'{no}: a label twice in {name}')
        key = (name, tuple(sorted(pairs)))
        if key in series:
            problems.append(f'{no}: the series {name}{{{labels}}} twice')
        series.add(key)
        if value not in ('NaN', '+Inf', '-Inf'):
            try:
                float(value)
            except ValueError:
                problems.append(f'{no}: bad value {value!r}')
    return problems


if __name__ == '__main__':
    with open(sys.argv[1], encoding='utf-8') as f:
        found = check(f.read())
    for p in found:
        print(f'{sys.argv[1]}:{p}')
    sys.exit(1 if found else 0)
