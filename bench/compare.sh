#!/bin/sh
# bench/compare.sh: ntflow against ninja, GNU make, Snakemake and the spawn floors on the
# same generated DAGs (chain, wide, layered), one session, tools alternated run by run:
# full run, no-op, incremental run, validate, own CPU and peak RSS; prints a Markdown report
# and writes it to bench/RESULTS.md (see bench/README.md).
#
# usage: bench/compare.sh
# environment (all optional):
#   NTFLOW   the ntflow binary (default: ntflow on PATH; `make bench` gives ./ntflow)
#   SIZES    task counts (default "1000 10000 100000"; QUICK=1: "200")
#   SHAPES   shapes (default "chain wide layered")
#   BIG      the shapes run at sizes above BIG_ABOVE (default "layered"; BIG_ABOVE 10000)
#   FLOORS   the spawn floors run (default "floor-exec floor-sh"; "" for none)
#   TOOLS    tools besides the floors (default "ntflow ninja make snakemake")
#   REPS     rounds of every tool per shape and size (default: 3 up to 1000 and for
#            layered up to 10000 (the graph of the targets), else 1)
#   J        parallelism of every tool and floor (default 2)
#   INCR_MAX largest size with an incremental run (default 10000)
#   SH_MAX, SH_SHAPES  the "full, sh" run (every command `touch out/NAME && :`, which needs
#            a shell, for floor-sh, ntflow, ninja and make) up to SH_MAX tasks (default
#            10000; 0: none) for the shapes in SH_SHAPES (default "layered")
#   SNAKE_MAX, SNAKE_BIG, SNAKE_REPS, SNAKE_TIMEOUT  Snakemake runs up to SNAKE_MAX tasks
#            (default 10000), above 1000 only for the shapes in SNAKE_BIG (default
#            "layered"), SNAKE_REPS rounds (default 1) and at most SNAKE_TIMEOUT seconds a
#            run (default 600), reported as "> 600 s (timeout)"; its incremental run up
#            to 1000 tasks only
#   TMPDIR   where the run folders go (its file system is recorded)
#   OUT      the report file (default: bench/RESULTS.md next to this script; "-": none)
#   LABEL    a line put under the report's title (e.g. which build this is)
#   QUICK=1  a smoke test: 200 tasks, one round, Snakemake at most 60 s
#   KEEP=1   keep the run folders
set -eu
# Run from make (make bench, make check), the environment carries the outer make's flags:
# its -s would silence the inner make's "Nothing to be done" (the no-op check), and its
# jobserver would share the outer -j. Each tool runs with its own -j alone.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "compare.sh: $*" >&2; exit 1; }
quick=${QUICK-0}
if [ "$quick" = 1 ]; then
	sizes=${SIZES-200} reps_all=${REPS-1} snake_timeout=${SNAKE_TIMEOUT-60}
else
	sizes=${SIZES-"1000 10000 100000"} reps_all=${REPS-} snake_timeout=${SNAKE_TIMEOUT-600}
fi
shapes=${SHAPES-"chain wide layered"}
big=${BIG-layered}
big_above=${BIG_ABOVE-10000}
floors=${FLOORS-"floor-exec floor-sh"}
tools=${TOOLS-"ntflow ninja make snakemake"}
j=${J-2}
incr_max=${INCR_MAX-10000}
sh_max=${SH_MAX-10000}
sh_shapes=${SH_SHAPES-layered}
snake_max=${SNAKE_MAX-10000}
snake_big=${SNAKE_BIG-layered}
snake_reps=${SNAKE_REPS-1}
out=${OUT-$here/RESULTS.md}
ntflow=${NTFLOW-ntflow}

for n in $sizes; do case $n in ''|*[!0-9]*) die "SIZES: $n is not a number" ;; esac
	[ "$n" -ge 3 ] || die "SIZES: at least 3 tasks"; done
