#!/bin/sh
# t6030-retrain.sh: the shipped dags/retrain.dag end to end in a fresh repository with the
# build's ntml: a week that passes the gate and is deployed, a rerun that is entirely cached,
# a change to the training code that reruns only training, and a week of the concept drift
# whose model the gate rejects (exit 3, a candidate).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# not_cached SHOW_JSON: the names of the stages and monitors that did not come from the cache.
not_cached() {
	/usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join(sorted(s["name"].split("[")[0] for s in doc["stages"]
                      if s["kind"] != "gate" and s["state"] != "cached")))
' "$1"
}

# registry_status MODEL VERSION: the status of a version in `ntflow registry list --json`.
registry_status() {
	ntflow registry list --json >reg.json &&
	/usr/bin/python3 -c '
import json, sys
hit = [v for v in json.load(open("reg.json"))
       if v["model"] == sys.argv[1] and v["version"] == int(sys.argv[2])]
print(hit[0]["status"] if hit else "none")
' "$1" "$2"
}

# gate_verdicts SHOW_JSON: "passed" or "rejected", then each criterion's verdict.
gate_verdicts() {
	/usr/bin/python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["gates"]
assert len(g) == 1 and g[0]["name"] == "promote", g
print("passed" if g[0]["passed"] else "rejected", *[c["verdict"] for c in g[0]["criteria"]])
' "$1"
}

test_expect_success 'setup: a repository holding the pipeline and the ntml sources' '
	shipped_pipeline_repo &&
	ntflow validate dags/retrain.dag &&
	ntflow fmt --check dags/retrain.dag &&
	command -v ntml
'

# 2026-W48: the new fraud pattern alone, learnt as well as the old one was.
test_expect_success 'a week after the drift: the run succeeds, the gate passes, the model is deployed' '
	ntflow run dags/retrain.dag --date 2026-11-23 --no-tui >out 2>err &&
	cat out err &&
	grep -E "^run 1 succeeded" out &&
	show_json 1 &&
	test "$(json_get show.json .run.status)" = succeeded &&
	test "$(json_get show.json .run.logical_date)" = 2026-11-23 &&
	test "$(stage_count show.json tune)" = 6 &&
	test "$(gate_verdicts show.json)" = "passed pass pass pass pass" &&
	grep -E "^run 1 succeeded in .*: fraud-clf v1 \S+ production" out &&
	tail -n 9 out >end &&
	grep "^gate promote: passed$" end &&
	grep -E "^  accuracy >= 0.85 +0.9185 +0.85 +pass$" end &&
	grep "^next: ntflow registry list (model versions); ntflow alerts (2 new);" end &&
	test "$(stage_field show.json deploy state)" = succeeded &&
	test_path_is_file data/weekly/2026-W48.csv &&
	test_path_is_file data/reference.csv &&
	cmp build/model/model.json models/serving/fraud-clf.json
'

test_expect_success 'the metrics are on record: test metrics and the drift from the reference week' '
	/usr/bin/python3 - <<-\EOF
	import json
	doc = json.load(open("show.json"))
	m = {s["name"]: s["metrics"] for s in doc["stages"]}
	ev, dr = m["evaluate"], m["drift"]
	assert ev["accuracy"] >= 0.85 and ev["ece"] <= 0.08 and ev["auc"] >= 0.9, ev
	assert ev["n"] == 2000, ev
	# amount has drifted far from 2026-W36 by 2026-W48 (examples/ml/README.md)
	assert dr["max_psi"] > 0.25 and dr["features.amount.psi"] == dr["max_psi"], dr
	EOF
'

test_expect_success 'the tuning winner trained the model' '
	/usr/bin/python3 - <<-\EOF
	import glob, json
	tuned = [json.load(open(f)) for f in glob.glob("build/tune/*/metrics.json")]
	assert len(tuned) == 6, tuned
	best = max(tuned, key=lambda t: t["val_auc"])
	model = json.load(open("build/model/metrics.json"))
	assert abs(model["val_auc"] - best["val_auc"]) < 1e-12, (model, best)
	EOF
