#!/bin/sh
# t3030-cache-crash.sh: ntflow killed with SIGKILL while a stage runs. The stages that had
# finished keep their cache entries; the killed one has none (its half-written output is
# never taken for a result), and the stage's process dies with ntflow. The next command
# that opens the store records the crash; the next run reuses the finished stages without
# running them, and redoes the killed one and what follows it.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

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
	wait_until "ntflow show --json >s.json && test \"\$(stage_field s.json side status)\" = succeeded" &&
	test "$(stage_field s.json a status)" = succeeded &&
	test "$(stage_field s.json b status)" = running &&
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
	test "$(stage_field show.json a status)" = cached &&
	test "$(stage_field show.json a reused_run)" = 1 &&
	test "$(stage_field show.json side status)" = cached &&
	test "$(stage_field show.json b status)" = succeeded &&
	test "$(stage_field show.json c status)" = succeeded &&
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

test_done
