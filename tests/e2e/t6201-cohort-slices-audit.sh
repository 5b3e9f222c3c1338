#!/bin/sh
# t6201-cohort-slices-audit.sh: follow-ups to cohorts and violations (issue 20). A criterion's
# severe_when and the risk score read slice functions as the gate does (max_gap over a
# metrics file's "slices"); a cohort that is too long, or not valid UTF-8, is refused with
# a short quote and the rule, from --cohort and from the pipeline's template; a violation's
# audit record names the model version the run registered, and the chain still verifies.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
test -x "$PY" || PY=$(command -v python3) || PY=
test -n "$PY" && test_set_prereq PYTHON3

test_expect_success 'setup: a pipeline whose fairness gap is 0.5' '
	git init -q &&
	cat >m.src <<-\EOF &&
	{"accuracy": 0.9, "slices": {"region=EU": {"accuracy": 0.9}, "region=APAC": {"accuracy": 0.4}}}
	EOF
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  cohort = "${params.arm}"
	  params {
	    arm = "a"
	  }
	  risk {
	    score = "max_gap(accuracy)"
	    tiers {
	      low    = 0.05
	      normal = 0.1
	      high   = 0.3
	    }
	  }
	}
	stage "evaluate" {
	  run     = "cp m.src m.json && echo weights >model.bin"
	  outputs = ["m.json", "model.bin"]
	  metrics = "m.json"
	}
	gate "promote" {
	  needs = ["evaluate"]
	  criterion {
	    require     = "max_gap(accuracy) <= 0.1"
	    violation   = "fairness"
	    severe_when = "max_gap(accuracy) > 0.2"
	  }
	}
	model "clf" {
	  artifact = "model.bin"
	  metrics  = "m.json"
	  gate     = "promote"
	}
	EOF
	git add m.src p.dag && git commit -q -m p &&
	ntflow validate p.dag
'

test_expect_success 'severe_when and the risk score read max_gap: a high violation, score 0.5, two alerts' '
	test_expect_code 3 ntflow run p.dag --date 2026-11-02 --no-tui >out 2>err &&
	cat out err &&
	! grep "risk score" err &&
	grep "^alert promote/violation:fairness high: " out &&
	grep "^alert promote/risk:elevated high: risk elevated: max_gap(accuracy) = 0.5 > 0.3$" out &&
	ntflow violations --json >v.json &&
	test "$(json_get v.json [0].severity)" = high &&
	test "$(json_get v.json [0].type)" = fairness &&
	ntflow runs --json >runs.json &&
	test "$(json_get runs.json [0].risk_score)" = 0.5 &&
	test "$(json_get runs.json [0].risk_tier)" = elevated
'
test_expect_success PYTHON3 'the audit chain names the model version of each violation, as violations --json does' '
	ntflow violations --json >v.json &&
	test "$(json_get v.json [0].model)" = clf &&
	test "$(json_get v.json [0].version)" = 1 &&
	ntflow audit show --json >audit.json &&
	"$PY" - <<-\EOF &&
	import json
	a = json.load(open("audit.json"))
	recs = a["records"] if isinstance(a, dict) else a
	def payload(r):
	    p = r["payload"]
	    return json.loads(p) if isinstance(p, str) else p
	kinds = [r["kind"] for r in recs if r["run_id"] == 1]
	assert kinds.index("violation") < kinds.index("violation-model"), kinds
	vm = [payload(r) for r in recs if r["kind"] == "violation-model"]
	assert vm == [{"pipeline": "p", "gate": "promote", "criterion": 0, "type": "fairness",
	               "model": "clf", "version": 1}], vm
	EOF
	ntflow audit verify
'

test_expect_success 'a 10 KB cohort expansion is refused quoting 64 bytes and the rule' '
	test_expect_code 2 ntflow run p.dag -p arm="$(printf "%010240d" 7)" --no-tui >out 2>err &&
	cat err &&
	test "$(wc -c <err)" -lt 400 &&
	q=$(printf "%064d" 0) &&
	grep -F "cannot name the run'\''s cohort \"$q…\": a cohort is at most 128 bytes, not 10240 (a cohort is 1 to 128 bytes of valid UTF-8 with no control characters)" err &&
	ntflow runs --json >runs.json &&
	test "$(grep -c "\"id\":" runs.json)" = 1
'

test_expect_success 'a cohort that is not UTF-8 is refused, from --cohort and from the template' '
	test_expect_code 2 ntflow run p.dag --cohort "$(printf "\377\376")" --no-tui 2>err &&
	cat err &&
	grep "ntflow: --cohort: a cohort must be valid UTF-8, byte 1 is 0xff (a cohort is 1 to 128 bytes" err &&
	test_expect_code 2 ntflow backfill p.dag --from 2026-11-01 --to 2026-11-08 --cohort "$(printf "ok\300\257")" 2>err &&
	grep "backfill: --cohort: a cohort must be valid UTF-8, byte 3 is 0xc0" err &&
	test_expect_code 2 ntflow run p.dag -p arm="$(printf "arm-\377")" --no-tui 2>err &&
	cat err &&
	grep -F "cannot name the run'\''s cohort \"arm-\\xff\": a cohort must be valid UTF-8, byte 5 is 0xff" err &&
	test_expect_code 2 ntflow run p.dag -p arm="$(printf "arm-\302\205")" --no-tui 2>err &&
	grep -F "cohort \"arm-\\xc2\\x85\": a cohort cannot hold control characters, byte 5 is one" err &&
	test_expect_code 3 ntflow run p.dag --cohort "région Île" --date 2026-11-09 --no-tui >out 2>&1 &&
	ntflow runs --json >runs.json &&
	grep "\"cohort\":[[:space:]]*\"région Île\"" runs.json
'

test_done
