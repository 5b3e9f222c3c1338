#!/bin/sh
# t0090-readme.sh: README.md can be followed literally. Its blocks meant to be typed (```sh
# blocks and "$ command" transcripts, each marked <!-- readme-test --> or skipped with a
# reason) run in order in a fresh clone of the source tree, with the build's ntflow and ntml
# linked where a build puts them and the build folder NOT on PATH (the README must put
# ntflow there itself); each transcript's output must be what the README prints (dates are
# pinned by the README's commands; durations compare equal). The command table lists every
# command of `ntflow --help`, and the shipped pipeline runs without a warning.
. "$(dirname "$0")/lib.sh"

README=$NTFLOW_SRC_DIR/README.md
RUNNER=$NTFLOW_SRC_DIR/tests/e2e/readme-run.py

test_expect_success 'every block to type is marked: run, or skipped with a reason' '
	python3 "$RUNNER" --check "$README" >out &&
	cat out &&
	grep "^[1-9][0-9]* blocks run" out
'

test_expect_success 'the command table lists every command of ntflow --help' '
	ntflow --help | sed -n "/^Commands:/,/^\$/s/^  \([a-z]*\) .*/\1/p" >cmds &&
	test_line_count -gt 20 cmds &&
	while read c; do
		grep -q "^| \`ntflow $c[ \`]" "$README" ||
			{ echo "README.md: no line for ntflow $c in the command table"; return 1; }
	done <cmds
'

test_expect_success 'the shipped pipeline runs without a warning' '
	rm -rf src && mkdir src && cd src && git init -q &&
	mkdir -p dags examples/ml &&
	cp "$NTFLOW_SRC_DIR/dags/retrain.dag" dags/ &&
	cp "$NTFLOW_SRC_DIR"/examples/ml/*.c "$NTFLOW_SRC_DIR"/examples/ml/*.h \
		"$NTFLOW_SRC_DIR"/examples/ml/deploy.sh examples/ml/ &&
	git add -A && git commit -qm pipeline &&
	ntflow run dags/retrain.dag --date 2026-11-23 --no-tui >out 2>&1 &&
	! grep -i "warning" out
'

# A clone of the tree as it is: git clone of a checkout with its uncommitted changes laid
# over it (committed there, so that the clone is clean), else (a release tarball, also one
# unpacked inside a checkout by make distcheck) a copy.
test_expect_success 'a fresh clone with the build linked in, ntflow not on PATH' '
	top=$(git -C "$NTFLOW_SRC_DIR" rev-parse --show-toplevel 2>/dev/null) || top= &&
	if test -n "$top" && test "$(cd "$top" && pwd -P)" = "$(cd "$NTFLOW_SRC_DIR" && pwd -P)"; then
		git clone -q "$NTFLOW_SRC_DIR" clone &&
		(cd "$NTFLOW_SRC_DIR" && git ls-files -z -m -o --exclude-standard) >changed &&
		if test -s changed; then
			(cd "$NTFLOW_SRC_DIR" && xargs -0 tar cf - --ignore-failed-read) <changed |
				(cd clone && tar xf -) &&
			(cd clone && git add -A && git commit -qm "uncommitted changes")
		fi
	else
		cp -R "$NTFLOW_SRC_DIR" clone && chmod -R u+w clone &&
		(cd clone && git init -q && git add -A && git commit -qm tree)
	fi &&
	# a tarball built in its own folder holds the binaries already: the build s own win
	rm -f clone/ntflow &&
	ln -s "$NTFLOW_BUILD_DIR/ntflow" clone/ntflow &&
	ln -sf "$NTFLOW_BUILD_DIR/examples/ml/ntml" clone/examples/ml/ntml &&
	test -x clone/ntflow
'

test_expect_success 'the README s blocks run and print what it shows' '
	PATH=$(printf "%s" "$PATH" | tr ":" "\n" | grep -v "^$NTFLOW_BUILD_DIR" | paste -sd: -) &&
	! command -v ntflow >/dev/null &&
	python3 "$RUNNER" "$README" "$TRASH_DIRECTORY/clone" >log 2>&1;
	rc=$?; cat log; test $rc = 0
'

test_done
