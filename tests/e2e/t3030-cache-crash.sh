#!/bin/sh
# t3030-cache-crash.sh: ntflow killed with SIGKILL while a stage runs. The stages that had
# finished keep their cache entries; the killed one has none (its half-written output is
# never taken for a result), and the stage's process dies with ntflow. The next command
# that opens the store records the crash; the next run reuses the finished stages without
# running them, and redoes the killed one and what follows it. A kill in the middle of a
# restore (fault injection, test builds only) leaves no copy beside the output once the next
# run has restored it. Stage results are committed in batches (up to 256 stages or 250 ms): a
# kill in the middle of many quick stages loses the results not committed yet, and the next
# run reruns exactly those stages, reusing every one the killed run had committed. A cached
# pass, which settles its stages in one turn, commits every 16 384 of them likewise.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_need_hooks

# b writes half its output, then hangs in run 1 (until killed) and finishes in later runs.
write_dag p.dag <<\EOF
pipeline "crash" {}

stage "a" {
  run     = "echo a >>spawns && mkdir -p build && echo A >build/a.txt"
  outputs = ["build/a.txt"]
}

stage "side" {
  run     = "echo side >>spawns && mkdir -p build && echo S >build/side.txt"
  outputs = ["build/side.txt"]
}

stage "b" {
  needs   = ["a"]
  run     = "echo b >>spawns && mkdir -p build/b && echo half >build/b/part1 && touch b.started && while test $NTFLOW_RUN_ID = 1; do sleep 0.05; done # hang-t3030"
  outputs = ["build/b/"]
}

stage "c" {
  needs   = ["b"]
  run     = "echo c >>spawns && echo whole >build/b/part2 2>/dev/null; cat build/b/part1 >build/c.txt"
  outputs = ["build/c.txt"]
}
EOF

hung() { ps -ww -eo args= | grep -c "[h]ang-t3030"; }

test_expect_success 'setup' '
	printf ".ntflow/\nbuild/\nspawns\nb.started\n" >.gitignore &&
	git add . && git commit -q -m one
'

test_expect_success 'kill -9 ntflow while b runs, after a and side finished' '
	ntflow run p.dag -j 4 >run1.out 2>&1 &
	pid=$! &&
	wait_for_file b.started &&
	wait_until "ntflow show --json >s.json && test \"\$(stage_field s.json side state)\" = succeeded" &&
	test "$(stage_field s.json a state)" = succeeded &&
	test "$(stage_field s.json b state)" = running &&
	kill -9 $pid &&
	{ wait $pid; test $? = 137; } &&
	wait_until "test \$(hung) = 0" &&
	ntflow cache ls >ls.txt 2>err &&
	cat ls.txt err &&
	grep -x "ntflow: run 1 had crashed: its ntflow process is gone" err &&
	grep -E "^[0-9a-f]{12} +a +1 " ls.txt &&
	grep -E "^[0-9a-f]{12} +side +1 " ls.txt &&
	! grep -E " b +1 " ls.txt
'

test_expect_success 'the rerun reuses a and side, redoes b and c' '
	n=$(wc -l <spawns) &&
	ntflow run p.dag >out 2>err &&
	cat out err &&
	test "$(hung)" = 0 &&
	test "$(tail -n +$((n + 1)) spawns | sort | tr "\n" " ")" = "b c " &&
	show_json &&
	test "$(stage_field show.json a state)" = cached &&
	test "$(stage_field show.json a reused_run)" = 1 &&
	test "$(stage_field show.json side state)" = cached &&
	test "$(stage_field show.json b state)" = succeeded &&
	test "$(stage_field show.json c state)" = succeeded &&
	test "$(cat build/c.txt)" = half &&
	ntflow show 1 --json >s1.json &&
	test "$(json_get s1.json .run.status)" = crashed
'

test_expect_success 'the store holds only complete objects, and the next run is all cached' '
	ntflow cache verify >out &&
	cat out &&
	n=$(wc -l <spawns) &&
	ntflow run p.dag >out &&
	test "$(wc -l <spawns)" = "$n"
'

write_dag big.dag <<\EOF
pipeline "big" {
  params {
    v = 1
  }
}

stage "big" {
  run     = "mkdir -p data && { echo ${params.v}; seq 1 1000; } >data/big.txt"
  outputs = ["data/big.txt"]
}
EOF

