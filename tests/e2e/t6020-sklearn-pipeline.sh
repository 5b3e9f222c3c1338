#!/bin/sh
# t6020-sklearn-pipeline.sh: examples/sklearn/retrain-sklearn.dag, ordinary Python stages with
# Debian's scikit-learn, runs end to end in a fresh repository: the tuning matrix, the gate,
# the registry's production version, and a rerun that is entirely cached.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

if ! /usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1; then
	test_skip_all "Debian's python3-sklearn is not installed (scripts/setup.sh installs it)"
fi

test_expect_success 'setup: a repository holding the example' '
	mkdir examples &&
	cp -R "$NTFLOW_SRC_DIR/examples/sklearn" examples/ &&
	chmod -R u+w examples &&
	printf "/.ntflow/\n/data/\n/build/\n/models/\n" >.gitignore &&
	git add .gitignore examples &&
	git commit -q -m "the scikit-learn example" &&
	ntflow validate examples/sklearn/retrain-sklearn.dag &&
	ntflow fmt --check examples/sklearn/retrain-sklearn.dag
'

test_expect_success 'the pipeline succeeds and the gate passes' '
	ntflow run examples/sklearn/retrain-sklearn.dag --no-tui >out 2>err &&
	cat out err &&
	grep -E "^run 1 succeeded" out &&
	show_json 1 &&
	test "$(json_get show.json .run.status)" = succeeded &&
	test "$(stage_count show.json tune)" = 4 &&
	test "$(json_get show.json .gates[0].name)" = promote &&
	test "$(json_get show.json .gates[0].passed)" = true &&
	test "$(stage_field show.json evaluate state)" = succeeded
'

test_expect_success 'the metrics are a real model'"'"'s and the model file loads' '
	/usr/bin/python3 - <<-\EOF
	import json, pickle
	m = json.load(open("build/sklearn/eval/metrics.json"))
	assert m["n"] == 114, m
	assert m["accuracy"] >= 0.9 and m["auc"] >= 0.95 and m["ece"] <= 0.08, m
	for k in ("precision", "recall", "f1", "logloss", "brier"):
	    assert 0 <= m[k] <= 1, (k, m)
	model = pickle.load(open("build/sklearn/model/model.pkl", "rb"))
	assert type(model).__name__ == "LogisticRegression"
	EOF
'

test_expect_success 'the tuned C reached the train stage' '
	best=$(/usr/bin/python3 -c "
import glob, json
ms = [json.load(open(f)) for f in glob.glob(\"build/sklearn/tune/*/metrics.json\")]
assert len(ms) == 4
print(min(ms, key=lambda m: m[\"val_logloss\"])[\"C\"])") &&
	test "$(json_get build/sklearn/model/metrics.json .C)" = "$best"
'

test_expect_success 'nothing was written into the source tree' '
	git status --porcelain -- examples >status &&
	test_must_be_empty status
'

test_expect_success 'version 1 of the model is in production' '
	grep -E "^run 1 succeeded .*breast-cancer-clf v1 \S+ production" out &&
	ntflow registry list --json >reg.json &&
	/usr/bin/python3 - <<-\EOF
	import json
	vs = json.load(open("reg.json"))
	assert [(v["model"], v["version"], v["status"]) for v in vs] == [("breast-cancer-clf", 1, "production")], vs
	assert vs[0]["metrics"]["n"] == 114, vs[0]
	EOF
	cmp build/sklearn/model/model.pkl models/current/breast-cancer-clf/model.pkl
'

test_expect_success 'a second run reruns nothing' '
	ntflow run examples/sklearn/retrain-sklearn.dag --no-tui >out2 2>err2 &&
	cat out2 err2 &&
	grep -E "^run 2 succeeded .*breast-cancer-clf v1 unchanged" out2 &&
	show_json 2 &&
	/usr/bin/python3 -c "
import json
doc = json.load(open(\"show.json\"))
ran = [s[\"name\"] for s in doc[\"stages\"] if s[\"kind\"] != \"gate\" and s[\"state\"] != \"cached\"]
assert not ran, ran
" &&
	test_path_is_missing .ntflow/logs/2
'

test_done
