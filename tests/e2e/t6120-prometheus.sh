#!/bin/sh
# t6120-prometheus.sh: `ntflow export --prometheus` and `scheduler --textfile`: a workspace
# with no run exports an empty but valid page; after runs, the newest run's status (one 1
# among the statuses), its cache hit ratio and stage durations, the last success's time
# (kept across a failed run), the production model's version and metrics and the open
# alerts by severity; label values escaped; --textfile writes a folder's ntflow.prom whole,
# leaving no temporary file; the scheduler rewrites it after each run. Every page passes a
# strict reader of the format (tests/prom/check-textfile.py) and promtool when installed.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_need_hooks

CHECK="python3 $NTFLOW_SRC_DIR/tests/prom/check-textfile.py"
# valid FILE: the strict reader, and promtool when there is one
valid() {
	$CHECK "$1" || return 1
	if command -v promtool >/dev/null; then
		promtool check metrics <"$1" || return 1
	fi
}
# value FILE SERIES: the value of one series, as written
value() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }

test_expect_success 'setup' '
	if ! command -v promtool >/dev/null; then
		echo "promtool is not installed (Debian: prometheus): the strict reader checks alone" >&2
	fi &&
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    fail = "no"
	  }
	}
	stage "train" {
	  run     = "mkdir -p m && cp metrics.src m/metrics.json && echo w >m/model"
	  inputs  = ["metrics.src"]
	  outputs = ["m/"]
	  metrics = "m/metrics.json"
	}
	stage "flaky" {
	  run   = "test ${params.fail} = no"
	  cache = false
	}
	monitor "drift" {
	  run     = "mkdir -p d && echo {\\\"psi\\\": 0.4} >d/drift.json"
	  outputs = ["d/"]
	  metrics = "d/drift.json"
	  alert "shift" {
	    when     = "psi > 0.25"
	    severity = "high"
	  }
	}
	gate "ok" {
	  needs   = ["train"]
	  require = ["auc >= 0.5"]
	}
	model "clf" {
	  artifact = "m/model"
	  metrics  = "m/metrics.json"
	  gate     = "ok"
	}
	EOF
	# a metric name with a quote and a backslash: label values must escape both
	cat >metrics.src <<-\EOF &&
	{"auc": 0.93, "we\"ird\\key": 1}
	EOF
	printf "/.ntflow/\n/m/\n/d/\n/models/\n*.prom\nout*\nnow\nst/\nst.log\n" >.gitignore &&
	git add . && git commit -q -m p
'

test_expect_success 'a workspace with no run: exit 0, a valid page, no pipeline' '
	ntflow export --prometheus >empty.prom &&
	valid empty.prom &&
	! grep "^ntflow_last_run_status" empty.prom &&
	test "$(value empty.prom "ntflow_alerts_open{severity=\"high\"}")" = 0
'

test_expect_success 'after a run: status, durations, the model and the alert' '
	ntflow run --no-tui p.dag >out 2>&1 &&
	ntflow export --prometheus >one.prom &&
	valid one.prom &&
	test "$(value one.prom "ntflow_last_run_status{pipeline=\"p\",status=\"succeeded\"}")" = 1 &&
	test "$(grep -c "^ntflow_last_run_status{pipeline=\"p\"" one.prom)" = 6 &&
	test "$(grep "^ntflow_last_run_status{pipeline=\"p\"" one.prom | awk "{ s += \$2 } END { print s }")" = 1 &&
	test "$(value one.prom "ntflow_last_run_id{pipeline=\"p\"}")" = 1 &&
	grep "^ntflow_stage_duration_seconds{pipeline=\"p\",stage=\"train\",state=\"succeeded\"} [0-9.e-]*\$" one.prom &&
	test "$(value one.prom "ntflow_cache_hit_ratio{pipeline=\"p\"}")" = 0 &&
	test "$(value one.prom "ntflow_model_production_version{model=\"clf\"}")" = 1 &&
	test "$(value one.prom "ntflow_model_metric{model=\"clf\",version=\"1\",metric=\"auc\"}")" = 0.93 &&
	grep -F "metric=\"we\\\"ird\\\\key\"} 1" one.prom &&
	test "$(value one.prom "ntflow_alerts_open{severity=\"high\"}")" = 1 &&
	grep "^ntflow_last_success_timestamp_seconds{pipeline=\"p\"} 1[0-9]*" one.prom
'

