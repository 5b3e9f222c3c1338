# tests/e2e/lib.sh: the end-to-end test harness (git/sharness style), sourced by every
# tests/e2e/tNNNN-*.sh; each script gets a fresh git repository as its trash directory.
#
# Usage in a script (POSIX sh; runs under dash):
#	. "$(dirname "$0")/lib.sh"
#	test_expect_success 'title' 'shell code joined with &&'
#	test_done
# Options: -v/--verbose shows the commands' output as they run, -i/--immediate stops at
# the first failure, -d/--debug keeps the trash directory. NTFLOW_TEST_OPTS adds options.
# Without -v, a failing test's output is printed after its "not ok" line, so automake's
# log of the script says why.
# Each body runs in a subshell that starts in the trash directory: a `cd` or a variable set
# in one test does not reach the next (a counter kept in a body restarts every test; use
# $test_count, the number of the running test, for names that must differ between tests).

# ---- options and locations ----
verbose= immediate= debug=
for opt in ${NTFLOW_TEST_OPTS-} "$@"; do
	case $opt in
	-v|--verbose) verbose=t ;;
	-i|--immediate) immediate=t ;;
	-d|--debug) debug=t ;;
	-h|--help)
		echo "usage: $0 [-v|--verbose] [-i|--immediate] [-d|--debug]"
		exit 0 ;;
	*) echo "$0: unknown option '$opt'" >&2; exit 99 ;;
	esac
done

test_timeout_=${NTFLOW_TEST_TIMEOUT:-900}
this_test=${0##*/}
this_test=${this_test%.sh}

# make check sets both; by hand they default to the source tree (an in-tree build).
if test -z "${NTFLOW_SRC_DIR-}"; then
	NTFLOW_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd) || exit 99
fi
NTFLOW_BUILD_DIR=${NTFLOW_BUILD_DIR:-$NTFLOW_SRC_DIR}
NTFLOW_SRC_DIR=$(cd "$NTFLOW_SRC_DIR" && pwd) || exit 99
NTFLOW_BUILD_DIR=$(cd "$NTFLOW_BUILD_DIR" && pwd) || exit 99
if ! test -x "$NTFLOW_BUILD_DIR/ntflow"; then
	echo "error: no ntflow binary in $NTFLOW_BUILD_DIR (build first, or set NTFLOW_BUILD_DIR)" >&2
	exit 99  # automake: a hard error, not a test failure
fi
export NTFLOW_SRC_DIR NTFLOW_BUILD_DIR

# ---- a hermetic environment ----
# Unset every NTFLOW_* variable but the two above, so the caller's settings cannot leak in.
for v in $(env | sed -n 's/^\(NTFLOW_[A-Za-z0-9_]*\)=.*/\1/p'); do
	case $v in
	NTFLOW_SRC_DIR|NTFLOW_BUILD_DIR) ;;
	*) unset "$v" ;;
	esac
done
unset LANGUAGE CDPATH GREP_OPTIONS TMUX TMUX_PANE EDITOR VISUAL PAGER GIT_PAGER \
	XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR \
	GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_CEILING_DIRECTORIES \
	COLUMNS LINES
TZ=UTC LC_ALL=C LANG=C NO_COLOR=1 TERM=dumb
GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
GIT_AUTHOR_NAME='ntflow tests' GIT_AUTHOR_EMAIL='tests@ntflow.invalid'
GIT_COMMITTER_NAME='ntflow tests' GIT_COMMITTER_EMAIL='tests@ntflow.invalid'
export TZ LC_ALL LANG NO_COLOR TERM GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL \
	GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
# A sanitizer report aborts (a signal), so test_must_fail cannot mistake it for an
# ordinary failure; the caller's own options come after ours and win.
ASAN_OPTIONS="abort_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="abort_on_error=1:halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
# tests/ntflow-test is ntflow with the test-only hooks (NTFLOW_FAULT, NTFLOW_TEST_*), which
# ./ntflow lacks: a script that injects faults calls test_need_hooks, then runs ntflow-test.
PATH="$NTFLOW_BUILD_DIR:$NTFLOW_BUILD_DIR/tests:$NTFLOW_BUILD_DIR/examples/ml:$PATH"
export PATH
# The process spawner of the build (./ntflow finds it beside itself, tests/ntflow-test not).
NTFLOW_SPAWN=$NTFLOW_BUILD_DIR/ntflow-spawn
export NTFLOW_SPAWN
test_need_hooks() {
	test -x "$NTFLOW_BUILD_DIR/tests/ntflow-test" && return 0
	echo "error: no tests/ntflow-test in $NTFLOW_BUILD_DIR (make check builds it; by hand: make tests/ntflow-test)" >&2
	exit 99
}

