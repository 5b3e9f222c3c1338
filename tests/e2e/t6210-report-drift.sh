#!/bin/sh
# t6210-report-drift.sh: `ntflow report drift` on the shipped dags/retrain.dag over a simulated
# quarter (September to November 2026, and the August before it as a second stable month), one
# cohort per month (cohort = "${run.month}"), run by examples/simulate-weeks.sh. The JSON has
# every documented field; each cohort's counts and means agree with what the runs recorded;
# the has-drift verdict follows the data of examples/ml (README: the fraud pattern changes
# from 2026-W40, so a window of August and September is stable and one of September and
# October is not), checked against the metrics themselves; the page holds the cohort table
# and passes tidy; an empty window is an empty report; a bad date exits 2.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
test -x "$PY" || PY=$(command -v python3) || PY=
test -n "$PY" && test_set_prereq PYTHON3
command -v tidy >/dev/null 2>&1 && test_set_prereq TIDY

test_expect_success 'setup: the shipped pipeline, one cohort per month, and a simulated quarter' '
	mkdir -p dags examples/ml &&
	cp "$NTFLOW_SRC_DIR/dags/retrain.dag" dags/ &&
	cp "$NTFLOW_SRC_DIR"/examples/ml/*.c "$NTFLOW_SRC_DIR"/examples/ml/*.h \
		"$NTFLOW_SRC_DIR"/examples/ml/deploy.sh "$NTFLOW_SRC_DIR/examples/simulate-weeks.sh" examples/ml/ &&
	mv examples/ml/simulate-weeks.sh examples/ &&
	chmod -R u+w dags examples &&
	# one cohort per month of the logical date, unless the shipped file sets its own
	if ! grep -q "^  cohort *=" dags/retrain.dag; then
		sed -i "s/^  concurrency = 2 .*/&\n  cohort      = \"\${run.month}\"/" dags/retrain.dag
	fi &&
	grep -q "^  cohort *= *\"\${run.month}\"" dags/retrain.dag &&
	grep -q "drift_report" dags/retrain.dag &&
	printf "/.ntflow/\n/data/\n/build/\n/models/\n" >.gitignore &&
	git add .gitignore dags examples &&
	git commit -q -m "the retraining pipeline" &&
	ntflow validate dags/retrain.dag &&
	NTFLOW=ntflow sh examples/simulate-weeks.sh --from 2026-08-03 --weeks 16 >sim 2>&1 || {
		rc=$?; cat sim; test $rc = 3; } &&
	grep "^backfill: 16 intervals of retrain from 2026-08-09T00:00:00Z" sim &&
	ntflow metrics --pipeline retrain --node evaluate --json >metrics.json &&
	ntflow runs --json >runs.json
'

