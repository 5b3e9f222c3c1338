#!/bin/sh
# t6110-alerts-dedup.sh: an alert is identified by its monitor, rule, severity and the data it
# was computed on (the monitor's cache key). Cached reruns raise no new alert and fire no
# trigger, they count the alert (COUNT, LAST-SEEN, an alert-repeat audit record); an
# acknowledged alert raised again stays acknowledged; new data raises a new alert with its
# trigger; a monitor with cache = false is judged by the metrics it wrote.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

write_dag drift.dag <<-\EOF
	pipeline "drift" {
	  params {
	    psi = 0.31
	  }
	}

	stage "ingest" {
	  run     = "echo ${params.psi} > data.txt"
	  outputs = ["data.txt"]
	}

	monitor "drift" {
	  needs   = ["ingest"]
	  run     = "printf '{\"max_psi\": %s}' $(cat data.txt) > drift.json"
	  outputs = ["drift.json"]
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

triggers() { sqlite3 .ntflow/state.db "SELECT count(*) FROM triggers"; }

test_expect_success 'setup: the first run raises two alerts and requests one run' '
	printf ".ntflow/\n*.txt\n*.json\n" >.gitignore &&
	git add . && git commit -q -m one &&
	ntflow run drift.dag --no-tui >out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.31 > 0.25" out &&
	grep "ntflow alerts (2 new)" out
'

test_expect_success SQLITE3 'a cached rerun raises no new alert and fires no trigger' '
	test "$(triggers)" = 1 &&
	ntflow run drift.dag --no-tui >out &&
	cat out &&
	grep -E "drift cached" out &&
	ntflow alerts --json >a.json &&
	test_must_fail json_get a.json "[2]" &&
	test "$(triggers)" = 1 &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.31 > 0.25 (alert 1 again: seen 2 times since run 1, no new trigger)" out &&
	grep "ntflow alerts (2 again)" out &&
	test "$(json_get a.json "[0].count")" = 2 &&
	test "$(json_get a.json "[0].run_id")" = 1 &&
	test "$(json_get a.json "[0].last_run")" = 2 &&
	test "$(json_get a.json "[0].open")" = true
'

test_expect_success SQLITE3 'twenty more cached reruns: still two alerts and one trigger' '
	i=0 &&
	while test $i -lt 20; do
		ntflow run drift.dag --no-tui >out || return 1
		i=$((i + 1))
	done &&
	ntflow alerts --open >open &&
	cat open &&
	test_line_count = 3 open &&
	sed -n 2p open | grep -E "^ 1 +1 +drift +drift +feature-shift +high +max_psi 0.31 > 0.25 +22 +[-0-9]+ [:0-9]+ +[-0-9]+ [:0-9]+ \(run 22\) +open \(run requested\)$" &&
	test "$(triggers)" = 1
'

test_expect_success 'show lists the alerts a run raised again, with their count' '
	ntflow show 2 >show.txt &&
	sed -n "/^alerts$/,/^\$/p" show.txt >alerts &&
	cat >expect <<-\EOF &&
	alerts
	  drift/feature-shift   high    max_psi 0.31 > 0.25  (alert 1, seen 22 times since run 1, open, run requested)
	  drift/feature-wobble  medium  max_psi 0.31 > 0.1  (alert 2, seen 22 times since run 1, open)
	EOF
	test_cmp expect alerts &&
	ntflow show 2 --json >show.json &&
	test "$(json_get show.json ".alerts[0].count")" = 22 &&
	test "$(json_get show.json ".alerts[0].first_run")" = 1
'

test_expect_success 'the audit log records each repeat and still verifies' '
	ntflow audit show --run 2 >audit.txt &&
	grep -E " alert-repeat +[0-9a-f]{12}  \{\"alert\":1,\"count\":2,\"data_key\":\"[0-9a-f]{64}\",\"first_run\":1,\"monitor\":\"drift\",\"open\":true," audit.txt &&
	! grep -E " alert +[0-9a-f]{12} " audit.txt &&
	ntflow audit verify
'

test_expect_success SQLITE3 'an acknowledged alert raised again on the same data stays acknowledged' '
	ntflow alerts ack 1 --note seen >/dev/null &&
	ntflow run drift.dag --no-tui --no-cache >out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.31 > 0.25 (alert 1 again: seen 23 times since run 1, acknowledged, no new trigger)" out &&
	ntflow alerts --open >open &&
	test_line_count = 2 open &&
	grep -E "^ 2 .*feature-wobble" open &&
	test "$(triggers)" = 1
'

test_expect_success SQLITE3 'new data raises new alerts and requests a run' '
	ntflow run drift.dag --no-tui -p psi=0.4 >out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.4 > 0.25" out &&
	grep "ntflow alerts (2 new)" out &&
	test "$(triggers)" = 2 &&
	ntflow alerts --json >a.json &&
	test "$(json_get a.json "[2].count")" = 1 &&
	test "$(json_get a.json "[2].open")" = true &&
	test_must_fail json_get a.json "[4]"
'

write_dag live.dag <<-\EOF
	pipeline "live" {
	  params {
	    psi = 0.31
	  }
	}

	monitor "drift" {
	  run      = "echo '{\"max_psi\": ${params.psi}}' > live.json"
	  metrics  = "live.json"
	  cache    = false
	  on_alert = "high"
	  alert "feature-shift" {
	    when     = "max_psi > 0.25"
	    severity = "high"
	  }
	}
	EOF

test_expect_success SQLITE3 'cache = false: the same metrics are the same alert, others a new one' '
	ntflow run live.dag --no-tui >out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.31 > 0.25" out &&
	ntflow run live.dag --no-tui >out &&
	grep -E "drift succeeded" out &&
	grep -F "max_psi 0.31 > 0.25 (alert 5 again: seen 2 times since run" out &&
	ntflow run live.dag --no-tui -p psi=0.5 >out &&
	grep -Fx "alert drift/feature-shift high: max_psi 0.5 > 0.25" out &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM triggers WHERE pipeline = '"'"'live'"'"'")" = 2 &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM alerts WHERE pipeline = '"'"'live'"'"'")" = 2
'

test_done
