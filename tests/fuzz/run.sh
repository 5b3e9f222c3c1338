#!/bin/sh
# tests/fuzz/run.sh [-t SECONDS] [TARGET...]: runs the libFuzzer builds of the fuzz targets
# (`make fuzz` first) for SECONDS each (default 60), one after the other, each starting from
# its committed corpus, tests/fuzz/corpus/TARGET/. TARGETs: dag, expr, params, metrics, cron, params_file, import (all
# by default). Inputs that found new paths go to tests/fuzz/bin/work/TARGET/, never into the
# committed corpus; a crashing input is saved as tests/fuzz/bin/crashes/TARGET-crash-*.
# Prints a line per target with its executions, executions per second and corpus size, and
# the crash file, if any; each run's whole log is tests/fuzz/bin/TARGET.out (not .log:
# tests/summary.sh reads every tests/**/*.log as a test's).
# The last line counts the targets: "N passed, N failed". Exits 1 when a target crashed (or
# could not run), 0 otherwise.
# A crash found: reproduce it with `tests/fuzz/bin/fuzz_TARGET FILE`, fix the code, then copy
# FILE to tests/fuzz/corpus/TARGET/crash-WHAT so t1900 keeps it fixed.
set -u

seconds=60
while test $# -gt 0; do
	case $1 in
	-t) seconds=${2:?-t needs a number of seconds}; shift 2 ;;
	-h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
	*) break ;;
	esac
done
test $# -gt 0 || set -- dag expr params metrics cron params_file import

cd "$(dirname "$0")/../.."
bin=tests/fuzz/bin
mkdir -p "$bin/crashes"
# UBSan reports are crashes (the build has -fno-sanitize-recover); say where they are.
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export UBSAN_OPTIONS

# fuzz_stat NAME: the value of libFuzzer's final "stat::NAME: VALUE" line in $log
fuzz_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }

passed=0 failed=0
for t in "$@"; do
	prog=$bin/fuzz_$t
	log=$bin/$t.out
	if ! test -x "$prog" || ! test -d "tests/fuzz/corpus/$t"; then
		echo "fuzz_$t: no $prog or no tests/fuzz/corpus/$t (run 'make fuzz' first)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$bin/work/$t"
	# the language's words, where the target has a dictionary (tests/fuzz/TARGET.dict)
	dict=
	test -f "tests/fuzz/$t.dict" && dict=-dict=tests/fuzz/$t.dict
	# -timeout: an input that takes this long is a hang, reported like a crash.
	"$prog" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 $dict \
		-artifact_prefix="$bin/crashes/$t-" "$bin/work/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(fuzz_stat number_of_executed_units) speed=$(fuzz_stat average_exec_per_sec)
	units=$(find "$bin/work/$t" "tests/fuzz/corpus/$t" -type f | wc -l)
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	if test $rc -eq 0; then
		passed=$((passed + 1))
		printf 'fuzz_%s: %s runs in %s s, %s exec/s, %s corpus files, %s MB peak, no crash\n' \
			"$t" "${runs:-?}" "$seconds" "${speed:-?}" "$units" "$(fuzz_stat peak_rss_mb)"
	else
		failed=$((failed + 1))
		printf 'fuzz_%s: FAILED (exit %s) after %s runs: %s (log: %s)\n' "$t" "$rc" "${runs:-?}" \
			"${crash:-no crash file}" "$log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*property failed)' "$log" | head -n 5 | sed 's/^/  /'
	fi
done
echo "$passed passed, $failed failed"
test $failed -eq 0