test_expect_success 'a cached rerun has a hit ratio; a failed one keeps the last success time' '
	ntflow run --no-tui p.dag >out 2>&1 &&
	ntflow export --prometheus >two.prom &&
	valid two.prom &&
	ratio=$(value two.prom "ntflow_cache_hit_ratio{pipeline=\"p\"}") &&
	awk -v r="$ratio" "BEGIN { exit !(r > 0.6 && r < 1) }" &&
	success=$(value two.prom "ntflow_last_success_timestamp_seconds{pipeline=\"p\"}") &&
	test_expect_code 1 ntflow run --no-tui -p fail=yes p.dag >out 2>&1 &&
	ntflow export --prometheus >three.prom &&
	valid three.prom &&
	test "$(value three.prom "ntflow_last_run_status{pipeline=\"p\",status=\"failed\"}")" = 1 &&
	test "$(value three.prom "ntflow_last_run_status{pipeline=\"p\",status=\"succeeded\"}")" = 0 &&
	test "$(value three.prom "ntflow_last_success_timestamp_seconds{pipeline=\"p\"}")" = "$success" &&
	grep "^ntflow_stage_duration_seconds{pipeline=\"p\",stage=\"flaky\",state=\"failed\"}" three.prom
'

test_expect_success '--textfile DIR writes DIR/ntflow.prom whole, no temporary left' '
	mkdir tf &&
	ntflow export --prometheus --textfile tf >out &&
	test_must_be_empty out &&
	test "$(ls tf)" = ntflow.prom &&
	valid tf/ntflow.prom &&
	ntflow export --prometheus --textfile tf/other.prom &&
	test -f tf/other.prom &&
	test_expect_code 2 ntflow export --prometheus --textfile nosuch/x.prom 2>err &&
	grep "no folder nosuch" err &&
	test_expect_code 2 ntflow export 2>err &&
	grep "prometheus" err
'

test_expect_success 'scheduler --textfile rewrites it at start and after each run' '
	cat >s.dag <<-\EOF &&
	pipeline "s" {
	  schedule = "0 0 * * MON"
	}
	stage "a" {
	  run   = "true"
	  cache = false
	}
	EOF
	git add s.dag && git commit -q -m s &&
	printf "%s\n" 2026-11-01T12:00:00Z >now || return 1
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --state st --log st.log --textfile tf s.dag &
	pid=$! &&
	test_when_finished "kill -KILL $pid 2>/dev/null || :" &&
	wait_until "grep -q \"scheduler: started\" st.log" &&
	valid tf/ntflow.prom &&
	! grep "^ntflow_last_run_id{workspace=\"$PWD/st\",pipeline=\"s\"}" tf/ntflow.prom &&
	printf "%s\n" 2026-11-02T00:00:30Z >now.tmp && mv now.tmp now &&
	wait_until "grep -q \": run [0-9]* ended\" st.log" &&
	wait_until "grep -q \"^ntflow_last_run_id{workspace=\\\"$PWD/st\\\",pipeline=\\\"s\\\"} 1\" tf/ntflow.prom" &&
	valid tf/ntflow.prom &&
	kill -TERM $pid && wait $pid
'

test_expect_success 'scheduler --textfile over two workspaces: each series says whose it is' '
	for ws in wa wb; do
		mkdir $ws && (
			cd $ws && git init -q &&
			printf ".ntflow/\nout/\nmodels/\n" >.gitignore &&
			cat >p.dag <<-EOF &&
			pipeline "retrain" {
			  schedule = "@weekly"
			}
			stage "train" {
			  run     = "mkdir -p out && echo $ws >out/m.txt"
			  outputs = ["out/m.txt"]
			}
			gate "g" {
			  needs   = ["train"]
			  require = ["1 > 0"]
			}
			model "clf" {
			  artifact = "out/m.txt"
			  gate     = "g"
			}
			EOF
			git add -A && git commit -q -m p &&
			ntflow run p.dag --no-tui >out.log
		) || return 1
	done &&
	ntflow scheduler wa/p.dag wb/p.dag --log two.log --textfile two.prom &
	pid=$! &&
	test_when_finished "kill -KILL $pid 2>/dev/null || :" &&
	wait_until "grep -q \"scheduler: started\" two.log" &&
	wait_until "test -s two.prom" &&
	kill -TERM $pid && wait $pid &&
	valid two.prom &&
	grep "^ntflow_model_production_version{workspace=\"$PWD/wa/.ntflow\",model=\"clf\"} 1$" two.prom &&
	grep "^ntflow_model_production_version{workspace=\"$PWD/wb/.ntflow\",model=\"clf\"} 1$" two.prom &&
	grep "^ntflow_last_run_id{workspace=\"$PWD/wa/.ntflow\",pipeline=\"retrain\"} 1$" two.prom &&
	test "$(grep -c "^ntflow_alerts_open{workspace=" two.prom)" = 6 &&
	! grep "^ntflow_export_timestamp_seconds{" two.prom
'

test_done