for s in $shapes $big; do case $s in chain|wide|layered) ;; *) die "unknown shape $s" ;; esac; done
for t in $tools; do case $t in ntflow|ninja|make|snakemake) ;; *) die "unknown tool $t" ;; esac; done
for t in $floors; do case $t in floor-exec|floor-sh) ;; *) die "unknown floor $t" ;; esac; done
case $big_above in ''|*[!0-9]*) die "BIG_ABOVE must be a number" ;; esac
case $sh_max in ''|*[!0-9]*) die "SH_MAX must be a number" ;; esac
for s in $sh_shapes; do case $s in chain|wide|layered) ;; *) die "SH_SHAPES: unknown shape $s" ;; esac; done
case $j in ''|*[!0-9]*|0) die "J must be a positive number" ;; esac
has() { case " $tools " in *" $1 "*) return 0 ;; esac; return 1; }
command -v cc >/dev/null 2>&1 || die "no cc to build the spawn floor"
if has ntflow; then
	command -v "$ntflow" >/dev/null 2>&1 || die "no ntflow binary ($ntflow); set NTFLOW=/path/to/ntflow"
	ntflow=$(command -v "$ntflow")
	case $ntflow in /*) ;; *) ntflow=$(pwd)/$ntflow ;; esac
fi
has ninja && { command -v ninja >/dev/null 2>&1 || die "no ninja (apt-get install ninja-build)"; }
has make && { command -v make >/dev/null 2>&1 || die "no make"; }
if has snakemake && ! command -v snakemake >/dev/null 2>&1; then
	echo "compare.sh: no snakemake on PATH: left out" >&2
	tools=$(echo " $tools " | sed 's/ snakemake / /')
fi
# Snakemake's own interpreter (its script's #! line), which has the snakemake module
snake_py=python3
if has snakemake; then
	snake_py=$(sed -n '1s/^#! *\([^ ]*\).*/\1/p' "$(command -v snakemake)")
	[ -n "$snake_py" ] || snake_py=python3
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nfcompare.XXXXXX")
if [ "${KEEP-0}" = 1 ]; then
	echo "run folders kept in $work"
else
	trap 'rm -rf "$work"' EXIT
fi
trap 'exit 130' INT TERM
# ntflow takes the root of the git repository holding the .dag as its workspace: the run
# folders must not be inside one, or its stages would run at that repository's root.
if top=$(git -C "$work" rev-parse --show-toplevel 2>/dev/null); then
	die "TMPDIR ($work) is inside the git repository $top; set TMPDIR to a folder outside any"
fi
cc -std=c11 -O2 -o "$work/spawn-floor" "$here/spawn-floor.c" & cc1=$!
cc -std=c11 -O2 -o "$work/measure" "$here/measure.c" || die "cannot build measure.c"
wait "$cc1" || die "cannot build spawn-floor.c"
measure="$work/measure"
# ntflow starts its stages from a process of its own, ntflow-spawn: measure wraps it (NTFLOW_SPAWN)
# to add its own CPU to ntflow's, when the spawner beside the binary is found
spawner_real=""
if has ntflow && [ -x "$(dirname "$ntflow")/ntflow-spawn" ]; then
	spawner_real=$(dirname "$ntflow")/ntflow-spawn
	ln -s "$measure" "$work/ntflow-spawn"
else
	echo "compare.sh: no ntflow-spawn beside $ntflow: its CPU is left out of ntflow's own" >&2
fi
fs=$(df -PT "$work" | awk 'NR == 2 { print $2 " (" $7 ")" }')
res="$work/results"    # shape n scenario tool rep wall own all rss
: >"$res"
: >"$work/blocks"      # shape n load-start load-end
: >"$work/checks"      # lines for the report: reruns, state sizes

