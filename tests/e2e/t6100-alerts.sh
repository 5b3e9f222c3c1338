#!/bin/sh
# t6100-alerts.sh: drift monitors and alerts: a monitor firing a high and a medium alert
# (shown as the run goes, listed, in JSON, with their values and thresholds), a trigger
# recorded for on_alert, acknowledgement, de-duplication across a retried monitor,
# fail_on, a quiet monitor, a cached monitor (its alerts counted again, not repeated), a
# rule naming a missing metric, and no trigger from a run an alert started. t6110 goes
# further into the identity of an alert.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

write_dag drift.dag <<-\EOF
	pipeline "drift" {
	  params {
	    psi = 0.31
	    tries = 1
	  }
	}

	stage "ingest" {
	  run     = "echo rows > data.txt"
	  outputs = ["data.txt"]
	}

	monitor "drift" {
	  needs   = ["ingest"]
	  run     = "printf '{\"max_psi\": %s, \"rows\": 1000}' ${params.psi} > drift.json"
	  metrics = "drift.json"
	  alert "feature-shift" {
	    when     = "max_psi > 0.25"
	    severity = "high"
	  }
	  alert "feature-wobble" {
	    when     = "max_psi > 0.10"
	    severity = "medium"
	  }
	  on_alert = "high"
	}
	EOF

test_expect_success 'a monitor firing a high and a medium alert still succeeds and shows both' '
	ntflow run drift.dag --no-tui >out 2>err &&
	cat out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.31 > 0.25" out &&
	grep -Fx "alert drift/feature-wobble medium: max_psi 0.31 > 0.1" out &&
	grep -E "^\[2/2\] drift succeeded" out
'

test_expect_success 'ntflow alerts lists them, oldest first, the high one with a run requested' '
	ntflow alerts >out &&
	cat out &&
	test_line_count = 3 out &&
	head -n 1 out | grep -E "^ID +RUN +PIPELINE +MONITOR +RULE +SEVERITY +WHAT +COUNT +CREATED +LAST-SEEN +STATUS$" &&
	sed -n 2p out | grep -E "^ 1 +1 +drift +drift +feature-shift +high +max_psi 0.31 > 0.25 +1 +[-0-9]+ [:0-9]+ +- +open \(run requested\)$" &&
	sed -n 3p out | grep -E "^ 2 +1 +drift +drift +feature-wobble +medium +max_psi 0.31 > 0.1 +1 .* +- +open$"
'

test_expect_success 'alerts --json carries the values, the threshold and the rule' '
	ntflow alerts --json >a.json &&
	test "$(json_get a.json "[0].rule")" = feature-shift &&
	test "$(json_get a.json "[0].severity")" = high &&
	test "$(json_get a.json "[0].pipeline")" = drift &&
	test "$(json_get a.json "[0].monitor")" = drift &&
	test "$(json_get a.json "[0].run_id")" = 1 &&
	test "$(json_get a.json "[0].when")" = "max_psi > 0.25" &&
	test "$(json_get a.json "[0].values.max_psi")" = 0.31 &&
	test "$(json_get a.json "[0].value")" = 0.31 &&
	test "$(json_get a.json "[0].threshold")" = 0.25 &&
	test "$(json_get a.json "[0].open")" = true &&
	test "$(json_get a.json "[0].triggered")" = true &&
	test "$(json_get a.json "[1].threshold")" = 0.1 &&
	test "$(json_get a.json "[1].triggered")" = false &&
	test "$(json_get a.json "[1].acked")" = null
'

test_expect_success 'ntflow show lists the alerts of the run' '
	ntflow show 1 >out &&
	sed -n "/^alerts$/,\$p" out >alerts &&
	cat >expect <<-\EOF &&
	alerts
	  drift/feature-shift   high    max_psi 0.31 > 0.25  (alert 1, open, run requested)
	  drift/feature-wobble  medium  max_psi 0.31 > 0.1  (alert 2, open)
	EOF
	test_cmp expect alerts &&
	ntflow show 1 --json >show.json &&
	test "$(json_get show.json ".alerts[0].rule")" = feature-shift &&
	test "$(json_get show.json ".alerts[1].threshold")" = 0.1
'

test_expect_success SQLITE3 'on_alert = "high" recorded one trigger for the scheduler' '
	test "$(sqlite3 .ntflow/state.db "SELECT pipeline, run_id, alert_id, severity, consumed FROM triggers")" = "drift|1|1|high|0"
'

test_expect_success 'acknowledging: with a note, then only the other one is open' '
	ntflow alerts ack 1 --note "retraining now" >out &&
	echo "alert 1 acknowledged" >expect &&
	test_cmp expect out &&
	ntflow alerts --open >out &&
	test_line_count = 2 out &&
	grep -E "^ 2 .*feature-wobble" out &&
	ntflow alerts >out &&
	grep -E "^ 1 .*acked by [^ ]+: retraining now$" out &&
	ntflow alerts --json >a.json &&
	test "$(json_get a.json "[0].open")" = false &&
	test "$(json_get a.json "[0].note")" = "retraining now"
'