# check.py REPORT.json: every documented field, with its type, and no other (ntflow(1), JSON
# OUTPUT, report-drift); then each cohort against the runs' records (runs.json, metrics.json).
test_expect_success PYTHON3 'setup: the checker of the JSON' '
	cat >check.py <<-\EOF
	import json, re, sys
	rep = json.load(open(sys.argv[1]))
	dag = open("dags/retrain.dag").read()
	runs = {r["id"]: r for r in json.load(open("runs.json"))}
	mets = json.load(open("metrics.json"))
	num = (int, float)
	def keys(o, want, where):
	    assert isinstance(o, dict), where
	    assert set(o) == set(want), "%s: %s, not %s" % (where, sorted(o), sorted(want))
	keys(rep, ["schema", "pipeline", "from", "to", "has_drift", "tracked", "cohorts",
	           "comparisons", "recommendations"], "report")
	assert rep["schema"] == 1 and rep["pipeline"] == "retrain", rep
	assert isinstance(rep["has_drift"], bool)
	tol = {}
	for t in rep["tracked"]:
	    keys(t, ["metric", "tolerance"], "tracked")
	    tol[t["metric"]] = t["tolerance"]
	assert tol == {"accuracy": 0.02, "auc": 0.02, "ece": 0.01}, tol
	value = {}
	for m in mets:
	    if m["name"] in tol:
	        value[(m["run_id"], m["name"])] = m["value"]
	means = {}
	for c in rep["cohorts"]:
	    keys(c, ["cohort", "first_date", "last_date", "run_ids", "actions", "violations",
	             "risk", "metrics"], "cohort")
	    ids = c["run_ids"]
	    # the cohort is the month of its runs logical dates, all within the window
	    for i in ids:
	        d = runs[i]["logical_date"]
	        assert d[:7] == c["cohort"] and rep["from"] <= d <= rep["to"], (c["cohort"], d)
	    assert c["first_date"] == min(runs[i]["logical_date"] for i in ids)
	    assert c["last_date"] == max(runs[i]["logical_date"] for i in ids)
	    a = c["actions"]
	    keys(a, ["runs", "promoted", "gated", "failed"], "actions")
	    assert a["runs"] == len(ids)
	    assert a["gated"] == sum(runs[i]["status"] == "gated" for i in ids), a
	    assert a["failed"] == sum(runs[i]["status"] in ("failed", "cancelled", "crashed") for i in ids)
	    # every run that passed its gate in this quarter was promoted
	    assert a["promoted"] == sum(runs[i]["status"] == "succeeded" for i in ids), a
	    v = c["violations"]
	    keys(v, ["total", "runs", "by_severity", "by_type"], "violations")
	    keys(v["by_severity"], ["low", "medium", "high"], "by_severity")
	    assert sum(v["by_severity"].values()) == v["total"]
	    assert sum(t["count"] for t in v["by_type"]) == v["total"]
	    for t in v["by_type"]:
	        keys(t, ["type", "count", "runs", "by_severity"], "by_type")
	        keys(t["by_severity"], ["low", "medium", "high"], "by_type.by_severity")
	        assert sum(t["by_severity"].values()) == t["count"] and 0 < t["runs"] <= a["runs"]
	    # a gated run is one with a failed criterion: a violation
	    assert v["runs"] == a["gated"], (c["cohort"], v, a)
	    r = c["risk"]
	    keys(r, ["mean", "scored", "tiers"], "risk")
	    keys(r["tiers"], ["low", "normal", "high", "elevated"], "tiers")
	    assert sum(r["tiers"].values()) <= a["runs"] and r["scored"] <= a["runs"]
	    assert (r["mean"] is None) == (r["scored"] == 0)
	    # the shipped gate types its criteria (accuracy >= 0.85: low_accuracy, high below 0.70;
	    # ece <= 0.08: calibration, high above 0.15) and scores risk as 1 - accuracy with tiers
	    # 0.05, 0.15, 0.30: the statistics follow from the metrics
	    acc = {i: value[(i, "accuracy")] for i in ids if (i, "accuracy") in value}
	    ece = {i: value[(i, "ece")] for i in ids if (i, "ece") in value}
	    types = {t["type"]: t for t in v["by_type"]}
	    if re.search("violation *= *\"low_accuracy\"", dag):
	        bad = [x for x in acc.values() if x < 0.85]
	        t = types.get("low_accuracy", {"runs": 0, "by_severity": {"high": 0}})
	        assert t["runs"] == len(bad), (c["cohort"], t, bad)
	        assert t["by_severity"]["high"] == sum(x < 0.70 for x in bad)
	    if re.search("violation *= *\"calibration\"", dag):
	        bad = [x for x in ece.values() if x > 0.08]
	        assert types.get("calibration", {"runs": 0})["runs"] == len(bad), (c["cohort"], bad)
	    if re.search("score *= *\"1 - accuracy\"", dag):
	        assert r["scored"] == len(acc) and abs(r["mean"] - sum(1 - x for x in acc.values()) / len(acc)) < 1e-9
	        tier = lambda x: "low" if x <= 0.05 else "normal" if x <= 0.15 else "high" if x <= 0.30 else "elevated"
	        for name in r["tiers"]:
	            assert r["tiers"][name] == sum(tier(1 - x) == name for x in acc.values()), (c["cohort"], r)
	    keys(c["metrics"], list(tol), "metrics")
	    for name, e in c["metrics"].items():
	        keys(e, ["mean", "runs"], "metrics." + name)
	        xs = [value[(i, name)] for i in ids if (i, name) in value]
	        assert e["runs"] == len(xs) and abs(e["mean"] - sum(xs) / len(xs)) < 1e-9, (name, e, xs)
	    means[c["cohort"]] = {n: e["mean"] for n, e in c["metrics"].items()}
	order = [c["cohort"] for c in rep["cohorts"]]
	assert order == sorted(order), order
	want = [(order[i - 1], order[i], "consecutive") for i in range(1, len(order))] + \
	       [(order[0], order[i], "baseline") for i in range(2, len(order))]
	got = []
	drift = False
	for k in rep["comparisons"]:
	    keys(k, ["from", "to", "kind", "has_drift", "metrics"], "comparison")
	    got.append((k["from"], k["to"], k["kind"]))
	    any_m = False
	    for m in k["metrics"]:
	        keys(m, ["metric", "from", "to", "delta", "tolerance", "drift"], "comparison.metric")
	        a, b = means[k["from"]][m["metric"]], means[k["to"]][m["metric"]]
	        assert abs(m["from"] - a) < 1e-12 and abs(m["to"] - b) < 1e-12
	        assert abs(m["delta"] - (b - a)) < 1e-9 and m["tolerance"] == tol[m["metric"]]
	        # the verdict, from the metrics themselves
	        assert m["drift"] == (abs(b - a) > tol[m["metric"]]), m
	        any_m = any_m or m["drift"]
	    assert k["has_drift"] == any_m
	    drift = drift or any_m
	assert got == want, (got, want)
	assert rep["has_drift"] == drift
	for r in rep["recommendations"]:
	    keys(r, ["rule", "cohort", "text"], "recommendation")
	    assert r["rule"].split(":")[0] in ("violation", "tier", "drift") and r["cohort"] in order, r
	print(" ".join(order), "drift" if rep["has_drift"] else "stable")
	EOF
'