# reps_for SHAPE N: the rounds of a block
reps_for() {
	if [ -n "$reps_all" ]; then echo "$reps_all"
	elif [ "$2" -le 1000 ] || { [ "$1" = layered ] && [ "$2" -le 10000 ]; }; then echo 3
	else echo 1; fi
}
snake_at() {    # snake_at SHAPE N: whether Snakemake runs in this block
	has snakemake && [ "$2" -le "$snake_max" ] || return 1
	[ "$2" -le 1000 ] && return 0
	case " $snake_big " in *" $1 "*) return 0 ;; esac
	return 1
}
sh_at() {    # sh_at SHAPE N: whether the "full, sh" run is made in this block
	[ "$2" -le "$sh_max" ] || return 1
	case " $sh_shapes " in *" $1 "*) return 0 ;; esac
	return 1
}
shapes_at() { if [ "$1" -gt "$big_above" ]; then echo "$big"; else echo "$shapes"; fi; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# A rough estimate from a quiet 2-core machine, in tenths of a millisecond a task: 42 for
# a round of full and no-op runs of every tool and floor, 33 for each incremental round
# and the build before them; Snakemake 180 (full and no-op) and 130 (incremental), each
# run at most its time-out.
estimate=0
for n in $sizes; do
	for s in $(shapes_at "$n"); do
		r=$(reps_for "$s" "$n")
		estimate=$((estimate + n * 42 * r / 10000))
		[ "$n" -le "$incr_max" ] && estimate=$((estimate + n * 33 * (r + 1) / 10000))
		sh_at "$s" "$n" && estimate=$((estimate + n * 36 * r / 10000))
		if snake_at "$s" "$n"; then
			sn=$((n * 180 / 10000)); [ "$sn" -gt $((snake_timeout * 2)) ] && sn=$((snake_timeout * 2))
			[ "$n" -le 1000 ] && sn=$((sn + n * 130 / 10000))
			estimate=$((estimate + sn * snake_reps))
		fi
	done
done
echo "compare.sh: sizes $sizes; shapes $shapes (above $big_above: $big); tools: $floors $tools; -j $j"
echo "compare.sh: run folders in $work on $fs; estimated duration about $((estimate / 60 + 1)) min"

# record SHAPE N SCENARIO TOOL REP FILE: the last line of FILE (from measure) into results
record() { echo "$1 $2 $3 $4 $5 $(tail -1 "$6")" >>"$res"; }

# record_spawner SHAPE N SCENARIO TOOL REP FILE: ntflow-spawn's own CPU in that run, as the
# own CPU of a tool "spawner"
record_spawner() {
	[ "$4" = ntflow ] && [ -s "$6.spawn" ] || return 0
	echo "$1 $2 $3 spawner $5 0 $(awk '{ s += $1 } END { print s }' "$6.spawn") 0 0" >>"$res"
}

# run_tool TOOL DIR TIMES LOG [NTFLOW-SUBCOMMAND...]: one measured run of TOOL in DIR
run_tool() {
	t=$1 d=$2 times=$3 log=$4
	shift 4
	case $t in
	floor-exec) set -- "$work/spawn-floor" exec "$n" "$j" ;;
	floor-sh) set -- "$work/spawn-floor" "$floor_sh" "$n" "$j" ;;
	ntflow)
		set -- "$ntflow" run -j "$j" --no-tui --state "$d/.ntflow" bench.dag
		: >"$times.spawn" ;;
	ninja) set -- ninja -j "$j" ;;
	make) set -- make -j "$j" ;;
	snakemake)
		# deep chains recurse deeper than Python's default limit of 1000 frames
		set -- timeout "$snake_timeout" sh -c 'ulimit -s unlimited 2>/dev/null; exec "$2" -c "
import sys; sys.setrecursionlimit(10 ** 6)
from snakemake import main; sys.argv[0] = \"snakemake\"; sys.exit(main())
" --scheduler greedy --cores "$1" --quiet' sh "$j" "$snake_py" ;;
	esac
	# the spawner's wrapper is named in the environment, not by an `env` exec'd inside the
	# measured time (a program ntflow would pay for and the other tools not)
	if [ "$t" = ntflow ] && [ -n "$spawner_real" ]; then
		(cd "$d" && NTFLOW_SPAWN="$work/ntflow-spawn" MEASURE_SPAWN_REAL="$spawner_real" \
			MEASURE_SPAWN_OUT="$times.spawn" "$measure" "$times" "$@" >"$log" 2>&1)
	else
		(cd "$d" && "$measure" "$times" "$@" >"$log" 2>&1)
	fi
}

# timed_out FILE: whether the run measured last in FILE took the whole Snakemake time-out
timed_out() { [ "$(tail -1 "$1" | cut -d' ' -f1 | cut -d. -f1)" -ge "$snake_timeout" ]; }

# outputs DIR: how many files out/ holds
outputs() { find "$1/out" -type f | wc -l; }