# ---- the trash directory: a fresh git repository, also $HOME ----
# Outside the source and build trees, so that nothing the clone holds (its own .ntflow/,
# models/ or data/ after the README's main job, or the checkout's .git) is ever above a
# test; a unique name, so two checkouts can run their suites at once.
trash_parent_=${TMPDIR:-/tmp}
TRASH_DIRECTORY=$(mktemp -d "$trash_parent_/ntflow-trash.$this_test.XXXXXX") || {
	echo "error: cannot create a trash directory in $trash_parent_" >&2
	exit 99
}
TRASH_DIRECTORY=$(cd "$TRASH_DIRECTORY" && pwd -P) || exit 99
HOME=$TRASH_DIRECTORY
# No GIT_CEILING_DIRECTORIES: libgit2 (ntflow) ignores it, and git and ntflow must agree on
# which repository a directory is in, even above the trash (when TMPDIR is in a checkout).
export HOME TRASH_DIRECTORY
cd "$TRASH_DIRECTORY" || exit 99
if ! { git init -q -b main . &&
	git config user.name "$GIT_AUTHOR_NAME" &&
	git config user.email "$GIT_AUTHOR_EMAIL"; }; then
	echo "error: git init failed in $TRASH_DIRECTORY" >&2
	exit 99
fi

test_count=0 test_passed=0 test_failed=0 test_skipped=0 test_fixed=0 test_broken=0
test_output_=$(mktemp "${TMPDIR:-/tmp}/ntflow-test-out.XXXXXX") || exit 99
test_prereqs_=" "
test_when_finished_=

# A watchdog: a hung test must not eat the CI's time. After NTFLOW_TEST_TIMEOUT seconds
# (default 900) it kills this script and everything it started, so make check moves on.
test_descendants_() {
	# Prints every process under $1 except $2 and its own, reading /proc with builtins.
	root_=$1 self_=$2
	for stat in /proc/[0-9]*/stat; do
		read -r s <"$stat" 2>/dev/null || continue
		# "pid (comm) state ppid ...": comm may hold spaces, so cut after the last ')'.
		pid=${s%% *}
		rest=${s##*) }
		rest=${rest#* }
		echo "$pid ${rest%% *}"
	done | awk -v root="$root_" -v self="$self_" '
		{ parent[$1] = $2; pids[n++] = $1 }
		END {
			want[root] = 1
			do {
				more = 0
				for (i = 0; i < n; i++) {
					p = pids[i]
					if (p != self && !(p in want) && (parent[p] in want)) {
						want[p] = 1; print p; more = 1
					}
				}
			} while (more)
		}'
}
test_watchdog_() {
	read -r s </proc/self/stat  # a builtin: /proc/self is this subshell
	self_=${s%% *}
	i=0
	while test $i -lt "$test_timeout_"; do
		sleep 1
		kill -0 "$1" 2>/dev/null || exit 0
		i=$((i + 1))
	done
	echo "error: $this_test timed out after ${test_timeout_}s; killing it" >&2
	victims="$(test_descendants_ "$1" "$self_") $1"
	# shellcheck disable=SC2086
	kill -TERM $victims 2>/dev/null
	sleep 2
	# shellcheck disable=SC2086
	kill -KILL $victims 2>/dev/null
	exit 0
}
test_watchdog_ $$ </dev/null >/dev/null &
test_watchdog_pid_=$!

test_cleanup_() {
	kill "$test_watchdog_pid_" 2>/dev/null
	rm -f "$test_output_"
}
trap 'test_cleanup_' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the API ----

say_() { printf '%s\n' "$*"; }

# Prerequisites: `test_expect_success TMUX 'title' 'body'` runs only when tmux is there;
# several are joined with commas, !NAME negates. test_set_prereq declares one; the ones
# below are checked the first time a test asks.
test_noprereqs_=" "
test_set_prereq() { test_prereqs_="$test_prereqs_$1 "; }
test_check_prereq_() {
	case $1 in
	TMUX) command -v tmux ;;
	DOT) command -v dot ;;
	SKLEARN) /usr/bin/python3 -c 'import sklearn, scipy' ;;
	ROOT) test "$(id -u)" -eq 0 ;;
	SANITIZED) grep -q 'define NF_SANITIZED 1' "$NTFLOW_BUILD_DIR/config.h" ;;
	*) false ;;
	esac >/dev/null 2>&1
}
test_have_prereq() {
	for p in $(echo "$1" | tr ',' ' '); do
		neg=
		case $p in !*) neg=t p=${p#!} ;; esac
		case $test_prereqs_ in
		*" $p "*) have=t ;;
		*)
			case $test_noprereqs_ in
			*" $p "*) have= ;;
			*)
				if test_check_prereq_ "$p"; then
					test_set_prereq "$p"
					have=t
				else
					test_noprereqs_="$test_noprereqs_$p "
					have=
				fi ;;
			esac ;;
		esac
		test -n "$neg" && test -n "$have" && return 1
		test -z "$neg" && test -z "$have" && return 1
	done
	return 0
}

