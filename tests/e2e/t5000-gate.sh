#!/bin/sh
# t5000-gate.sh: the promotion gate in real runs of a small shell-stage pipeline whose
# evaluate stage writes metrics from its parameters: a pass registers version 1 in
# production; accuracy below the threshold rejects (exit 3, status gated, deploy skipped
# naming the gate, version 2 a candidate) and `show` prints the gate as a table; a
# champion/challenger criterion against production.auc; a missing metric and a division by
# zero fail their criterion with a message; show --json carries the gates.
. "$(dirname "$0")/lib.sh"

# registry_status MODEL VERSION: the status in `ntflow registry list --json`, or none.
registry_status() {
	ntflow registry list --json >reg.json &&
	/usr/bin/python3 -c '
import json, sys
hit = [v for v in json.load(open("reg.json")) if v["model"] == sys.argv[1] and v["version"] == int(sys.argv[2])]
print(hit[0]["status"] if hit else "none")
' "$1" "$2"
}

# stage_field FILE NODE FIELD: a field of a node in `ntflow show --json`.
stage_field() {
	/usr/bin/python3 -c '
import json, sys
print([s for s in json.load(open(sys.argv[1]))["stages"] if s["name"] == sys.argv[2]][0][sys.argv[3]])
' "$@"
}

test_expect_success 'setup: a pipeline with a gate, a model and a deploy stage' '
	cat >evaluate.sh <<-\EOF &&
	#!/bin/sh
	# evaluate.sh ACC AUC ECE: metrics as a model evaluation would write them
	mkdir -p build/eval
	printf "{\"accuracy\": %s, \"auc\": %s, \"calib\": {\"ece\": %s}}\n" "$1" "$2" "$3" >build/eval/metrics.json
	EOF
	write_dag gated.dag <<-\EOF &&
	pipeline "gated" {
	  params {
	    acc = 0.9
	    auc = 0.9
	    ece = 0.05
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo model ${params.acc} ${params.auc} ${params.ece} >build/model.txt"
	  outputs = ["build/model.txt"]
	}

	stage "evaluate" {
	  needs   = ["train"]
	  run     = "sh evaluate.sh ${params.acc} ${params.auc} ${params.ece}"
	  outputs = ["build/eval/"]
	  metrics = "build/eval/metrics.json"
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = [
	    "accuracy >= 0.85",
	    "calib.ece <= 0.08",
	    "auc >= production.auc - 0.02",
	  ]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  metrics  = "build/eval/metrics.json"
	  gate     = "promote"
	}

	stage "deploy" {
	  needs = ["promote"]
	  run   = "echo deployed >deployed.txt"
	  cache = false
	}
	EOF
	printf "/.ntflow/\n/build/\n/models/\n/deployed.txt\n" >.gitignore &&
	git add . && git commit -q -m "pipeline"
'

test_expect_success 'metrics passing the gate: deploy runs, version 1 goes to production' '
	ntflow run gated.dag >out 2>err &&
	cat out err &&
	grep "^run 1 succeeded in .*: clf v1 → production (ntflow show 1 for details)$" out &&
	grep "promote succeeded" out &&
	test_path_is_file deployed.txt &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .gates[0].name)" = promote &&
	test "$(json_get show.json .gates[0].passed)" = true &&
	test "$(json_get show.json .gates[0].criteria[2].note)" = "no version in production: passes" &&
	test "$(json_get show.json .gates[0].criteria[2].threshold)" = null &&
	test "$(registry_status clf 1)" = production &&
	test_path_is_file models/current/clf/model.txt &&
	test_cmp build/model.txt models/current/clf/model.txt
'

test_expect_success 'accuracy below 0.85: exit 3, run gated, deploy skipped, version 2 a candidate' '
	rm -f deployed.txt &&
	test_expect_code 3 ntflow run gated.dag -p acc=0.8 >out 2>err &&
	cat out err &&
	grep "promote rejected: accuracy >= 0.85 (0.8 vs 0.85)$" out &&
	grep "deploy skipped: gate promote rejected$" out &&
	grep "^run 2 gated in .*: clf v2 → candidate " out &&
	test_path_is_missing deployed.txt &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = gated &&
	test "$(stage_field show.json promote state)" = rejected &&
	test "$(stage_field show.json deploy state)" = skipped &&
	test "$(stage_field show.json deploy reason)" = "gate promote rejected" &&
	test "$(registry_status clf 1)" = production &&
	test "$(registry_status clf 2)" = candidate &&
	test_path_is_file models/candidates/clf/v2/model.txt &&
	test_cmp build/model.txt models/candidates/clf/v2/model.txt &&
	! test_cmp build/model.txt models/current/clf/model.txt >/dev/null