for n in $sizes; do
	for shape in $(shapes_at "$n"); do
		reps=$(reps_for "$shape" "$n")
		echo
		echo "== $shape, $n tasks, $reps round(s), load $(loadavg)"
		load0=$(loadavg)
		blk="$work/$shape-$n"
		mkdir -p "$blk"
		# shellcheck disable=SC2046
		set -- $("$here/gen-compare.sh" "$shape" "$n" touch "$blk/tpl-touch")
		tasks=$1 desc=$3
		"$here/gen-compare.sh" "$shape" "$n" prop "$blk/tpl-prop" >/dev/null
		[ "$tasks" -eq "$n" ] || die "the generator made $tasks tasks, not $n"
		snake=0; snake_at "$shape" "$n" && snake=1
		list=$floors
		for t in $tools; do [ "$t" = snakemake ] && [ $snake = 0 ] || list="$list $t"; done

		# validate alone: ntflow validate against ninja loading the same graph
		r=1
		while [ "$r" -le "$reps" ]; do
			if has ntflow; then
				(cd "$blk/tpl-touch" && "$measure" "$blk/v.ntflow" "$ntflow" validate bench.dag >"$blk/v.log" 2>&1) ||
					{ cat "$blk/v.log" >&2; die "ntflow validate failed ($shape $n)"; }
				record "$shape" "$n" validate ntflow "$r" "$blk/v.ntflow"
			fi
			if has ninja; then
				(cd "$blk/tpl-touch" && "$measure" "$blk/v.ninja" ninja -t targets all >"$blk/v.log" 2>&1) ||
					die "ninja -t targets all failed ($shape $n)"
				record "$shape" "$n" validate ninja "$r" "$blk/v.ninja"
			fi
			r=$((r + 1))
		done

		# full run from clean, then the no-op in the same folder, round by round
		floor_sh=sh
		r=1
		while [ "$r" -le "$reps" ]; do
			for t in $list; do
				[ "$t" = snakemake ] && [ "$r" -gt "$snake_reps" ] && continue
				d="$blk/full.$t.$r"
				mkdir -p "$d"
				case $t in floor-*) mkdir -p "$d/out" ;; *) cp -R "$blk/tpl-touch/." "$d/" ;; esac
				printf '  round %d full %-10s ' "$r" "$t"
				if ! run_tool "$t" "$d" "$blk/f.$t" "$d/full.log"; then
					if [ "$t" = snakemake ] && timed_out "$blk/f.$t"; then
						echo "timeout (> $snake_timeout s)"
						echo "$shape $n full $t $r timeout" >>"$res"
						continue
					fi
					tail -5 "$d/full.log" >&2
					die "$t failed in $d"
				fi
				made=$(outputs "$d")
				[ "$made" -eq "$n" ] || die "$t made $made outputs, expected $n ($d)"
				record "$shape" "$n" full "$t" "$r" "$blk/f.$t"
				record_spawner "$shape" "$n" full "$t" "$r" "$blk/f.$t"
				printf '%8.3f s' "$(tail -1 "$blk/f.$t" | cut -d' ' -f1)"
				case $t in floor-*) echo; continue ;; esac
				if [ "$t" = ntflow ]; then
					db0=$(cat "$d"/.ntflow/state.db* | wc -c)
					files0=$(find "$d/.ntflow" | wc -l)
				fi
				if ! run_tool "$t" "$d" "$blk/n.$t" "$d/noop.log"; then
					if [ "$t" = snakemake ] && timed_out "$blk/n.$t"; then
						echo ", no-op timeout (> $snake_timeout s)"
						echo "$shape $n noop $t $r timeout" >>"$res"
						continue
					fi
					tail -5 "$d/noop.log" >&2
					die "$t failed its no-op run in $d"
				fi
				case $t in
				ninja) grep -q "no work to do" "$d/noop.log" || die "ninja had work to do in $d" ;;
				make) grep -q "Nothing to be done" "$d/noop.log" || die "make had work to do in $d" ;;
				snakemake) grep -q "Nothing to be done" "$d/noop.log" || die "snakemake had work to do in $d" ;;
				ntflow)
					cached=$(grep -c '^\[[0-9]*/[0-9]*\] [^ ]* cached' "$d/noop.log" || true)
					[ "$cached" -eq "$n" ] || die "ntflow: $cached of $n stages cached in $d"
					grep -q '^run [0-9]* succeeded' "$d/noop.log" || die "ntflow: the cached run was not recorded ($d)"
					db1=$(cat "$d"/.ntflow/state.db* | wc -c)
					files1=$(find "$d/.ntflow" | wc -l)
					echo "$shape $n ntflow-state $r $db0 $((db1 - db0)) $files0 $((files1 - files0))" >>"$work/checks"
					;;
				esac
				record "$shape" "$n" noop "$t" "$r" "$blk/n.$t"
				printf ', no-op %8.3f s\n' "$(tail -1 "$blk/n.$t" | cut -d' ' -f1)"
			done
			r=$((r + 1))
		done

		# full, sh: every command needs a shell, so every tool pays /bin/sh -c (floor-sh too)
		if sh_at "$shape" "$n"; then
			"$here/gen-compare.sh" "$shape" "$n" sh "$blk/tpl-sh" >/dev/null
			floor_sh=sh-and
			r=1
			while [ "$r" -le "$reps" ]; do
				for t in floor-sh ntflow ninja make; do
					case " $floors $tools " in *" $t "*) ;; *) continue ;; esac
					d="$blk/fullsh.$t.$r"
					mkdir -p "$d"
					case $t in floor-*) mkdir -p "$d/out" ;; *) cp -R "$blk/tpl-sh/." "$d/" ;; esac
					printf '  round %d full, sh %-10s ' "$r" "$t"
					if ! run_tool "$t" "$d" "$blk/s.$t" "$d/fullsh.log"; then
						tail -5 "$d/fullsh.log" >&2
						die "$t failed in $d"
					fi
					made=$(outputs "$d")
					[ "$made" -eq "$n" ] || die "$t made $made outputs, expected $n ($d)"
					record "$shape" "$n" fullsh "$t" "$r" "$blk/s.$t"
					record_spawner "$shape" "$n" fullsh "$t" "$r" "$blk/s.$t"
					printf '%8.3f s\n' "$(tail -1 "$blk/s.$t" | cut -d' ' -f1)"
					rm -rf "$d"
				done
				r=$((r + 1))
			done
		fi

		# incremental: the first root's input changes by content; every descendant reruns
		if [ "$n" -le "$incr_max" ]; then
			ilist=""
			for t in $tools; do
				[ "$t" = snakemake ] && { [ $snake = 0 ] || [ "$n" -gt 1000 ]; } && continue
				d="$blk/incr.$t"
				mkdir -p "$d"
				cp -R "$blk/tpl-prop/." "$d/"
				if ! run_tool "$t" "$d" "$blk/fill.$t" "$d/fill.log"; then
					if [ "$t" = snakemake ] && timed_out "$blk/fill.$t"; then
						echo "  snakemake: the build before the incremental run timed out: no incremental run"
						continue
					fi
					tail -5 "$d/fill.log" >&2
					die "$t failed to fill $d"
				fi
				ilist="$ilist $t"
			done
			r=1
			while [ "$r" -le "$reps" ]; do
				for t in $ilist; do
					[ "$t" = snakemake ] && [ "$r" -gt "$snake_reps" ] && continue
					d="$blk/incr.$t"
					echo "s0_0 $r" >"$d/in/s0_0.txt"
					sleep 0.02; touch "$d/.mark"; sleep 0.02
					printf '  round %d incr %-10s ' "$r" "$t"
					if ! run_tool "$t" "$d" "$blk/i.$t" "$d/incr.$r.log"; then
						if [ "$t" = snakemake ] && timed_out "$blk/i.$t"; then
							echo "timeout (> $snake_timeout s)"
							echo "$shape $n incr $t $r timeout" >>"$res"
							continue
						fi
						tail -5 "$d/incr.$r.log" >&2
						die "$t failed its incremental run in $d"
					fi
					reran=$(find "$d/out" -type f -newer "$d/.mark" | wc -l)
					[ "$reran" -eq "$desc" ] || die "$t reran $reran tasks, expected $desc (the first root and its descendants) in $d"
					if [ "$t" = ntflow ]; then
						ran=$(grep -c '^\[[0-9]*/[0-9]*\] [^ ]* succeeded' "$d/incr.$r.log" || true)
						[ "$ran" -eq "$desc" ] || die "ntflow ran $ran stages, expected $desc ($d)"
					fi
					record "$shape" "$n" incr "$t" "$r" "$blk/i.$t"
					printf '%8.3f s, %d reruns\n' "$(tail -1 "$blk/i.$t" | cut -d' ' -f1)" "$reran"
				done
				r=$((r + 1))
			done
			echo "$shape $n reruns $desc" >>"$work/checks"
		fi
		echo "$shape $n $load0 $(loadavg)" >>"$work/blocks"
		[ "${KEEP-0}" = 1 ] || rm -rf "$blk"
	done
