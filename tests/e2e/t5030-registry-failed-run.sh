#!/bin/sh
# t5030-registry-failed-run.sh: a run that failed never changes production. A monitor
# failing after the gate passed leaves the new model a candidate (show and the registry
# say why: "not promoted: run N failed: check failed"), bytes the registry holds are not
# returned to production by a failed run either, the same model passing in a run that
# succeeds is promoted, and with --keep-going a monitor failing beside training blocks
# the promotion too.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-registry.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_expect_success 'setup: a gated model and a monitor that runs once the gate passed' '
	write_gated_pipeline &&
	ntflow run p.dag --date 2026-09-07 >out 2>err &&
	grep "clf v1 → production" out &&
	test "$(production)" = 1
'

test_expect_success 'a failing monitor blocks promotion: a candidate, and show says why' '
	test_expect_code 1 ntflow run p.dag -p acc=0.98 -p check=1 >out 2>err &&
	cat out &&
	grep "^run 2 failed in .*: clf v2 → candidate (not promoted: run 2 failed: check failed) " out &&
	test "$(production)" = 1 &&
	current_is 1 &&
	test_path_is_file models/candidates/clf/v2/model.txt &&
	ntflow show 2 --json >show.json &&
	test "$(json_get show.json ".gates[0].passed")" = true &&
	test "$(json_get show.json ".registered[0].status")" = candidate &&
	test "$(json_get show.json ".registered[0].note")" = "not promoted: run 2 failed: check failed" &&
	ntflow show 2 >out &&
	grep "^  clf v2  candidate: not promoted: run 2 failed: check failed$" out &&
	grep "^  clf v1  its gate promote passed in run 1$" out &&
	ntflow registry show clf@2 >out &&
	grep "^why        not promoted: run 2 failed: check failed$" out
'

test_expect_success 'a failed run of bytes the registry holds does not return them to production' '
	ntflow run p.dag -p acc=0.95 >out 2>err &&
	grep "clf v3 → production" out &&
	test_expect_code 1 ntflow run p.dag -p check=1 >out 2>err &&
	grep "clf v1 unchanged (not returned to production: run 4 failed: check failed)" out &&
	test_expect_code 1 ntflow run p.dag -p acc=0.98 -p check=1 >out 2>err &&
	grep "clf v2 unchanged (not returned to production: run 5 failed: check failed)" out &&
	test "$(production)" = 3 &&
	current_is 3 &&
	ntflow show 5 --json >show.json &&
	test "$(json_get show.json ".held[0].version")" = 2 &&
	test "$(json_get show.json ".held[0].note")" = "not returned to production: run 5 failed: check failed"
'

test_expect_success 'the failed run'"'"'s model passing in a run that succeeds goes to production' '
	ntflow run p.dag -p acc=0.98 >out 2>err &&
	grep "clf v2 → production" out &&
	test "$(production)" = 2 &&
	current_is 2 &&
	test_path_is_missing models/candidates/clf/v2
'

test_expect_success 'with --keep-going, a monitor failing beside training blocks promotion too' '
	write_dag k.dag <<-\EOF &&
	pipeline "k" {}

	stage "train" {
	  run     = "mkdir -p kbuild && echo kweights >kbuild/model.txt && echo {\\\"accuracy\\\": 0.9} >kbuild/m.json"
	  outputs = ["kbuild/model.txt", "kbuild/m.json"]
	  metrics = "kbuild/m.json"
	}

	gate "promote" {
	  needs   = ["train"]
	  require = ["accuracy >= 0.85"]
	}

	model "kclf" {
	  artifact = "kbuild/model.txt"
	  gate     = "promote"
	}

	monitor "watch" {
	  run = "exit 3"
	}
	EOF
	test_expect_code 1 ntflow run k.dag --keep-going >out 2>err &&
	cat out &&
	grep "promote succeeded" out &&
	grep "kclf v1 → candidate (not promoted: run 7 failed: watch failed)" out &&
	test "$(status_of kclf 1)" = candidate
'

test_expect_success 'a cancelled run does not promote either' '
	write_dag c.dag <<-\EOF &&
	pipeline "c" {}

	stage "train" {
	  run     = "mkdir -p cbuild && echo cweights >cbuild/model.txt && echo {\\\"accuracy\\\": 0.9} >cbuild/m.json"
	  outputs = ["cbuild/model.txt", "cbuild/m.json"]
	  metrics = "cbuild/m.json"
	}

	gate "promote" {
	  needs   = ["train"]
	  require = ["accuracy >= 0.85"]
	}

	model "cclf" {
	  artifact = "cbuild/model.txt"
	  gate     = "promote"
	}

	monitor "slow" {
	  needs = ["promote"]
	  run   = "touch slow.started && exec sleep 60"
	}
	EOF
	{ ntflow run c.dag >out 2>err & } &&
	pid=$! &&
	wait_for_file slow.started &&
	kill -INT $pid &&
	{ wait $pid; rc=$?; } &&
	test $rc = 130 &&
	cat out &&
	grep "cclf v1 → candidate (not promoted: run 8 was cancelled)" out &&
	test "$(status_of cclf 1)" = candidate
'

test_done