test_expect_success PYTHON3 'the whole quarter: four cohorts, every documented field, counts and means from the runs' '
	ntflow report drift --from 2026-08-01 --to 2026-11-30 --json >all.json &&
	"$PY" check.py all.json >verdict &&
	echo "2026-08 2026-09 2026-10 2026-11 drift" >expect &&
	test_cmp expect verdict
'

test_expect_success PYTHON3 'August and September, before the fraud pattern changes: no drift' '
	ntflow report drift --from 2026-08-01 --to 2026-09-30 --json >stable.json &&
	"$PY" check.py stable.json >verdict &&
	echo "2026-08 2026-09 stable" >expect &&
	test_cmp expect verdict &&
	test "$(jq ".comparisons | length" stable.json)" = 1 &&
	test "$(jq "[.recommendations[] | select(.rule | startswith(\"drift:\"))] | length" stable.json)" = 0
'

test_expect_success PYTHON3 'September and October, across the change (2026-W40 on): drift in accuracy and auc' '
	ntflow report drift --from 2026-09-01 --to 2026-10-31 --pipeline retrain --json >across.json &&
	"$PY" check.py across.json >verdict &&
	echo "2026-09 2026-10 drift" >expect &&
	test_cmp expect verdict &&
	jq -r ".comparisons[0].metrics[] | select(.drift) | .metric" across.json >drifted &&
	grep -x accuracy drifted &&
	grep -x auc drifted &&
	jq -r ".recommendations[] | select(.rule == \"drift:accuracy\") | .text" across.json >rec &&
	grep "^accuracy moved by -0\.0[0-9]* from cohort 2026-09 to cohort 2026-10 (tolerance 0.02): retrain" rec &&
	test "$(jq ".cohorts[1].actions.gated" across.json)" = 4 &&
	test "$(jq ".cohorts[0].actions.promoted" across.json)" = 3 &&
	# 2026-W38 (in September) fails the shipped fairness criterion (examples/ml/README.md)
	test "$(jq ".cohorts[0].actions.gated" across.json)" = 1
'

test_expect_success 'the text report says so' '
	ntflow report drift --from 2026-09-01 --to 2026-10-31 >across.txt &&
	grep "^Cohort drift report of retrain, 2026-09-01 \.\. 2026-10-31$" across.txt &&
	grep "^COHORT  *DATES  *RUNS  *PROMOTED  *GATED" across.txt &&
	grep "^2026-10  *2026-10-04\.\.2026-10-25  *4  *0  *4 " across.txt &&
	grep "^Has drift: yes$" across.txt &&
	ntflow report drift --from 2026-08-01 --to 2026-09-30 >stable.txt &&
	grep "^Has drift: no$" stable.txt
'

test_expect_success TIDY 'report drift --html: the cohort table on one page, tidy finds no error' '
	ntflow report drift --from 2026-08-01 --to 2026-11-30 --html drift.html >out &&
	grep "^wrote drift.html: 4 cohorts from 2026-08-01 to 2026-11-30" out &&
	tidy -e -q drift.html &&
	grep -c "<td class=\"cohort\">2026-" drift.html >rows &&
	echo 4 >expect &&
	test_cmp expect rows &&
	grep "<table class=\"cohorts\">" drift.html &&
	grep "<p class=\"verdict fail\">Has drift: yes</p>" drift.html &&
	! grep -i "<script" drift.html &&
	ntflow report drift --from 2026-08-01 --to 2026-09-30 --html - >stable.html &&
	tidy -e -q stable.html &&
	grep "Has drift: no" stable.html
'

test_expect_success 'a window without runs: an empty report, exit 0' '
	ntflow report drift --from 2027-01-01 --to 2027-01-31 >empty.txt &&
	grep "^no runs with a logical date from 2027-01-01 to 2027-01-31$" empty.txt &&
	ntflow report drift --from 2027-01-01 --to 2027-01-31 --json >empty.json &&
	test "$(jq -c "[.cohorts, .comparisons, .recommendations, .tracked, .has_drift]" empty.json)" = "[[],[],[],[],false]"
'

test_expect_success 'bad dates and windows: a clear error, exit 2' '
	test_expect_code 2 ntflow report drift --from 2026-02-30 --to 2026-03-31 2>err &&
	grep "^ntflow report drift: --from wants a date YYYY-MM-DD, not .2026-02-30.$" err &&
	test_expect_code 2 ntflow report drift --from 2026-09-01 --to last-week 2>err &&
	grep "^ntflow report drift: --to wants a date YYYY-MM-DD, not .last-week.$" err &&
	test_expect_code 2 ntflow report drift --from 2026-10-01 --to 2026-09-01 2>err &&
	grep "ends (2026-09-01) before it begins (2026-10-01)" err &&
	test_expect_code 2 ntflow report drift --to 2026-09-01 2>err &&
	grep "say which logical dates" err &&
	test_expect_code 2 ntflow report drift --from 2026-09-01 --to 2026-10-01 --json --html x.html 2>err &&
	test_path_is_missing x.html
'

test_done