# test_when_finished CMD: run CMD when the current test ends, whether it passed or not
# (kill a tmux server, stop a background run).
test_when_finished() {
	test_when_finished_="{ $*
	} || test_cleanup_failed_=t; $test_when_finished_"
}

# The body runs inside a function so that `|| return 1` in a loop ends just the body.
test_eval_() { eval "$1"; }

# Runs a test body in a subshell in the trash directory; its status is the body's.
test_run_() {
	if test -n "$verbose"; then
		(
			cd "$TRASH_DIRECTORY" || exit 1
			test_cleanup_failed_=
			test_eval_ "$1"
			rc=$?
			eval "$test_when_finished_"
			test -z "$test_cleanup_failed_" || rc=1
			exit $rc
		) </dev/null
	else
		(
			cd "$TRASH_DIRECTORY" || exit 1
			test_cleanup_failed_=
			test_eval_ "$1"
			rc=$?
			eval "$test_when_finished_"
			test -z "$test_cleanup_failed_" || rc=1
			exit $rc
		) </dev/null >"$test_output_" 2>&1
	fi
}

test_show_failure_() {
	# the body, then (without -v) what it printed, so the log says why
	printf '%s\n' "$1" | sed 's/^/#	/'
	if test -z "$verbose" && test -s "$test_output_"; then
		say_ "# output:"
		sed 's/^/#	/' "$test_output_"
	fi
}

# test_expect_success [PREREQ] 'title' 'body'
test_expect_success() {
	if test $# = 3; then
		test_prereq_=$1
		shift
	else
		test_prereq_=
	fi
	if test $# != 2; then
		echo "error: bug in the test script: test_expect_success needs 2 or 3 arguments" >&2
		exit 99
	fi
	test_count=$((test_count + 1))
	if test -n "$test_prereq_" && ! test_have_prereq "$test_prereq_"; then
		test_skipped=$((test_skipped + 1))
		say_ "ok $test_count # skip $1 (missing $test_prereq_)"
		return 0
	fi
	test -z "$verbose" || say_ "expecting success: $2"
	if test_run_ "$2"; then
		test_passed=$((test_passed + 1))
		say_ "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		say_ "not ok $test_count - $1"
		test_show_failure_ "$2"
		if test -n "$immediate"; then
			say_ "# stopping at the first failure (-i); the trash directory is kept"
			test_done
		fi
	fi
}

# test_expect_failure [PREREQ] 'title' 'body': a known breakage. Passing is reported as a
# failure so the test gets changed to test_expect_success.
test_expect_failure() {
	if test $# = 3; then
		test_prereq_=$1
		shift
	else
		test_prereq_=
	fi
	test_count=$((test_count + 1))
	if test -n "$test_prereq_" && ! test_have_prereq "$test_prereq_"; then
		test_skipped=$((test_skipped + 1))
		say_ "ok $test_count # skip $1 (missing $test_prereq_)"
		return 0
	fi
	if test_run_ "$2"; then
		test_failed=$((test_failed + 1))
		test_fixed=$((test_fixed + 1))
		say_ "not ok $test_count - $1 # TODO fixed: make it test_expect_success"
	else
		test_passed=$((test_passed + 1))
		test_broken=$((test_broken + 1))
		say_ "ok $test_count - $1 # TODO known breakage"
	fi
}

# test_must_fail CMD...: CMD exits non-zero, but not by a signal (a crash or a sanitizer
# abort) and not because it was not found.
test_must_fail() {
	"$@"
	rc=$?
	if test $rc = 0; then
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
	elif test $rc -gt 128 && test $rc -le 192; then
		echo "test_must_fail: died by signal $((rc - 128)): $*" >&2
		return 1
	elif test $rc = 127; then
		echo "test_must_fail: command not found: $*" >&2
		return 1
	fi
	return 0
}

