#!/bin/sh
# t2030-timeout.sh: timeout per attempt: SIGTERM to the stage's process group, SIGKILL
# after the grace period; recorded as timed-out, counted as a failure (and retried).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# Ignores SIGTERM (and so does its sleep, which inherits the ignored disposition):
# only the SIGKILL after the grace period stops it.
write_dag stubborn.dag <<\EOF
stage "stubborn" {
  timeout = "1s"
  grace   = "1s"
  run     = "trap '' TERM; ps -o pgid= -p $$ | tr -d ' ' >stubborn.pgid; sleep 30.25; touch stubborn.survived"
}

stage "after" {
  needs = ["stubborn"]
  run   = "touch after.ran"
}
EOF

# Dies of the SIGTERM at once; a long grace must not be waited for.
write_dag polite.dag <<\EOF
stage "polite" {
  timeout = "1s"
  grace   = "20s"
  run     = "sleep 30.5; touch polite.survived"
}
EOF

# A timed-out attempt is a failure and is retried; the retry is quick.
write_dag retried.dag <<\EOF
stage "slow-once" {
  timeout = "1s"
  grace   = "1s"
  retries = 1
  backoff = "100ms"
  run     = "if test -f once; then echo quick; else touch once; sleep 30.75; fi"
}
EOF

# The timeout comes from the pipeline's defaults.
write_dag inherited.dag <<\EOF
pipeline "inherited" {
  defaults {
    timeout = "1s"
    grace   = "1s"
  }
}

stage "sleeper" {
  run = "sleep 30.875"
}
EOF

test_expect_success 'a stage ignoring SIGTERM is killed after timeout + grace' '
	start=$(now) &&
	test_expect_code 1 ntflow run stubborn.dag --no-tui >out 2>err &&
	took=$(seconds_since "$start") &&
	cat out err &&
	echo "took $took s" &&
	num_lt "$took" 10 &&
	num_le 1.9 "$took" &&
	test_path_is_missing stubborn.survived &&
	test_path_is_missing after.ran
'

test_expect_success 'it is recorded timed-out, with a reason in the progress line' '
	grep -E "^\[[0-9]+/2\] stubborn timed-out.*: timed out after 1s" out &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json stubborn state)" = timed-out &&
	test "$(stage_field show.json stubborn attempts)" = 1 &&
	test "$(stage_field show.json after state)" = skipped &&
	test "$(json_get show.json .run.status)" = failed &&
	wall=$(stage_field show.json stubborn wall_ms) &&
	num_le 1900 "$wall" && num_lt "$wall" 10000
'

test_expect_success 'nothing of the stage is left running' '
	pgid=$(cat stubborn.pgid) &&
	test -n "$pgid" &&
	wait_until "test \$(procs_in_group $pgid) = 0" 20 &&
	test "$(procs_with_args "sleep 30.25")" = 0
'

test_expect_success 'a stage that exits on SIGTERM: timed-out, without waiting for the grace' '
	start=$(now) &&
	test_expect_code 1 ntflow run polite.dag --no-tui >out &&
	took=$(seconds_since "$start") &&
	echo "took $took s" &&
	num_lt "$took" 8 &&
	test_path_is_missing polite.survived &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json polite state)" = timed-out &&
	grep -E "polite timed-out" out &&
	test "$(procs_with_args "sleep 30.5")" = 0
'

test_expect_success 'a timed-out attempt is retried like a failure' '
	ntflow run retried.dag --no-tui >out &&
	cat out &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json slow-once state)" = succeeded &&
	test "$(stage_field show.json slow-once attempts)" = 2 &&
	grep -E "slow-once retrying.*timed out after 1s" out &&
	run=$(json_get show.json .run.id) &&
	grep -x quick .ntflow/logs/$run/slow-once.2.log &&
	test "$(procs_with_args "sleep 30.75")" = 0
'

test_expect_success 'the timeout of defaults { } applies' '
	start=$(now) &&
	test_expect_code 1 ntflow run inherited.dag --no-tui >out &&
	num_lt "$(seconds_since "$start")" 10 &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json sleeper state)" = timed-out
'

# ntflow-spawn holds the exits of stages that ended well while its queue is full, and may
# start a queued stage in an ended one's place: at -j 1 with a long hold (a test setting),
# the stage with a timeout starts in the place of a held exit.
{
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf 'stage "a%s" {\n  run = "sleep 0.02"\n}\n' "$i"
	done
	printf 'stage "t" {\n  timeout = "1s"\n  grace = "1s"\n  run = "sleep 2.8; touch t.survived"\n}\n'
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf 'stage "b%s" {\n  run = "sleep 0.1"\n}\n' "$i"
	done
} >held.dag

test_expect_success 'a stage started in the place of a held exit is timed from its start' '
	test_expect_code 1 env NTFLOW_SPAWN_HOLD_MS=2000 ntflow run held.dag -j 1 --no-tui >out 2>err &&
	cat out err &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json t state)" = timed-out &&
	test_path_is_missing t.survived
'

test_expect_success 'the times recorded for held exits are when the stages started and ended' '
	rm -rf .ntflow &&
	test_expect_code 1 env NTFLOW_SPAWN_HOLD_MS=2000 ntflow run held.dag -j 1 -k --no-tui >out 2>err &&
	ntflow show --json >show.json &&
	/usr/bin/python3 - show.json <<\PY
import json, sys
stages = json.load(open(sys.argv[1]))["stages"]
bad = [(s["name"], s["wall_ms"], s["finished_ms"] - s["started_ms"]) for s in stages
       if s["state"] == "succeeded" and abs(s["finished_ms"] - s["started_ms"] - s["wall_ms"]) > 100]
print("stages whose finished - started is not their wall:", bad)
sys.exit(1 if bad else 0)
PY
'

test_done