'

test_expect_success 'fraud-clf version 1 is in production' '
	test "$(registry_status fraud-clf 1)" = production &&
	test_path_is_file models/current/fraud-clf/model.json &&
	cmp build/model/model.json models/current/fraud-clf/model.json
'

test_expect_success 'the drift monitor raised a high and a medium alert' '
	ntflow alerts --json >alerts.json &&
	/usr/bin/python3 - <<-\EOF
	import json
	got = sorted((a["run_id"], a["monitor"], a["rule"], a["severity"]) for a in json.load(open("alerts.json")))
	assert got == [(1, "drift", "feature-shift", "high"), (1, "drift", "feature-wobble", "medium")], got
	EOF
'

test_expect_success 'a second run reruns nothing, fast' '
	start=$(now) &&
	ntflow run dags/retrain.dag --date 2026-11-23 --no-tui >out 2>err &&
	took=$(seconds_since "$start") &&
	cat out err &&
	echo "took $took s" &&
	grep -E "^run 2 succeeded .*fraud-clf v1 unchanged" out &&
	show_json 2 &&
	test "$(not_cached show.json)" = "" &&
	test_path_is_missing .ntflow/logs/2 &&
	num_lt "$took" 3
'

test_expect_success 'a change to the training code reruns training, never ingestion' '
	echo "/* a comment */" >>examples/ml/logreg.c &&
	git commit -q -am "logreg: a comment" &&
	ntflow run dags/retrain.dag --date 2026-11-23 --no-tui >out 2>err &&
	show_json 3 &&
	echo "evaluate train tune tune tune tune tune tune" >expect &&
	not_cached show.json >actual &&
	test_cmp expect actual
'

# 2026-W43: both fraud patterns mixed; no linear model reaches 0.85 accuracy.
test_expect_success 'a week of the concept drift: the gate rejects the model, exit 3' '
	test_expect_code 3 ntflow run dags/retrain.dag --date 2026-10-19 --no-tui >out 2>err &&
	cat out err &&
	show_json 4 &&
	test "$(json_get show.json .run.status)" = gated &&
	test "$(gate_verdicts show.json)" = "rejected fail pass fail pass" &&
	test "$(stage_field show.json deploy state)" = skipped &&
	test_path_is_file data/weekly/2026-W43.csv &&
	! cmp -s build/model/model.json models/serving/fraud-clf.json
'

test_expect_success 'the rejected model is candidate version 2; version 1 stays in production' '
	grep -E "^run 4 gated in .*: fraud-clf v2 \S+ candidate" out &&
	test "$(registry_status fraud-clf 1)" = production &&
	test "$(registry_status fraud-clf 2)" = candidate &&
	test "$(registry_status fraud-clf 3)" = none &&
	cmp build/model/model.json models/candidates/fraud-clf/v2/model.json &&
	! cmp -s build/model/model.json models/current/fraud-clf/model.json
'

test_expect_success 'examples/simulate-weeks.sh: two weeks of the drift, both rejected, alerts growing' '
	cp "$NTFLOW_SRC_DIR/examples/simulate-weeks.sh" examples/ &&
	NTFLOW=ntflow sh examples/simulate-weeks.sh --from 2026-10-26 --weeks 2 >sim 2>&1 &&
	cat sim &&
	grep "^backfill: 2 intervals of retrain from 2026-11-01T00:00:00Z to 2026-11-15T00:00:00Z$" sim &&
	grep -E "^2026-11-01 +5 +gated +failed +fraud-clf v3 candidate +1 \(medium\)$" sim &&
	grep -E "^2026-11-08 +6 +gated +failed +fraud-clf v4 candidate +2 \(high\)$" sim &&
	grep -E "^ +5 +2026-11-01 +evaluate +auc +0.80666" sim &&
	grep -E "^ +6 +2026-11-08 +drift +max_psi +0.27447" sim &&
	test "$(registry_status fraud-clf 1)" = production
'

test_done
