#!/bin/sh
# bench/commands.sh: every command that reads a run, timed on workspaces of two sizes (and a
# few shapes the layered graph lacks), to find what grows faster than the pipeline. A
# command whose time grows more than SLOPE times faster than the stage count between the
# sizes is marked "superlinear". Each of the five such paths found on 2026-12-05 (`show` of a
# cached run, `diff`, the dashboard, a stage reading another's thousands of outputs, a
# matrix over a folder of ignored files) took seconds to half a minute at 10 000 or 100 000
# stages; each would be marked here.
#
# usage: bench/commands.sh
# environment (all optional):
#   NTFLOW   the ntflow binary (default: ntflow on PATH; its ntflow-spawn beside it)
#   SIZES    two stage counts, the smaller first (default "1000 10000")
#   SLOPE    how much faster than the stage count a time may grow before it is marked
#            (default 2: ten times the stages in more than twenty times the time)
#   TMPDIR   where the workspaces go (outside any git repository)
#   KEEP=1   keep them
# Prints a Markdown table: each command's wall time at each size, the ratio, and a mark.
# Times under 20 ms at the larger size are not judged (process start dominates them).
set -eu
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "commands.sh: $*" >&2; exit 1; }
ntflow=$(command -v "${NTFLOW-ntflow}") || die "no ntflow binary; set NTFLOW=/path/to/ntflow"
case $ntflow in /*) ;; *) ntflow=$(pwd)/$ntflow ;; esac
[ -x "$(dirname "$ntflow")/ntflow-spawn" ] && export NTFLOW_SPAWN="$(dirname "$ntflow")/ntflow-spawn"
set -- ${SIZES-1000 10000}
[ $# -eq 2 ] || die "SIZES: two stage counts"
small=$1 large=$2
for n in "$small" "$large"; do case $n in ''|*[!0-9]*) die "SIZES: $n is not a number" ;; esac; done
[ "$small" -ge 100 ] && [ "$large" -gt "$small" ] || die "SIZES: at least 100, the smaller first"
slope=${SLOPE-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/nfcommands.XXXXXX")
if [ "${KEEP-0}" = 1 ]; then echo "workspaces kept in $work" >&2; else trap 'rm -rf "$work"' EXIT; fi
trap 'exit 130' INT TERM
if top=$(git -C "$work" rev-parse --show-toplevel 2>/dev/null); then
	die "TMPDIR ($work) is inside the git repository $top; set TMPDIR to a folder outside any"
fi

# now_ms: a monotonic-enough clock in milliseconds (GNU date)
now_ms() { date +%s%3N; }

# timed DIR LABEL CMD...: runs CMD in DIR (output discarded), records LABEL's milliseconds
timed() {
	d_=$1 l_=$2
	shift 2
	t0_=$(now_ms)
	(cd "$d_" && "$@" >"$work/out" 2>&1 </dev/null) || {
		tail -5 "$work/out" >&2
		die "failed in $d_: $*"
	}
	echo "$l_ $(($(now_ms) - t0_))" >>"$work/times.$size"
	echo "  $l_: $(($(now_ms) - t0_)) ms" >&2
}

# repo DIR: a git repository with one commit of what DIR holds
repo() {
	(cd "$1" && git init -q . && git config user.email bench@ntflow && git config user.name bench &&
		git add -A && git commit -q -m bench)
}

# many_outputs N DIR: a stage writing N files, another reading them all as inputs
many_outputs() {
	mkdir -p "$2"
	printf '/.ntflow/\n/out/\n' >"$2/.gitignore"
	awk -v n="$1" 'BEGIN {
		printf "pipeline \"many\" {\n}\nstage \"w\" {\n  run = \"mkdir -p out && cd out && seq 0 %d | sed s/^/f/ | xargs touch\"\n  outputs = [", n - 1
		for (i = 0; i < n; i++) printf "%s\"out/f%d\"", i ? ", " : "", i
		printf "]\n}\nstage \"r\" {\n  needs = [\"w\"]\n  inputs = ["
		for (i = 0; i < n; i++) printf "%s\"out/f%d\"", i ? ", " : "", i
		printf "]\n  run = \"ls out | wc -l >count\"\n  outputs = [\"count\"]\n}\n"
	}' >"$2/many.dag"
	repo "$2"
}

# ignored_matrix N DIR: a matrix of N/10 instances (at most 1 000) reading a folder of N
# files git ignores
ignored_matrix() {
	mkdir -p "$2/data" "$2/out"
	printf '/.ntflow/\n/out/\n*.csv\n' >"$2/.gitignore"
	echo keep >"$2/data/README"
	seq 1 "$1" | sed 's|.*|data/f&.csv|' | (cd "$2" && xargs touch)
	awk -v n="$1" 'BEGIN {
		m = int(n / 10); if (m > 1000) m = 1000; if (m < 2) m = 2
		printf "pipeline \"mx\" {\n}\nstage \"m\" {\n  matrix {\n    i = ["
		for (i = 0; i < m; i++) printf "%s%d", i ? ", " : "", i
		printf "]\n  }\n  inputs = [\"data\"]\n  run = \"ls data | wc -l >out/m${matrix.i}\"\n  outputs = [\"out/m${matrix.i}\"]\n}\n"
	}' >"$2/mx.dag"
	repo "$2"
}

for size in "$small" "$large"; do
	echo "== $size stages" >&2
	: >"$work/times.$size"
	w="$work/w$size"
	# the layered graph with outputs that follow their inputs: a full run, a cached rerun,
	# then one root changed, so the last run has misses with an earlier run to explain them
	"$here/gen-compare.sh" layered "$size" prop "$w" >/dev/null
	timed "$w" "run (full)" "$ntflow" run -j 2 --no-tui bench.dag
	timed "$w" "run (cached)" "$ntflow" run -j 2 --no-tui bench.dag
	root=$(ls "$w/in" | head -1)
	# one line, so the file stays sorted for the `sort -m` of its descendants (appended to,
	# unsorted, the merges would grow threefold a layer)
	echo "${root%.txt} changed" >"$w/in/$root"
	# (not timed: how many stages it reruns depends on the graph's depth, not only its size)
	(cd "$w" && "$ntflow" run -j 2 --no-tui bench.dag >/dev/null 2>&1) || die "the incremental run failed in $w"
	miss=${root%.txt}   # the changed root's stage: a miss in the last run
	timed "$w" "validate" "$ntflow" validate bench.dag
	timed "$w" "graph" "$ntflow" graph bench.dag
	timed "$w" "run -n" "$ntflow" run -n --no-tui bench.dag
	timed "$w" "runs" "$ntflow" runs
	timed "$w" "runs --json" "$ntflow" runs --json
	timed "$w" "show (a cached run)" "$ntflow" show 2
	timed "$w" "show (with misses)" "$ntflow" show 3
	timed "$w" "show --json" "$ntflow" show 3 --json
	timed "$w" "show --perf" "$ntflow" show 3 --perf
	timed "$w" "why (a miss)" "$ntflow" why "$miss"
	timed "$w" "diff" "$ntflow" diff 1 3
	timed "$w" "diff --json" "$ntflow" diff 1 3 --json
	timed "$w" "logs" "$ntflow" logs 1 "$miss"
	timed "$w" "audit verify" "$ntflow" audit verify
	timed "$w" "cache ls" "$ntflow" cache ls
	timed "$w" "cache verify" "$ntflow" cache verify
	timed "$w" "report --html" "$ntflow" report --html "$work/report.html"
	timed "$w" "dash (2 frames)" "$ntflow" dash --screen "$work/screen.txt" --max-frames 2
	timed "$w" "export --prometheus" "$ntflow" export --prometheus
	timed "$w" "prune -n" "$ntflow" prune --keep-runs 1 -n
	# a stage reading as inputs the outputs another writes: half as many
	many_outputs $((size / 2)) "$work/m$size"
	timed "$work/m$size" "inputs = another's outputs (full)" "$ntflow" run --no-tui many.dag
	timed "$work/m$size" "inputs = another's outputs (cached)" "$ntflow" run --no-tui many.dag
	ignored_matrix "$size" "$work/x$size"
	# the first run reads the folder for each instance (instances x files, both growing
	# with the size: not judged); the rerun, with nothing run yet, once
	(cd "$work/x$size" && "$ntflow" run --no-tui mx.dag >/dev/null 2>&1) || die "the matrix's first run failed"
	timed "$work/x$size" "matrix over ignored files (cached)" "$ntflow" run --no-tui mx.dag
done

echo "# bench/commands.sh: $("$ntflow" --version 2>/dev/null | head -1), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Wall time of each command, ms, on the layered graph (and the shapes named) at $small and"
echo "$large stages; marked when it grows more than $slope times faster than the stages."
echo
echo "| command | $small | $large | ratio | |"
echo "|---|---|---|---|---|"
marked=0
while read -r line; do
	label=${line% *} a=${line##* }
	b=$(awk -v l="$label" '{ t = $NF; $NF = ""; sub(/ $/, ""); if ($0 == l) { print t; exit } }' "$work/times.$large")
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (a > 0 ? b / a : 0) }')
	mark=$(awk -v a="$a" -v b="$b" -v s="$small" -v l="$large" -v k="$slope" 'BEGIN {
		if (b >= 20 && (a == 0 || b / a > k * l / s)) print "**superlinear**"
	}')
	[ -z "$mark" ] || marked=$((marked + 1))
	echo "| $label | $a | $b | $ratio | $mark |"
done <"$work/times.$small"
echo
echo "$marked superlinear"