# test_expect_code N CMD...: CMD exits exactly N.
test_expect_code() {
	want=$1
	shift
	"$@"
	rc=$?
	if test "$rc" = "$want"; then
		return 0
	fi
	echo "test_expect_code: expected exit $want, got $rc: $*" >&2
	return 1
}

# test_cmp EXPECT ACTUAL: the files are equal; the diff is shown when not.
test_cmp() { diff -u "$@"; }

test_path_is_file() {
	test -f "$1" || { echo "not a file: $1" >&2; return 1; }
}
test_path_is_dir() {
	test -d "$1" || { echo "not a directory: $1" >&2; return 1; }
}
test_path_is_missing() {
	! test -e "$1" || { echo "should not exist: $1" >&2; return 1; }
}
test_must_be_empty() {
	test -f "$1" || { echo "no file: $1" >&2; return 1; }
	if test -s "$1"; then
		echo "'$1' is not empty, it contains:" >&2
		cat "$1" >&2
		return 1
	fi
}
# test_line_count = N FILE (or -gt, -lt, ...)
test_line_count() {
	n=$(wc -l <"$3")
	test "$n" "$1" "$2" || { echo "test_line_count: $n lines in $3, want $1 $2" >&2; return 1; }
}

# write_dag FILE: writes stdin to FILE (in a body, `<<-\EOF` strips the leading tabs).
write_dag() { cat >"$1"; }

# The shipped pipeline in the current repository, committed: dags/retrain.dag and the ntml
# sources (ntml itself comes from the build, on PATH), with the workspace's files ignored.
shipped_pipeline_repo() {
	mkdir -p dags examples/ml &&
	cp "$NTFLOW_SRC_DIR/dags/retrain.dag" dags/ &&
	cp "$NTFLOW_SRC_DIR"/examples/ml/*.c "$NTFLOW_SRC_DIR"/examples/ml/*.h \
		"$NTFLOW_SRC_DIR"/examples/ml/deploy.sh examples/ml/ &&
	chmod -R u+w dags examples &&
	printf "/.ntflow/\n/data/\n/build/\n/models/\n" >.gitignore &&
	git add .gitignore dags examples &&
	git commit -q -m "the retraining pipeline"
}

# json_get FILE EXPR: prints the value at EXPR (.a.b[0], .["odd key"]) like `jq -r`:
# strings raw, anything else as JSON. Fails when a key or index is missing.
json_get() {
	if test -x /usr/bin/python3; then
		json_py_=/usr/bin/python3
	else
		json_py_=$(command -v python3) || json_py_=
	fi
	if test -z "$json_py_"; then
		jq -r -e "$2" "$1"
		return
	fi
	"$json_py_" -c '
import json, re, sys
path, expr = sys.argv[1], sys.argv[2]
with open(path) as f:
    v = json.load(f)
tok = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?[0-9]+)\]|\.?\[\"([^\"]*)\"\]|\.$")
pos = 0
try:
    while pos < len(expr):
        m = tok.match(expr, pos)
        if not m:
            sys.exit("json_get: bad expression at %r" % expr[pos:])
        pos = m.end()
        if m.group(1) is not None:
            v = v[m.group(1)]
        elif m.group(2) is not None:
            v = v[int(m.group(2))]
        elif m.group(3) is not None:
            v = v[m.group(3)]
except (KeyError, IndexError, TypeError):
    sys.exit("json_get: no %s in %s" % (expr, path))
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "$2"
}

# test_skip_all 'reason': skips the whole script (automake counts exit 77 as SKIP).
test_skip_all() {
	say_ "1..0 # SKIP $*"
	cd / && rm -rf "$TRASH_DIRECTORY"
	exit 77
}

# test_done: prints "N passed, N failed" (", N skipped" when some were) and exits 0 only
# when nothing failed; removes the trash directory then, keeps it otherwise.
test_done() {
	test $test_broken = 0 || say_ "# $test_broken known breakage(s)"
	say_ "1..$test_count"
	if test $test_failed = 0; then
		cd / || true
		if test -z "$debug"; then
			rm -rf "$TRASH_DIRECTORY"
		else
			say_ "# trash directory kept (-d): $TRASH_DIRECTORY"
		fi
	else
		say_ "# failed: trash directory kept: $TRASH_DIRECTORY"
	fi
	if test $test_skipped = 0; then
		say_ "$test_passed passed, $test_failed failed"
	else
		say_ "$test_passed passed, $test_failed failed, $test_skipped skipped"
	fi
	test $test_failed = 0 && exit 0
	exit 1
}
