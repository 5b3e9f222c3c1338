#!/bin/sh
# bench/history.sh: how `ntflow runs` and `ntflow show RUN --perf` grow with the history of a
# workspace: real `--no-cache` runs of a generated N-stage pipeline are recorded one after the
# other, and at 1, 50 and 200 runs both commands are timed (median of REPS calls).
#
# usage: bench/history.sh [N [COUNTS]]     (defaults: 1000 stages, "1 50 200" runs)
# environment: NTFLOW (default: ntflow on PATH), REPS (default 5), TMPDIR (put it on tmpfs,
# e.g. TMPDIR=/dev/shm: the runs are the slow part, about 0.7 s each at 1 000 stages)
set -eu

usage() { echo "usage: $0 [N [COUNTS]]" >&2; exit 2; }
n=${1-1000}
counts=${2-"1 50 200"}
case $n in ''|*[!0-9]*) usage ;; esac
for c in $counts; do case $c in *[!0-9]*) usage ;; esac; done
reps=${REPS-5}
case $reps in ''|*[!0-9]*|0) usage ;; esac
ntflow=${NTFLOW-ntflow}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "$0: $*" >&2; exit 1; }
command -v "$ntflow" >/dev/null 2>&1 || die "no ntflow binary ($ntflow); set NTFLOW=/path/to/ntflow"
ntflow=$(command -v "$ntflow")

work=$(mktemp -d "${TMPDIR:-/tmp}/nfhistory.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cd "$work"
git init -q .
"$here/gen-dag.sh" "$n" 3 >p.dag

# seconds as a float, from date's nanoseconds
now() { date +%s.%N; }
# the median of REPS timings of a command, in milliseconds
time_ms() {
	i=0
	: >t.out
	while [ "$i" -lt "$reps" ]; do
		a=$(now)
		"$@" >/dev/null || die "failed: $*"
		b=$(now)
		echo "$a $b" | awk '{ printf "%.1f\n", ($2 - $1) * 1000 }' >>t.out
		i=$((i + 1))
	done
	sort -n t.out | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "history: runs of $n stages (--no-cache, -j 2), then REPS=$reps timings of each command"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ntflow: $ntflow ($("$ntflow" --version)), folder $work"
printf '%-6s %12s %16s\n' runs "runs ms" "show --perf ms"
done_runs=0
for c in $counts; do
	while [ "$done_runs" -lt "$c" ]; do
		"$ntflow" run --no-cache --no-tui -j 2 p.dag >/dev/null 2>&1 || die "run $((done_runs + 1)) failed"
		done_runs=$((done_runs + 1))
	done
	r=$(time_ms "$ntflow" runs)
	p=$(time_ms "$ntflow" show "$done_runs" --perf)
	printf '%-6d %12s %16s\n' "$done_runs" "$r" "$p"
done
