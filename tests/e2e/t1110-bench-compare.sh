#!/bin/sh
# t1110: bench/gen-compare.sh writes the same DAG for ntflow, ninja, make and Snakemake,
# and bench/compare.sh runs end to end on tiny graphs (a smoke test: no timing asserted).
. "$(dirname "$0")/lib.sh"

gen="$NTFLOW_SRC_DIR/bench/gen-compare.sh"

test_expect_success 'each shape and kind: the same tasks and edges in all four files' '
	for shape in chain wide layered; do
		for kind in touch prop; do
			"$gen" $shape 130 $kind $shape-$kind >counts &&
			# its paths are relative to its folder, the root when it is in no
			# repository (as compare.sh runs it): a repository of its own here
			git init -q $shape-$kind &&
			ntflow validate -v $shape-$kind/bench.dag >out &&
			echo "$shape-$kind/bench.dag: ok (130 stages, 130 nodes)" >expect &&
			test_cmp expect out &&
			test "$(grep -c "^build out/" $shape-$kind/build.ninja)" = 130 &&
			test "$(grep -c "^out/s[0-9_]*:" $shape-$kind/Makefile)" = 130 &&
			test "$(grep -c "^C\[" $shape-$kind/Snakefile)" = 130 &&
			test "$(grep -c "^  needs" $shape-$kind/bench.dag)" = "$(grep -c "^build out/[^:]*: r .*out/" $shape-$kind/build.ninja)" ||
			return 1
		done
	done
'

test_expect_success 'the edge and descendant counts of each shape' '
	"$gen" chain 130 touch c >out && echo "130 129 130" >expect && test_cmp expect out &&
	"$gen" wide 130 touch w >out && echo "130 256 130" >expect && test_cmp expect out &&
	# layered: 100 roots, then 30 tasks needing p, p+33, p+66 of layer 0; s0_0 is needed
	# by s1_0 (p), s1_67 (67+33) and s1_34 (34+66): only s1_0 exists in a layer of 30
	"$gen" layered 130 touch l >out && echo "130 90 2" >expect && test_cmp expect out &&
	grep -x "  needs   = \[\"s0_0\", \"s0_33\", \"s0_66\"\]" l/bench.dag
'

test_expect_success 'every command is shell-free and the same for every tool' '
	"$gen" layered 230 prop p >/dev/null &&
	sed -n "s/^  run     = \"\(.*\)\"$/\1/p" p/bench.dag >dag.cmds &&
	test_line_count = 230 dag.cmds &&
	! grep -e "[;|&<>*?\\\\]" -e "[\$\"]" -e "'\''" dag.cmds &&
	sed -n "s/^  cmd = //p" p/build.ninja >ninja.cmds &&
	sed -n "s/^	//p" p/Makefile >make.cmds &&
	sed -n "s/^C\[\"[^\"]*\"\] = \"\(.*\)\"$/\1/p" p/Snakefile >snake.cmds &&
	test_cmp dag.cmds ninja.cmds && test_cmp dag.cmds make.cmds && test_cmp dag.cmds snake.cmds &&
	grep -x "cp in/s0_0.txt out/s0_0" dag.cmds &&
	grep -x "sort -m -u -o out/s1_0 out/s0_0 out/s0_33 out/s0_66" dag.cmds &&
	grep -x "touch out/s2_0" dag.cmds &&
	test "$(cat p/in/s0_0.txt)" = "s0_0 0"
'

test_expect_success 'kind sh: every command needs a shell, the same in every file' '
	"$gen" layered 130 sh s >/dev/null &&
	git init -q s && ntflow validate s/bench.dag &&
	sed -n "s/^  run     = \"\(.*\)\"$/\1/p" s/bench.dag >dag.cmds &&
	test_line_count = 130 dag.cmds &&
	test "$(grep -c "^touch out/s[0-9]*_[0-9]* && :$" dag.cmds)" = 130 &&
	sed -n "s/^  cmd = //p" s/build.ninja >ninja.cmds &&
	sed -n "s/^	//p" s/Makefile >make.cmds &&
	test_cmp dag.cmds ninja.cmds && test_cmp dag.cmds make.cmds
'

test_expect_success 'a bad shape, size or kind is refused' '
	test_expect_code 2 "$gen" ring 10 touch x 2>err && grep "^usage:" err &&
	test_expect_code 2 "$gen" chain 2 touch x 2>err && grep "at least 3" err &&
	test_expect_code 2 "$gen" chain 10 copy x 2>err && grep "^usage:" err
'

# The whole runner on tiny graphs, when the other tools are here (not on every machine).
if command -v ninja >/dev/null 2>&1 && command -v make >/dev/null 2>&1 &&
   command -v cc >/dev/null 2>&1 && test -x /usr/bin/time; then
	test_set_prereq BENCH_TOOLS
fi

test_expect_success BENCH_TOOLS 'compare.sh refuses run folders inside a git repository' '
	test_must_fail env TMPDIR="$PWD" OUT=- NTFLOW="$NTFLOW_BUILD_DIR/ntflow" \
		"$NTFLOW_SRC_DIR/bench/compare.sh" >log 2>&1 &&
	grep "is inside the git repository" log
'

# The run folders go outside the trash directory, which is a git repository (ntflow would
# take its root as the workspace of every generated .dag).
test_expect_success BENCH_TOOLS 'compare.sh runs every shape and writes the report' '
	tmp=$(mktemp -d /tmp/t1110.XXXXXX) &&
	test_when_finished "rm -rf \"$tmp\"" &&
	QUICK=1 SIZES=20 REPS=1 TOOLS="ntflow ninja make" TMPDIR="$tmp" OUT="$PWD/report.md" \
		NTFLOW="$NTFLOW_BUILD_DIR/ntflow" "$NTFLOW_SRC_DIR/bench/compare.sh" >log 2>&1 ||
		{ cat log; return 1; } &&
	grep "^# bench/compare.sh results" report.md &&
	for shape in chain wide layered; do
		for run in full noop; do
			# a number in the ntflow, ninja and ntflow/ninja columns
			grep "^| $shape | 20 | $run |" report.md >row &&
			awk -F"|" "{ exit !(\$8 ~ /[0-9]/ && \$9 ~ /[0-9]/ && \$11 ~ /[0-9]/) }" row ||
			return 1
		done
	done &&
	grep "^| chain | 20 | incr (20 reruns) |" report.md &&
	grep "^| wide | 20 | incr (20 reruns) |" report.md &&
	grep "^| layered | 20 | incr (1 reruns) |" report.md &&
	# the run whose commands need a shell: layered only, with its floor-sh
	grep "^| layered | 20 | full, sh |" report.md >row &&
	awk -F"|" "{ exit !(\$6 ~ /[0-9]/ && \$8 ~ /[0-9]/ && \$9 ~ /[0-9]/ && \$11 ~ /[0-9]/ && \$13 ~ /[0-9]/) }" row &&
	! grep "^| chain | 20 | full, sh |" report.md &&
	# the spawn floor'"'"'s own CPU; ntflow-spawn measured through measure.c: its own CPU,
	# and the sum with ntflow'"'"'s
	grep "^| layered | 20 | [0-9]" report.md >cpu &&
	awk -F"|" "{ exit !(\$4 ~ /^ [0-9]+ $/ && \$8 ~ /^ [0-9]+ $/ && \$9 ~ /^ [0-9]+ $/ && \$8 + 0 > 0 && \$9 + 0 > \$7 + 0) }" cpu &&
	grep "^| a command that needs a shell: full run ≤ 1.05× ninja | not measured |" report.md &&
	grep "^| full run ntflow/ninja ≤ 0.75 | not measured |" report.md &&
	! ls -d "$tmp"/nfcompare.* 2>/dev/null
'

test_expect_success 'bench/commands.sh times every read command at two sizes and leaves nothing behind' '
	tmp=$(mktemp -d) &&
	SIZES="100 300" TMPDIR="$tmp" NTFLOW="$(command -v ntflow)" "$NTFLOW_SRC_DIR/bench/commands.sh" >cmds.md 2>cmds.err &&
	grep "^| command | 100 | 300 | ratio |" cmds.md &&
	for c in "run (full)" "run (cached)" "show (with misses)" "why (a miss)" "diff" "dash (2 frames)" \
		"inputs = another'"'"'s outputs (cached)" "matrix over ignored files (cached)"; do
		grep -F "| $c | " cmds.md >row &&
		awk -F"|" "{ exit !(\$3 ~ /^ [0-9]+ $/ && \$4 ~ /^ [0-9]+ $/ && \$5 ~ /^ [0-9.]+ $/) }" row ||
		return 1
	done &&
	grep -E "^[0-9]+ superlinear$" cmds.md &&
	test -z "$(ls "$tmp")" &&
	rmdir "$tmp"
'

test_done