done

# ---- the report ------------------------------------------------------------------------
ver() { "$@" 2>/dev/null | head -1 || echo "?"; }
nfver="-"
if has ntflow; then
	nfver=$("$ntflow" --version 2>/dev/null | head -1 || echo "?")
	src=$(cd "$here/.." && git describe --always --dirty 2>/dev/null || true)
	[ -n "$src" ] && nfver="$nfver (source tree $src)"
fi
mem=$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
report="$work/report.md"
awk -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v kernel="$(uname -sr) $(uname -m)" -v nproc="$(nproc)" \
	-v mem="$mem" -v fs="$fs" -v nfver="$nfver" -v ninjaver="$(has ninja && ver ninja --version)" \
	-v makever="$(has make && ver make --version)" -v smver="$(has snakemake && ver snakemake --version)" \
	-v ccver="$(ver cc --version)" -v j="$j" -v label="${LABEL-}" -v sto="$snake_timeout" \
	-v checks="$work/checks" -v blocks="$work/blocks" '
function med(key,   k, i, m, t, a) {   # median of vals[key, 1..cnt[key]]
	m = cnt[key]; if (!m) return ""
	for (i = 1; i <= m; i++) a[i] = vals[key, i]
	for (i = 2; i <= m; i++) { t = a[i]; for (k = i - 1; k >= 1 && a[k] > t; k--) a[k + 1] = a[k]; a[k + 1] = t }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
function add(key, v) { vals[key, ++cnt[key]] = v }
# median over the rounds of A / B, pair by pair (both measured in the round)
function pratio(sc, a, b, col,   r, key, x, y) {
	key = blk SUBSEP sc SUBSEP a "/" b SUBSEP col
	if (key in pr) return pr[key]
	for (r = 1; r <= maxrep; r++) {
		x = data[blk, sc, a, r, col]; y = data[blk, sc, b, r, col]
		if (x == "" || y == "") continue
		if (x == "timeout" && y + 0 > 0) { tmo[key] = 1; add(key, sto / y); continue }
		if (y + 0 > 0 && x != "timeout") add(key, x / y)
	}
	pr[key] = med(key)
	return pr[key]
}
function fmt_ratio(v, key) { return v == "" ? "–" : sprintf("%s%.2f", key in tmo ? "> " : "", v) }
function wall(sc, t,   key) {
	key = blk SUBSEP sc SUBSEP t SUBSEP 1
	if (timeouts[blk, sc, t] && !cnt[key]) return "> " sto " s (timeout)"
	return cnt[key] ? sprintf("%.3f", med(key)) : "–"
}
{
	blk = $1 " " $2; if (!(blk in seen)) { seen[blk] = 1; order[++nb] = blk }
	if ($5 > maxrep) maxrep = $5
	if ($6 == "timeout") { timeouts[blk, $3, $4] = 1; data[blk, $3, $4, $5, 1] = "timeout"; next }
	for (c = 1; c <= 4; c++) { data[blk, $3, $4, $5, c] = $(5 + c); add(blk SUBSEP $3 SUBSEP $4 SUBSEP c, $(5 + c)) }
}
END {
	while ((getline l < checks) > 0) {
		split(l, f, " ")
		if (f[3] == "reruns") reruns[f[1] " " f[2]] = f[4]
		else { sb = f[1] " " f[2]; add(sb SUBSEP "db", f[5]); add(sb SUBSEP "dbrun", f[6]); add(sb SUBSEP "files", f[7]); add(sb SUBSEP "filesrun", f[8]) }
	}
	# ntflow and its process spawner together, round by round
	for (k in data) {
		split(k, f, SUBSEP)
		if (f[3] != "spawner" || f[5] != 2 || data[f[1], f[2], "ntflow", f[4], 2] == "") continue
		v = data[f[1], f[2], "ntflow", f[4], 2] + data[k]
		data[f[1], f[2], "ntflow+spawner", f[4], 2] = v
		add(f[1] SUBSEP f[2] SUBSEP "ntflow+spawner" SUBSEP 2, v)
	}
	while ((getline l < blocks) > 0) { split(l, f, " "); loads[f[1] " " f[2]] = f[3] " " f[4] " " f[5] " → " f[6] " " f[7] " " f[8] }
	print "# bench/compare.sh results\n"
	if (label != "") print label "\n"
	printf "- date: %s\n- machine: %s, nproc %s, memory %s; run folders on %s\n", date, kernel, nproc, mem, fs
	printf "- ntflow: %s\n- ninja %s; %s; snakemake %s (`--scheduler greedy --cores %s`, time-out %s s); %s\n", nfver, ninjaver, makever == "" ? "make not run" : makever, smver == "" ? "not run" : smver, j, sto, ccver
	printf "- every tool and floor at -j %s; medians of the rounds; ratios are medians of the per-round ratios\n\n", j
	print "## Wall time, seconds\n"
	print "full: from clean; full, sh: the same with every command `touch out/NAME && :`, which needs a shell, so every tool runs it through `/bin/sh -c` (its floor-sh likewise); noop: again, nothing to do (ntflow: every stage `cached`, the run recorded); incr: the first root'"'"'s input changed, it and its descendants rerun (count checked for every tool); floor-exec / floor-sh: `bench/spawn-floor.c` starting the same number of `touch` processes directly / through `/bin/sh -c`, nothing else.\n"
	print "| shape | tasks | run | floor-exec | floor-sh | make | ninja | ntflow | snakemake | ntflow/ninja | ntflow/floor-exec | ntflow/floor-sh | snakemake/ntflow | load 1/5/15 start → end |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (b = 1; b <= nb; b++) {
		blk = order[b]; split(blk, bs, " ")
		for (s = 1; s <= 4; s++) {
			sc = s == 1 ? "full" : s == 2 ? "fullsh" : s == 3 ? "noop" : "incr"
			if (!cnt[blk SUBSEP sc SUBSEP "ntflow" SUBSEP 1] && !cnt[blk SUBSEP sc SUBSEP "ninja" SUBSEP 1]) continue
			rl = sc == "incr" ? sprintf("incr (%s reruns)", reruns[blk]) : sc == "fullsh" ? "full, sh" : sc
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", bs[1], bs[2], rl,
				sc == "full" ? wall(sc, "floor-exec") : "", sc ~ /^full/ ? wall(sc, "floor-sh") : "",
				wall(sc, "make"), wall(sc, "ninja"), wall(sc, "ntflow"), wall(sc, "snakemake"),
				fmt_ratio(pratio(sc, "ntflow", "ninja", 1), blk SUBSEP sc SUBSEP "ntflow/ninja" SUBSEP 1),
				sc == "full" ? fmt_ratio(pratio(sc, "ntflow", "floor-exec", 1), "") : "",
				sc ~ /^full/ ? fmt_ratio(pratio(sc, "ntflow", "floor-sh", 1), "") : "",
				fmt_ratio(pratio(sc, "snakemake", "ntflow", 1), blk SUBSEP sc SUBSEP "snakemake/ntflow" SUBSEP 1),
				s == 1 ? loads[blk] : ""
		}
	}
	print "\n## Full run: own CPU and peak RSS\n"
	print "own CPU: the tool'"'"'s task clock without its children (`perf stat --no-inherit -e task-clock`'"'"'s counter, read by `bench/measure.c`); ntflow starts its stages from a small process of its own, `ntflow-spawn` (where ninja and make fork in their own process): its own CPU, read the same way by `measure.c` wrapped around it, is shown apart and added to ntflow'"'"'s (+spawn); floor-exec: `spawn-floor.c`'"'"'s own, the cost of a `posix_spawn` and its reaping and nothing else, which every tool pays (ntflow in ntflow-spawn); peak RSS: the largest of the tool and the processes it waited for (`/usr/bin/time`'"'"'s %M). ntflow state: the size of `.ntflow/state.db*` after the full run, its growth and the files added under `.ntflow/` by the no-op run, and the files under `.ntflow/` after the full run.\n"
	print "| shape | tasks | own µs/task: floor-exec | make | ninja | ntflow | ntflow-spawn | ntflow +spawn | ntflow/ninja | ntflow +spawn/ninja | peak RSS MB: make | ninja | ntflow | ntflow/ninja | ntflow: db KB | db KB per no-op run | .ntflow files | files per no-op run |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (b = 1; b <= nb; b++) {
		blk = order[b]; split(blk, bs, " "); n = bs[2]
		if (!cnt[blk SUBSEP "full" SUBSEP "ntflow" SUBSEP 1] && !cnt[blk SUBSEP "full" SUBSEP "ninja" SUBSEP 1]) continue
		row = sprintf("| %s | %s |", bs[1], n)
		split("floor-exec make ninja ntflow spawner ntflow+spawner", T, " ")
		for (i = 1; i <= 6; i++) { k = blk SUBSEP "full" SUBSEP T[i] SUBSEP 2; row = row (cnt[k] ? sprintf(" %.0f |", med(k) * 1e6 / n) : " – |") }
		row = row " " fmt_ratio(pratio("full", "ntflow", "ninja", 2), "") " | " fmt_ratio(pratio("full", "ntflow+spawner", "ninja", 2), "") " |"
		split("make ninja ntflow", T, " ")
		for (i = 1; i <= 3; i++) { k = blk SUBSEP "full" SUBSEP T[i] SUBSEP 4; row = row (cnt[k] ? sprintf(" %.1f |", med(k) / 1024) : " – |") }
		row = row " " fmt_ratio(pratio("full", "ntflow", "ninja", 4), "") " |"
		if (cnt[blk SUBSEP "db"]) row = row sprintf(" %.0f | %.1f | %d | %d |", med(blk SUBSEP "db") / 1024, med(blk SUBSEP "dbrun") / 1024, med(blk SUBSEP "files"), med(blk SUBSEP "filesrun"))
		else row = row " – | – | – | – |"
		print row
	}
	print "\n## validate\n"
	print "`ntflow validate` of the generated file against `ninja -t targets all` (ninja loading the same graph).\n"
	print "| shape | tasks | ntflow s | ninja s | ntflow/ninja | ntflow peak RSS MB | ninja peak RSS MB |"
	print "|---|---|---|---|---|---|---|"
	for (b = 1; b <= nb; b++) {
		blk = order[b]; split(blk, bs, " ")
		k1 = blk SUBSEP "validate" SUBSEP "ntflow"; k2 = blk SUBSEP "validate" SUBSEP "ninja"
		if (!cnt[k1 SUBSEP 1] && !cnt[k2 SUBSEP 1]) continue
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", bs[1], bs[2],
			cnt[k1 SUBSEP 1] ? sprintf("%.3f", med(k1 SUBSEP 1)) : "–", cnt[k2 SUBSEP 1] ? sprintf("%.3f", med(k2 SUBSEP 1)) : "–",
			fmt_ratio(pratio("validate", "ntflow", "ninja", 1), ""),
			cnt[k1 SUBSEP 4] ? sprintf("%.1f", med(k1 SUBSEP 4) / 1024) : "–", cnt[k2 SUBSEP 4] ? sprintf("%.1f", med(k2 SUBSEP 4) / 1024) : "–"
	}
	print "\n## The targets of issue 15 (layered, 10 000 tasks, -j " j "; validate and RSS at 100 000)\n"
	print "| target | measured | |"
	print "|---|---|---|"
	blk = "layered 10000"
	target("full run ≤ 1.05× the exec floor", pratio("full", "ntflow", "floor-exec", 1), 1.05, "le", "ntflow/floor-exec")
	target("full run ntflow/ninja ≤ 0.75", pratio("full", "ntflow", "ninja", 1), 0.75, "le", "ntflow/ninja")
	target("a command that needs a shell: full run ≤ 1.05× ninja", pratio("fullsh", "ntflow", "ninja", 1), 1.05, "le", "ntflow/ninja")
	if (cnt[blk SUBSEP "full" SUBSEP "ntflow+spawner" SUBSEP 2])
		target("own CPU per stage ≤ ninja'"'"'s", pratio("full", "ntflow+spawner", "ninja", 2), 1, "le", "(ntflow + ntflow-spawn)/ninja")
	else
		target("own CPU per stage ≤ ninja'"'"'s", pratio("full", "ntflow", "ninja", 2), 1, "le", "ntflow (without ntflow-spawn)/ninja")
	target("fully cached rerun ≤ 3× ninja'"'"'s no-op", pratio("noop", "ntflow", "ninja", 1), 3, "le", "ntflow/ninja")
	target("incremental ≤ 1.1× ninja", pratio("incr", "ntflow", "ninja", 1), 1.1, "le", "ntflow/ninja")
	target("Snakemake/ntflow ≥ 20 on the full run", pratio("full", "snakemake", "ntflow", 1), 20, "ge", "snakemake/ntflow")
	target("Snakemake/ntflow ≥ 50 on the no-op", pratio("noop", "snakemake", "ntflow", 1), 50, "ge", "snakemake/ntflow")
	blk = "layered 100000"
	target("validate of 100 000 stages ≤ ninja'"'"'s load", pratio("validate", "ntflow", "ninja", 1), 1, "le", "ntflow/ninja -t targets")
	# a run of 100 000 stages, whether it runs them (full) or finds them all cached (noop):
	# the larger of the two
	k = blk SUBSEP "full" SUBSEP "ntflow" SUBSEP 4
	vf = cnt[k] ? med(k) / 1024 : ""
	k = blk SUBSEP "noop" SUBSEP "ntflow" SUBSEP 4
	vn = cnt[k] ? med(k) / 1024 : ""
	v = vf == "" ? vn : vn == "" || vf >= vn ? vf : vn
	printf "| peak RSS of a 100 000-stage run ≤ 64 MB | %s | %s |\n",
		v == "" ? "not measured" : sprintf("full %s, cached %s", vf == "" ? "–" : sprintf("%.1f MB", vf),
						   vn == "" ? "–" : sprintf("%.1f MB", vn)),
		v == "" ? "–" : v <= 64 ? "**met**" : "not met"
}
function target(what, v, lim, how, name,   ok) {
	if (v == "") { printf "| %s | not measured | – |\n", what; return }
	ok = how == "le" ? v <= lim : v >= lim
	printf "| %s | %s %.2f | %s |\n", what, name, v, ok ? "**met**" : "not met"
}' "$res" >"$report"
echo
cat "$report"
if [ "$out" != - ]; then
	cp "$report" "$out" || die "cannot write $out"
	echo
	echo "compare.sh: written to $out"
fi
