#!/bin/sh
# t2020-retry.sh: retries with back-off (attempt count, logs, the spacing full jitter
# allows), retry_on, and a stage that finally fails: exit 1, dependents never start.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# Fails twice, then succeeds; each attempt records its number and start time.
write_dag flaky.dag <<\EOF
pipeline "flaky" {}

stage "flaky" {
  retries = 2
  backoff = "1s"
  run     = "n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n >count; date +%s.%N >>starts; echo attempt $n of $NTFLOW_ATTEMPT; test $n -ge 3"
}

stage "after" {
  needs = ["flaky"]
  run   = "touch after.ran"
}
EOF

# Always fails; one retry after a 2s back-off (at most 2s with full jitter).
write_dag always.dag <<\EOF
stage "always" {
  retries = 1
  backoff = "2s"
  run     = "echo nope; exit 1"
}
EOF

# retry_on: exit 3 is retried (and then succeeds), exit 4 is not.
write_dag retry-on.dag <<\EOF
stage "three" {
  retries  = 2
  backoff  = "100ms"
  retry_on = [3]
  run      = "n=$(cat n3 2>/dev/null || echo 0); n=$((n + 1)); echo $n >n3; test $n -ge 2 || exit 3"
}
EOF
write_dag retry-on-4.dag <<\EOF
stage "four" {
  retries  = 2
  backoff  = "100ms"
  retry_on = [3]
  run      = "n=$(cat n4 2>/dev/null || echo 0); n=$((n + 1)); echo $n >n4; exit 4"
}
EOF

# No retries: the failure is final; "next" needs it and must never start.
write_dag fail.dag <<\EOF
stage "bad" {
  run = "echo failing; exit 4"
}

stage "next" {
  needs = ["bad"]
  run   = "touch next.ran"
}
EOF

# Retries come from the pipeline's defaults unless the stage sets them.
write_dag defaults.dag <<\EOF
pipeline "defaults" {
  defaults {
    retries = 1
    backoff = "100ms"
  }
}

stage "inherits" {
  run = "n=$(cat ni 2>/dev/null || echo 0); n=$((n + 1)); echo $n >ni; test $n -ge 2"
}

stage "overrides" {
  retries = 0
  run     = "n=$(cat no 2>/dev/null || echo 0); n=$((n + 1)); echo $n >no; exit 1"
}
EOF

test_expect_success 'a flaky stage succeeds on its third attempt' '
	ntflow run flaky.dag --no-tui >out 2>err &&
	cat out &&
	echo 3 >expect &&
	test_cmp expect count &&
	test_path_is_file after.ran
'

test_expect_success 'show --json: attempts 3, succeeded, exit code 0' '
	ntflow show --json >show.json &&
	test "$(stage_field show.json flaky attempts)" = 3 &&
	test "$(stage_field show.json flaky state)" = succeeded &&
	test "$(stage_field show.json flaky exit_code)" = 0 &&
	test "$(json_get show.json .run.status)" = succeeded
'

test_expect_success 'each attempt has its own log; NTFLOW_ATTEMPT counts them' '
	run=$(json_get show.json .run.id) &&
	for i in 1 2 3
	do
		grep -x "attempt $i of $i" .ntflow/logs/$run/flaky.$i.log || return 1
	done &&
	test_path_is_missing .ntflow/logs/$run/flaky.4.log &&
	ntflow logs $run flaky --attempt 2 >log2 &&
	grep -x "attempt 2 of 2" log2 &&
	ntflow logs $run flaky >log3 &&
	grep -x "attempt 3 of 3" log3
'

test_expect_success 'progress lines show the retries' '
	test "$(grep -c -E "^\[0/2\] flaky retrying" out)" = 2 &&
	grep -E "^\[0/2\] flaky retrying.*: exit 1" out &&
	grep -E "^\[0/2\] flaky running \(attempt 1/3\)$" out &&
	grep -E "^\[0/2\] flaky running \(attempt 3/3\)$" out &&
	grep -E "^\[1/2\] flaky succeeded" out
'

test_expect_success 'the back-off spacing stays within full jitter: <= 1s, then <= 2s' '
	test_line_count = 3 starts &&
	s1=$(sed -n 1p starts) && s2=$(sed -n 2p starts) && s3=$(sed -n 3p starts) &&
	num_lt "$s1" "$s2" && num_lt "$s2" "$s3" &&
	gap1=$(awk -v a="$s1" -v b="$s2" "BEGIN { print b - a }") &&
	gap2=$(awk -v a="$s2" -v b="$s3" "BEGIN { print b - a }") &&
	echo "gaps: $gap1 $gap2" &&
	num_lt "$gap1" 1.5 &&
	num_lt "$gap2" 2.5
'

test_expect_success 'backoff 2s, one retry: two attempts, exit 1, well under 10s' '
	start=$(now) &&
	test_expect_code 1 ntflow run always.dag --no-tui >out &&
	took=$(seconds_since "$start") &&
	echo "took $took s" &&
	num_lt "$took" 10 &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json always attempts)" = 2 &&
	test "$(stage_field show.json always state)" = failed &&
	test "$(stage_field show.json always exit_code)" = 1 &&
	test "$(json_get show.json .run.status)" = failed
'

test_expect_success 'retry_on = [3]: exit 3 is retried' '
	ntflow run retry-on.dag --no-tui >out &&
	echo 2 >expect &&
	test_cmp expect n3 &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json three attempts)" = 2 &&
	test "$(stage_field show.json three state)" = succeeded
'

test_expect_success 'retry_on = [3]: exit 4 is not retried' '
	test_expect_code 1 ntflow run retry-on-4.dag --no-tui >out &&
	echo 1 >expect &&
	test_cmp expect n4 &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json four attempts)" = 1 &&
	test "$(stage_field show.json four state)" = failed &&
	test "$(stage_field show.json four exit_code)" = 4 &&
	! grep retrying out
'

test_expect_success 'a final failure: exit 1, [x/y] NAME failed: exit 4, dependents never start' '
	test_expect_code 1 ntflow run fail.dag --no-tui >out 2>err &&
	cat out err &&
	grep -E "^\[[0-9]+/2\] bad failed( [0-9][0-9.]*(ms|s))?: exit 4" out &&
	grep -E "^run [0-9]+ failed" out &&
	test_path_is_missing next.ran &&
	! grep -E "next running" out &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = failed &&
	test "$(stage_field show.json bad state)" = failed &&
	test "$(stage_field show.json bad attempts)" = 1 &&
	test "$(stage_field show.json bad exit_code)" = 4 &&
	test "$(stage_field show.json next state)" = skipped &&
	ntflow runs >runs &&
	grep -E "failed" runs
'

test_expect_success 'the failed attempt s log is kept and named in the failure line' '
	run=$(json_get show.json .run.id) &&
	grep -x failing .ntflow/logs/$run/bad.1.log &&
	grep -F "bad failed" out | grep -F ".ntflow/logs/$run/bad.1.log"
'

test_expect_success 'retries and backoff come from defaults { } unless the stage sets them' '
	test_expect_code 1 ntflow run defaults.dag --no-tui -j 2 --keep-going >out &&
	echo 2 >expect &&
	test_cmp expect ni &&
	echo 1 >expect &&
	test_cmp expect no
'

test_done