test_expect_success 'ack errors: twice, unknown, not an id, no id, options that do not go' '
	test_expect_code 1 ntflow alerts ack 1 2>err &&
	grep "^ntflow: alert 1 was acknowledged already (.* by .*)$" err &&
	test_expect_code 1 ntflow alerts ack 99 2>err &&
	echo "ntflow: no alert 99" >expect &&
	test_cmp expect err &&
	test_expect_code 2 ntflow alerts ack one 2>err &&
	echo "ntflow alerts: '"'"'one'"'"' is not an alert id" >expect &&
	test_cmp expect err &&
	test_expect_code 2 ntflow alerts ack 2>err &&
	grep "ack: which alert?" err &&
	test_expect_code 2 ntflow alerts --note x 2>err &&
	grep "note goes with" err &&
	test_expect_code 2 ntflow alerts akc 2>err &&
	grep "did you mean '"'"'ack'"'"'" err
'

test_expect_success 'a quiet monitor raises nothing' '
	ntflow run drift.dag --no-tui -p psi=0.05 >out &&
	! grep "^alert" out &&
	ntflow alerts --json >a.json &&
	test "$(json_get a.json "[2]" 2>/dev/null)" = "" &&
	ntflow alerts --open >out &&
	test_line_count = 2 out
'

test_expect_success 'a cached monitor raises its alerts again: counted, not repeated' '
	ntflow run drift.dag --no-tui >out &&
	grep -E "drift cached" out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.31 > 0.25 (alert 1 again: seen 2 times since run 1, acknowledged, no new trigger)" out &&
	grep -Fx "alert drift/feature-wobble medium: max_psi 0.31 > 0.1 (alert 2 again: seen 2 times since run 1, no new trigger)" out &&
	grep "ntflow alerts (2 again)" out &&
	ntflow alerts --json >a.json &&
	test "$(json_get a.json "[0].count")" = 2 &&
	test "$(json_get a.json "[0].last_run")" = 3 &&
	test "$(json_get a.json "[1].count")" = 2 &&
	test_must_fail json_get a.json "[2]"
'

write_dag failon.dag <<-\EOF
	pipeline "failon" {
	}

	monitor "drift" {
	  run     = "echo '{\"max_psi\": 0.31}' > d.json"
	  metrics = "d.json"
	  retries = 1
	  backoff = "10ms"
	  cache   = false
	  alert "feature-shift" {
	    when     = "max_psi > 0.25"
	    severity = "high"
	  }
	  alert "feature-wobble" {
	    when     = "max_psi > 0.10"
	    severity = "medium"
	  }
	  fail_on = "high"
	}
	EOF

test_expect_success 'fail_on = "high": the monitor fails saying which alert; a retry does not duplicate' '
	test_expect_code 1 ntflow run failon.dag --no-tui >out 2>err &&
	cat out err &&
	grep -E "drift failed.*alert feature-shift \(high\) fired: max_psi 0.31 > 0.25, and fail_on = \"high\"" out &&
	test "$(grep -c "^alert drift/feature-shift high" out)" = 2 &&
	ntflow show --json >show.json &&
	test "$(json_get show.json ".stages[0].attempts")" = 2 &&
	ntflow alerts --json >a.json &&
	test "$(json_get a.json "[2].run_id")" = 4 &&
	test "$(json_get a.json "[3].run_id")" = 4 &&
	test "$(json_get a.json "[3].rule")" = feature-wobble &&
	test "$(json_get a.json "[3].count")" = 1 &&
	test_must_fail json_get a.json "[4]"
'

write_dag missing.dag <<-\EOF
	pipeline "missing" {
	}

	monitor "drift" {
	  run     = "echo '{\"psi\": 0.31}' > m.json"
	  metrics = "m.json"
	  alert "feature-shift" {
	    when     = "max_psi > 0.25"
	    severity = "high"
	  }
	}
	EOF

test_expect_success 'a rule reading a metric the monitor did not write fails it, naming both' '
	test_expect_code 1 ntflow run missing.dag --no-tui >out 2>err &&
	grep -F "drift failed" out &&
	grep -F "alert feature-shift (max_psi > 0.25): metric '"'"'max_psi'"'"' is missing" out
'

test_expect_success SQLITE3 'a run started by an alert asks for no further run' '
	ntflow run drift.dag --no-tui --trigger alert -p psi=0.4 >out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.4 > 0.25" out &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM triggers")" = 1 &&
	id=$(sqlite3 .ntflow/state.db "SELECT max(id) FROM runs") &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM triggers WHERE run_id = $id")" = 0
'

test_expect_success 'run --json shows alerts as events; the audit log has alerts and the ack' '
	ntflow run drift.dag --json --force drift >out &&
	grep -F "{\"event\":\"alert\",\"monitor\":\"drift\",\"rule\":\"feature-shift\",\"severity\":\"high\",\"summary\":\"max_psi 0.31 > 0.25\",\"alert\":1,\"count\":3,\"repeat\":true}" out &&
	ntflow audit show >audit.txt &&
	grep -E " alert +[0-9a-f]{12}  \{\"alert\":1," audit.txt &&
	grep -E " alert-repeat +[0-9a-f]{12}  \{\"alert\":1,\"count\":3," audit.txt &&
	grep -E " alert-ack +[0-9a-f]{12}  \{\"alert\":1,\"by\":\"[^\"]+\",\"monitor\":\"drift\",\"note\":\"retraining now\"" audit.txt &&
	ntflow audit verify
'

test_done
