#!/bin/sh
# t2040-keep-going.sh: after a final failure nothing new starts (running stages finish);
# with --keep-going independent branches go on and the failed stage's dependents are skipped.
# Runs use --no-cache: caching is not what these tests are about (t3xxx test it).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# Two branches: bad -> bad_next and slow -> slow_next -> slow_last. "slow" goes on
# running until ntflow has printed that "bad" failed (it polls ntflow's output, at most
# 15s), so the failure is always seen while slow is still running.
write_dag branches.dag <<\EOF
stage "bad" {
  run = "echo broken; exit 1"
}

stage "bad_next" {
  needs = ["bad"]
  run   = "touch bad_next.ran"
}

stage "slow" {
  run = "i=0; while ! grep -q 'bad failed' out; do i=$((i + 1)); test $i -lt 300 || exit 9; sleep 0.05; done; touch slow.ran"
}

stage "slow_next" {
  needs = ["slow"]
  run   = "touch slow_next.ran"
}

stage "slow_last" {
  needs = ["slow_next"]
  run   = "touch slow_last.ran"
}
EOF

test_expect_success 'without --keep-going: the running stage finishes, nothing new starts' '
	test_expect_code 1 ntflow run --no-cache branches.dag --no-tui -j 2 >out 2>err &&
	cat out err &&
	test_path_is_file slow.ran &&
	test_path_is_missing slow_next.ran &&
	test_path_is_missing slow_last.ran &&
	test_path_is_missing bad_next.ran &&
	! grep -E "slow_next running" out
'

test_expect_success 'show --json: bad failed, slow succeeded, the rest never ran' '
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = failed &&
	test "$(stage_field show.json bad state)" = failed &&
	test "$(stage_field show.json slow state)" = succeeded &&
	test "$(stage_field show.json bad_next state)" = skipped &&
	for s in slow_next slow_last
	do
		st=$(stage_field show.json $s state) &&
		case $st in skipped|cancelled) ;; *) echo "$s: $st"; false ;; esac || return 1
	done
'

test_expect_success 'with --keep-going: the independent branch runs to its end' '
	rm -f *.ran &&
	test_expect_code 1 ntflow run --no-cache branches.dag --no-tui -j 2 --keep-going >out 2>err &&
	cat out err &&
	test_path_is_file slow.ran &&
	test_path_is_file slow_next.ran &&
	test_path_is_file slow_last.ran &&
	test_path_is_missing bad_next.ran &&
	grep -E "^\[[0-9]+/5\] bad_next skipped" out &&
	grep -E "^run [0-9]+ failed" out
'

test_expect_success 'show --json after --keep-going: dependents of the failure skipped' '
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = failed &&
	test "$(stage_field show.json bad state)" = failed &&
	test "$(stage_field show.json bad_next state)" = skipped &&
	test "$(stage_field show.json bad_next attempts)" = 0 &&
	test "$(stage_field show.json slow state)" = succeeded &&
	test "$(stage_field show.json slow_next state)" = succeeded &&
	test "$(stage_field show.json slow_last state)" = succeeded
'

test_expect_success '-k is --keep-going' '
	rm -f *.ran &&
	test_expect_code 1 ntflow run --no-cache branches.dag --no-tui -j 2 -k >out &&
	test_path_is_file slow_last.ran
'

test_done