test_expect_success 'a restore killed before its copy was in place leaves nothing beside the output' '
	echo data/ >>.gitignore &&
	ntflow run big.dag -p v=1 >out &&
	ntflow run big.dag -p v=2 >out &&
	for i in 1 2; do
		test_expect_code 137 env NTFLOW_FAULT=cache-restore-before-rename \
			ntflow-test run big.dag -p v=1 >out 2>&1 || return 1
	done &&
	head -n 1 data/big.txt >v &&
	echo 2 >expect &&
	test_cmp expect v &&
	ntflow run big.dag -p v=1 >out 2>err &&
	cat out err &&
	grep "big cached" out &&
	ls -A data >actual &&
	echo big.txt >expect &&
	test_cmp expect actual &&
	head -n 1 data/big.txt >v &&
	echo 1 >expect &&
	test_cmp expect v
'

# many.dag: 400 independent quick stages, each noting its spawn in mspawns. m0 waits while
# the file hold exists, so the run cannot end before the test kills it, however quick the
# machine; the others run one after another beside it.
i=0
while test $i -lt 400; do
	wait_hold=
	test $i = 0 && wait_hold="while test -e hold; do sleep 0.05; done; "
	printf 'stage "m%d" {\n  run     = "echo m%d >>mspawns; %stouch build/m/%d"\n  outputs = ["build/m/%d"]\n}\n\n' \
		$i $i "$wait_hold" $i $i
	i=$((i + 1))
done >many.body
{ echo 'pipeline "many" {}'; echo; cat many.body; } >many.dag

# names STATE FILE: the stages of show --json FILE in STATE, one a line, sorted.
names() {
	/usr/bin/python3 - "$@" <<\PY
import json, sys
state, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    doc = json.load(f)
print("\n".join(sorted(s["name"] for s in doc["stages"] if s["state"] == state)))
PY
}

test_expect_success 'kill -9 amid quick stages: the rerun reruns exactly the stages not committed' '
	printf "mspawns\nhold\n" >>.gitignore &&
	mkdir -p build/m &&
	git add many.dag .gitignore && git commit -q -m many &&
	touch hold &&
	test_when_finished "rm -f hold" &&   # a failed wait leaves no run waiting for ever
	ntflow run many.dag -j 2 --no-tui >many1.out 2>&1 &
	pid=$! &&
	wait_until "test \$(wc -l <mspawns) -ge 200 &&
		ntflow show --json >s6.json && test -n \"\$(names succeeded s6.json)\"" 600 &&
	kill -9 $pid &&
	{ wait $pid; test $? = 137; } &&
	rm hold &&
	ntflow show --json >m1.json &&
	test "$(json_get m1.json .run.status)" = crashed &&
	names succeeded m1.json >committed &&
	test $(wc -l <committed) -gt 0 &&
	test $(wc -l <committed) -lt 400 &&
	sort -u mspawns >spawned1 &&
	comm -23 committed spawned1 >never &&
	test_must_be_empty never &&
	n=$(wc -l <mspawns) &&
	ntflow run many.dag -j 2 --no-tui >many2.out 2>&1 &&
	tail -n +$((n + 1)) mspawns | sort >rerun &&
	i=0 && while test $i -lt 400; do echo m$i; i=$((i + 1)); done | sort >all &&
	comm -23 all committed >expect &&
	test_cmp expect rerun &&
	ntflow show --json >m2.json &&
	names cached m2.json >cached &&
	test_cmp committed cached &&
	test $(ls build/m | wc -l) = 400
'

# A cached pass settles its stages in one turn of the loop; it commits every so many of them
# (16 384; NTFLOW_TEST_FLUSH_TURN in test builds), so that what a batch keeps until its
# commit stays bounded, and a kill in the middle keeps what was committed.
test_expect_success 'a long cached pass commits as it goes: a kill in it keeps the stages committed' '
	rm build/m/399 &&
	test_expect_code 137 env NTFLOW_TEST_FLUSH_TURN=100 NTFLOW_FAULT=cache-restore-before-rename \
		ntflow-test run many.dag -j 2 --no-tui >many3.out 2>&1 &&
	ntflow show --json >m3.json &&
	test "$(json_get m3.json .run.status)" = crashed &&
	names cached m3.json >cached3 &&
	test $(wc -l <cached3) -ge 300 &&
	ntflow audit show --run "$(json_get m3.json .run.id)" --json >a3.json &&
	/usr/bin/python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(chr(10).join(sorted(n[\"node\"] for r in d[\"records\"] if r[\"kind\"] == \"nodes\"
	for n in r[\"payload\"][\"nodes\"] if n[\"state\"] == \"cached\")))" a3.json >audited3 &&
	test_cmp cached3 audited3 &&
	ntflow run many.dag -j 2 --no-tui >many4.out 2>&1 &&
	test $(ls build/m | wc -l) = 400
'

test_done
