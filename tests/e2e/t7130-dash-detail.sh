#!/bin/sh
# t7130-dash-detail.sh: the stage detail (issue 18). Enter (or d) on a stage opens what
# `ntflow why` says, the cache key's components, inputs with their git ids, outputs with
# sizes, metrics and every attempt; l opens its log. A cached stage's detail names the run
# whose result it reused and l shows that run's log (before: "no log (it did not run)"); a
# retried stage lists both attempts with the retry's reason. `ntflow logs` of a cached stage
# prints the reused run's log and names that run.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: run 1 trains and retries flaky once; run 2 reuses train' '
	mkdir -p data &&
	echo "a,b" >data/in.csv &&
	write_dag d.dag <<-\EOF &&
	pipeline "d" {}

	stage "train" {
	  run     = "mkdir -p build && cat data/in.csv >build/model.txt && echo trained-the-model && echo {\\\"auc\\\": 0.93} >build/m.json"
	  inputs  = ["data/in.csv"]
	  outputs = ["build/model.txt", "build/m.json"]
	  metrics = "build/m.json"
	}

	stage "flaky" {
	  needs   = ["train"]
	  run     = "if [ -f .second ]; then echo second-try; else touch .second; echo first-try; exit 3; fi"
	  retries = 1
	  backoff = "0s"
	  cache   = false
	}
	EOF
	git add d.dag data && git commit -q -m d &&
	ntflow run d.dag --no-tui &&
	rm -f .second &&
	ntflow run d.dag --no-tui &&
	ntflow why 2 train >why &&
	grep "train: cached: reused the result of run 1" why
'

test_expect_success 'ntflow logs of a cached stage prints the reused run'"'"'s log and names it' '
	ntflow logs 2 train >out 2>err &&
	grep "^trained-the-model$" out &&
	grep "train was cached in run 2: log of run 1, whose result it reused" err &&
	# the run that ran it: no note
	ntflow logs 1 train >out1 2>err1 &&
	grep "^trained-the-model$" out1 &&
	test_must_be_empty err1
'

test_expect_success 'the detail of a cached stage: why, key, inputs, outputs, metrics; l its reused log' '
	tui_start 100 40 &&
	tui_type "ntflow dash 2; echo status=\$?" &&
	tui_wait "^ d | run 2" &&
	tui_keys g &&
	tui_keys Enter &&
	tui_wait "^ train | run 2 | cached" &&
	tui_screen >detail &&
	grep "^  mkdir -p build && cat data/in.csv" detail &&
	grep "^why (ntflow why 2 train)" detail &&
	grep "^  cached: reused the result of run 1 (commit [0-9a-f]\{7\}, " detail &&
	grep "^  key  *[0-9a-f]\{64\}$" detail &&
	grep "^  identity  stage = train" detail &&
	grep "^   *data/in.csv  *blob [0-9a-f]\{12\}" detail &&
	grep "^  build/model.txt  *4 B" detail &&
	grep "^  auc  *0.93" detail &&
	grep "^  none in this run" detail &&
	grep "^  l opens the log of run 1, whose result it reused" detail &&
	tui_keys l &&
	tui_wait "^ log train, cached: log of run 1" &&
	tui_wait "^trained-the-model" &&
	# q: back to the detail, q again: the dashboard
	tui_keys q &&
	tui_wait "^ train | run 2 | cached" &&
	tui_keys q &&
	tui_wait "^ d | run 2" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'the detail of a retried stage lists both attempts with the reason (d)' '
	tui_start 100 40 &&
	tui_type "ntflow dash 1; echo status=\$?" &&
	tui_wait "^ d | run 1" &&
	tui_keys g j &&
	tui_keys d &&
	tui_wait "^ flaky | run 1 | succeeded" &&
	tui_screen >detail &&
	grep "^  ran: " detail &&
	grep "^  1  *[0-9-]* [0-9:]*  .*exit 3  *retried: exit 3" detail &&
	grep "^  2  *[0-9-]* [0-9:]*  .*exit 0  *succeeded" detail &&
	grep "^  none (gates and stages with cache = false are never cached)" detail &&
	tui_keys l &&
	tui_wait "^ log flaky, attempt 2" &&
	tui_wait "^second-try" &&
	tui_keys q q q &&
	tui_wait "^status=0"
'

test_done