'

test_expect_success 'show prints the gate as a table: criterion, value, threshold, verdict' '
	cat >expect <<-\EOF &&
	gate promote: rejected
	  CRITERION                     VALUE  THRESHOLD  VERDICT
	  accuracy >= 0.85              0.8    0.85       fail
	  calib.ece <= 0.08             0.05   0.08       pass
	  auc >= production.auc - 0.02  0.9    0.88       pass

	registered
	  clf v2  candidate

	in production
	  clf v1  its gate promote passed in run 1
	EOF
	ntflow show 2 >out &&
	sed -n "/^gate promote/,\$p" out >actual &&
	test_cmp expect actual
'

test_expect_success 'show --json: each criterion with its value, threshold, verdict and note' '
	ntflow show 2 --json >show.json &&
	test "$(json_get show.json .gates[0].passed)" = false &&
	test "$(json_get show.json .gates[0].criteria[0].expr)" = "accuracy >= 0.85" &&
	test "$(json_get show.json .gates[0].criteria[0].value)" = 0.8 &&
	test "$(json_get show.json .gates[0].criteria[0].threshold)" = 0.85 &&
	test "$(json_get show.json .gates[0].criteria[0].verdict)" = fail &&
	test "$(json_get show.json .gates[0].criteria[0].note)" = null &&
	test "$(json_get show.json .gates[0].criteria[1].verdict)" = pass &&
	test "$(json_get show.json .registered[0].version)" = 2
'

test_expect_success 'champion/challenger: an auc more than 0.02 below production is rejected' '
	test_expect_code 3 ntflow run gated.dag -p auc=0.87 >out 2>err &&
	cat out err &&
	grep "promote rejected: auc >= production.auc - 0.02 (0.87 vs 0.88)$" out &&
	test "$(registry_status clf 3)" = candidate &&
	test "$(registry_status clf 1)" = production
'

test_expect_success 'champion/challenger: within 0.02 of production passes and replaces it' '
	ntflow run gated.dag -p auc=0.89 >out 2>err &&
	cat out err &&
	grep "clf v4 → production" out &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .gates[0].criteria[2].value)" = 0.89 &&
	test "$(json_get show.json .gates[0].criteria[2].note)" = null &&
	test "$(registry_status clf 4)" = production &&
	test "$(registry_status clf 1)" = archived &&
	test_cmp build/model.txt models/current/clf/model.txt
'

test_expect_success 'setup: gates reading a metric nobody writes, and dividing by zero' '
	write_dag missing.dag <<-\EOF &&
	pipeline "missing" {
	}

	stage "evaluate" {
	  run     = "mkdir -p build/m && printf '"'"'{\"accuracy\": 0.9, \"zero\": 0}'"'"' >build/m/metrics.json"
	  outputs = ["build/m/"]
	  metrics = "build/m/metrics.json"
	}

	gate "check" {
	  needs   = ["evaluate"]
	  require = [
	    "accuracy >= 0.85",
	    "recall >= 0.5",
	    "accuracy / zero < 2",
	  ]
	}

	stage "after" {
	  needs = ["check"]
	  run   = "true"
	}
	EOF
	git add missing.dag && git commit -q -m "missing"
'

test_expect_success 'a missing metric fails its criterion and names the metric; so does division by zero' '
	test_expect_code 3 ntflow run missing.dag >out 2>err &&
	cat out err &&
	grep "check rejected: recall >= 0.5: metric .recall. is missing; accuracy / zero < 2: division by zero$" out &&
	grep "after skipped: gate check rejected$" out &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .gates[0].criteria[0].verdict)" = pass &&
	test "$(json_get show.json .gates[0].criteria[1].verdict)" = fail &&
	test "$(json_get show.json .gates[0].criteria[1].note)" = "metric '"'"'recall'"'"' is missing" &&
	test "$(json_get show.json .gates[0].criteria[1].value)" = null &&
	test "$(json_get show.json .gates[0].criteria[1].threshold)" = 0.5 &&
	test "$(json_get show.json .gates[0].criteria[2].note)" = "division by zero" &&
	ntflow show >out &&
	grep "^  recall >= 0.5  *-  *0.5  *fail  (metric .recall. is missing)$" out
'

test_done
