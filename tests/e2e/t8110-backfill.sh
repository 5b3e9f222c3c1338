#!/bin/sh
# t8110-backfill.sh: `ntflow backfill FILE --from DATE --to DATE`: one run per scheduled
# interval of the range, oldest first, recorded as backfill runs for their intervals, each
# stage seeing its logical date; then a table (interval, run, status, gate, model, alerts).
# A rerun reuses the cache; --to takes in its whole day; intervals not ended yet are left;
# a failed run stops the backfill unless --keep-going (exit 1); SIGTERM cancels it (130);
# bad dates, --from after --to and a pipeline without a schedule are usage errors. Then
# eight weeks of the shipped dags/retrain.dag.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_expect_success 'setup: a weekly pipeline with a gate, a model and a monitor' '
	cat >train.sh <<-\EOF &&
	# train.sh DATE WEEK: the week'\''s model; odd weeks score worse (the gate rejects them)
	set -e
	echo "$1 $2 $NTFLOW_INTERVAL_START $NTFLOW_INTERVAL_END $NTFLOW_TRIGGER" >>seen.log
	n=${2#*-W}
	n=${n#0}
	mkdir -p build
	echo "model of $2" >build/model.txt
	if test $((n % 2)) = 0; then acc=0.9; else acc=0.7; fi
	printf "{\"accuracy\": %s}\n" $acc >build/metrics.json
	EOF
	write_dag weekly.dag <<-\EOF &&
	pipeline "weekly" {
	  schedule = "0 0 * * MON"
	}

	stage "train" {
	  run     = "sh train.sh ${run.date} ${run.week}"
	  outputs = ["build/model.txt", "build/metrics.json"]
	  metrics = "build/metrics.json"
	}

	gate "promote" {
	  needs   = ["train"]
	  require = ["accuracy >= 0.85"]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  metrics  = "build/metrics.json"
	  gate     = "promote"
	}

	monitor "drift" {
	  needs   = ["train"]
	  run     = "sh drift.sh"
	  metrics = "drift.json"
	  alert "low" {
	    when     = "acc < 0.8"
	    severity = "high"
	  }
	}
	EOF
	cat >drift.sh <<-\EOF &&
	# drift.sh: the week'\''s accuracy as the monitor'\''s metric
	acc=$(sed -n "s/.*: *\([0-9.]*\).*/\1/p" build/metrics.json)
	printf "{\"acc\": %s}\n" "$acc" >drift.json
	EOF
	printf "/.ntflow/\n/build/\n/models/\nseen.log\ndrift.json\nfail-*\nstarted.*\n" >.gitignore &&
	git add . && git commit -q -m weekly &&
	ntflow validate weekly.dag
'

test_expect_success 'eight weeks: eight backfill runs in order, then the table' '
	ntflow backfill weekly.dag --from 2026-09-07 --to 2026-10-26 >out 2>err &&
	cat out err &&
	cat >expect <<-\EOF &&
	backfill: 8 intervals of weekly from 2026-09-07T00:00:00Z to 2026-11-02T00:00:00Z
	backfill 1/8: 2026-09-07T00:00:00Z .. 2026-09-14T00:00:00Z: run 1 gated
	backfill 2/8: 2026-09-14T00:00:00Z .. 2026-09-21T00:00:00Z: run 2 succeeded
	backfill 3/8: 2026-09-21T00:00:00Z .. 2026-09-28T00:00:00Z: run 3 gated
	backfill 4/8: 2026-09-28T00:00:00Z .. 2026-10-05T00:00:00Z: run 4 succeeded
	backfill 5/8: 2026-10-05T00:00:00Z .. 2026-10-12T00:00:00Z: run 5 gated
	backfill 6/8: 2026-10-12T00:00:00Z .. 2026-10-19T00:00:00Z: run 6 succeeded
	backfill 7/8: 2026-10-19T00:00:00Z .. 2026-10-26T00:00:00Z: run 7 gated
	backfill 8/8: 2026-10-26T00:00:00Z .. 2026-11-02T00:00:00Z: run 8 succeeded

	INTERVAL    RUN  STATUS     GATE    MODEL             ALERTS
	2026-09-07    1  gated      failed  clf v1 candidate  1 (high)
	2026-09-14    2  succeeded  passed  clf v2 promoted   -
	2026-09-21    3  gated      failed  clf v3 candidate  1 (high)
	2026-09-28    4  succeeded  passed  clf v4 promoted   -
	2026-10-05    5  gated      failed  clf v5 candidate  1 (high)
	2026-10-12    6  succeeded  passed  clf v6 promoted   -
	2026-10-19    7  gated      failed  clf v7 candidate  1 (high)
	2026-10-26    8  succeeded  passed  clf v8 promoted   -
	EOF
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'each stage saw its interval: ${run.date}, ${run.week}, NTFLOW_INTERVAL_*, the trigger' '
	cat >expect <<-\EOF &&
	2026-09-07 2026-W37 2026-09-07T00:00:00Z 2026-09-14T00:00:00Z backfill
	2026-09-14 2026-W38 2026-09-14T00:00:00Z 2026-09-21T00:00:00Z backfill
	2026-09-21 2026-W39 2026-09-21T00:00:00Z 2026-09-28T00:00:00Z backfill
	2026-09-28 2026-W40 2026-09-28T00:00:00Z 2026-10-05T00:00:00Z backfill
	2026-10-05 2026-W41 2026-10-05T00:00:00Z 2026-10-12T00:00:00Z backfill
	2026-10-12 2026-W42 2026-10-12T00:00:00Z 2026-10-19T00:00:00Z backfill
	2026-10-19 2026-W43 2026-10-19T00:00:00Z 2026-10-26T00:00:00Z backfill
	2026-10-26 2026-W44 2026-10-26T00:00:00Z 2026-11-02T00:00:00Z backfill
	EOF
	test_cmp expect seen.log
'

test_expect_success 'the runs are recorded as backfill runs of their intervals' '
	ntflow runs --json >runs.json &&
	/usr/bin/python3 - <<-\EOF
	import json
	runs = sorted(json.load(open("runs.json")), key=lambda r: r["id"])
	got = [(r["id"], r["trigger"], r["logical_date"], r["interval_start"], r["interval_end"]) for r in runs]
	want = [(i + 1, "backfill", "2026-%s" % d, "2026-%sT00:00:00Z" % d, "2026-%sT00:00:00Z" % e)
	        for i, (d, e) in enumerate(zip(["09-07", "09-14", "09-21", "09-28", "10-05", "10-12", "10-19", "10-26"],
	                                       ["09-14", "09-21", "09-28", "10-05", "10-12", "10-19", "10-26", "11-02"]))]
	assert got == want, got
	EOF
'

test_expect_success 'a rerun of a week reuses the cache; --to takes in its whole day' '
	: >seen.log &&
	ntflow backfill weekly.dag --from 2026-09-08 --to 2026-09-14 >out 2>err &&
	cat out &&
	grep -x "backfill 1/1: 2026-09-14T00:00:00Z .. 2026-09-21T00:00:00Z: run 9 succeeded" out &&
	grep -E "^2026-09-14 +9 +succeeded +passed +clf v2 promoted +-$" out &&
	test_must_be_empty seen.log &&
	ntflow show 9 --json >show.json &&
	test "$(stage_field show.json train state)" = cached &&
	test "$(json_get show.json .run.trigger)" = backfill
'

test_expect_success '--json: one object per interval' '
	ntflow backfill weekly.dag --from 2026-09-07 --to 2026-09-07T00:00:00Z --json >out.json &&
	test "$(json_get out.json "[0].interval_start")" = 2026-09-07T00:00:00Z &&
	test "$(json_get out.json "[0].interval_end")" = 2026-09-14T00:00:00Z &&
	test "$(json_get out.json "[0].logical_date")" = 2026-09-07 &&
	test "$(json_get out.json "[0].run_id")" = 10 &&
	test "$(json_get out.json "[0].status")" = gated &&
	test "$(json_get out.json "[0].gate")" = failed &&
	test "$(json_get out.json "[0].alerts")" = 1 &&
	test "$(json_get out.json "[0].alert_severity")" = high &&
	test_must_fail json_get out.json "[1]"
'

test_expect_success 'intervals that have not ended are left for later' '
	ntflow backfill weekly.dag --from 2098-01-01 --to 2099-01-01 >out 2>err &&
	test_must_be_empty out &&
	grep -x "ntflow: backfill: nothing to run: the intervals of weekly (\"0 0 \* \* MON\", UTC) from 2098-01-01 on have not ended yet" err &&
	ntflow runs --json >runs.json &&
	test "$(json_get runs.json "[0].id")" = 10
'

test_expect_success 'a failed run stops the backfill (exit 1); --keep-going goes on' '
	write_dag flaky.dag <<-\EOF &&
	pipeline "flaky" {
	  schedule = "0 0 * * MON"
	}

	stage "s" {
	  run   = "test ! -e fail-${run.date}"
	  cache = false
	}
	EOF
	git add flaky.dag && git commit -q -m flaky &&
	touch fail-2026-09-14 &&
	test_expect_code 1 ntflow backfill flaky.dag --from 2026-09-07 --to 2026-09-21 >out 2>err &&
	cat out &&
	grep -E "^2026-09-07 +11 +succeeded +- +- +-$" out &&
	grep -E "^2026-09-14 +12 +failed +- +- +-$" out &&
	grep -E "^2026-09-21 +- +not run +- +- +-$" out &&
	test_expect_code 1 ntflow backfill flaky.dag --from 2026-09-07 --to 2026-09-21 --keep-going >out 2>err &&
	cat out &&
	grep -E "^2026-09-14 +14 +failed " out &&
	grep -E "^2026-09-21 +15 +succeeded " out
'

test_expect_success '--skip-done goes on where a failed backfill stopped; other params run again' '
	rm -f fail-2026-09-14 &&
	ntflow backfill flaky.dag --from 2026-09-07 --to 2026-09-28 --skip-done >out 2>err &&
	cat out &&
	grep "^backfill 1/4: 2026-09-07T00:00:00Z .. 2026-09-14T00:00:00Z: run 13 succeeded before (skipped)$" out &&
	grep "^backfill 3/4: 2026-09-21T00:00:00Z .. 2026-09-28T00:00:00Z: run 15 succeeded before (skipped)$" out &&
	grep -E "^2026-09-07 +13 +succeeded before " out &&
	grep -E "^2026-09-14 +16 +succeeded " out &&
	grep -E "^2026-09-28 +17 +succeeded " out &&
	ntflow backfill flaky.dag --from 2026-09-07 --to 2026-09-28 --skip-done --json >out.json &&
	test "$(json_get out.json "[0].status")" = "succeeded before" &&
	test "$(json_get out.json "[1].status")" = "succeeded before" &&
	write_dag pp.dag <<-\EOF &&
	pipeline "pp" {
	  schedule = "0 0 * * MON"
	  params {
	    n = 1
	  }
	}

	stage "s" {
	  run   = "echo ${params.n} >>pp.log"
	  cache = false
	}
	EOF
	echo pp.log >>.gitignore &&
	git add pp.dag .gitignore && git commit -q -m pp &&
	ntflow backfill pp.dag --from 2026-09-07 --to 2026-09-07 >out &&
	ntflow backfill pp.dag --from 2026-09-07 --to 2026-09-07 --skip-done >out &&
	grep "(skipped)" out &&
	ntflow backfill pp.dag --from 2026-09-07 --to 2026-09-07 --skip-done -p n=2 >out &&
	! grep "(skipped)" out &&
	printf "1\n2\n" >expect && test_cmp expect pp.log
'

test_expect_success 'SIGTERM cancels the run in progress and starts no other (exit 130)' '
	write_dag slow.dag <<-\EOF &&
	pipeline "slow" {
	  schedule = "@weekly"
	}

	stage "s" {
	  run   = "echo started >started.${run.date}; exec sleep 60"
	  cache = false
	}
	EOF
	git add slow.dag && git commit -q -m slow &&
	{ ntflow backfill slow.dag --from 2026-09-01 --to 2026-09-30 >out 2>err & } &&
	pid=$! &&
	test_when_finished "kill -9 $pid 2>/dev/null; true" &&
	wait_for_file started.2026-09-06 &&
	kill -TERM $pid &&
	test_expect_code 130 wait $pid &&
	cat out err &&
	grep -E "^2026-09-06 +[0-9]+ +cancelled " out &&
	test "$(grep -c "not run" out)" = 3 &&
	test_path_is_missing started.2026-09-13 &&
	test "$(procs_with_args "sleep 60")" = 0
'

test_expect_success 'bad dates, --from after --to, no schedule: usage errors, nothing run' '
	ntflow runs --json >before.json &&
	test_expect_code 2 ntflow backfill weekly.dag --from 2026-09-31 --to 2026-10-07 2>err &&
	grep -x "ntflow: backfill: --from '\''2026-09-31'\'': no such date or time" err &&
	test_expect_code 2 ntflow backfill weekly.dag --from 2026-09-01 --to next-week 2>err &&
	grep -x "ntflow: backfill: --to '\''next-week'\'': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM\[:SS\]Z" err &&
	test_expect_code 2 ntflow backfill weekly.dag --from 2026-10-07 --to 2026-09-01 2>err &&
	grep -x "ntflow: backfill: --from 2026-10-07 is after --to 2026-09-01" err &&
	test_expect_code 2 ntflow backfill weekly.dag --from 2026-10-07 2>err &&
	grep -x "ntflow: backfill: --from and --to are both needed" err &&
	test_expect_code 2 ntflow backfill weekly.dag --from 2026-09-07 --to 2026-09-14 -p nope=1 2>err &&
	grep "^ntflow: backfill: -p nope=1: " err &&
	write_dag plain.dag <<-\EOF &&
	stage "a" { run = "true" }
	EOF
	test_expect_code 2 ntflow backfill plain.dag --from 2026-09-01 --to 2026-09-30 2>err &&
	grep -x "ntflow: backfill: plain.dag has no schedule: backfill runs one run per interval of the pipeline.s schedule = \"...\"" err &&
	ntflow runs --json >after.json &&
	test_cmp before.json after.json
'

# dags/retrain.dag is @weekly: Sunday midnight, so the week 2026-W37 (Monday 7 September
# to Sunday 13 September) is the interval that starts on its Sunday, [09-13, 09-20).
test_expect_success 'setup: the shipped retraining pipeline and ntml' '
	mkdir -p retrain && cd retrain &&
	git init -q &&
	shipped_pipeline_repo &&
	command -v ntml
'

test_expect_success 'backfill over eight weeks of dags/retrain.dag prints its table' '
	cd retrain &&
	ntflow backfill dags/retrain.dag --from 2026-09-07 --to 2026-11-01 >out 2>err &&
	cat out err &&
	sed -n "/^INTERVAL/,\$p" out >table &&
	# examples/ml/README.md: one region degrades in 2026-W38, the fraud pattern changes from
	# 2026-W40 on, and the data drift away from the reference week
	cat >expect <<-\EOF &&
	INTERVAL    RUN  STATUS     GATE    MODEL                   ALERTS
	2026-09-13    1  succeeded  passed  fraud-clf v1 promoted   -
	2026-09-20    2  gated      failed  fraud-clf v2 candidate  -
	2026-09-27    3  succeeded  passed  fraud-clf v3 promoted   -
	2026-10-04    4  gated      failed  fraud-clf v4 candidate  -
	2026-10-11    5  gated      failed  fraud-clf v5 candidate  -
	2026-10-18    6  gated      failed  fraud-clf v6 candidate  1 (medium)
	2026-10-25    7  gated      failed  fraud-clf v7 candidate  1 (medium)
	2026-11-01    8  gated      failed  fraud-clf v8 candidate  1 (medium)
	EOF
	test_cmp expect table &&
	ls data/weekly >weeks &&
	printf "2026-W%s.csv\n" 37 38 39 40 41 42 43 44 >expect &&
	test_cmp expect weeks
'

test_done
