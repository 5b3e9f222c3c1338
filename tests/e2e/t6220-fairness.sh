#!/bin/sh
# t6220-fairness.sh: fairness across data slices. The shipped dags/retrain.dag over the weeks
# around 2026-W38, in which ntml gen degrades the APAC region's labels: its fairness criterion
# max_gap(accuracy) <= 0.10 rejects that week and passes the weeks before and after, show and
# why name the regions, and the per-region metrics agree with examples/sklearn's (scikit-learn).
# Then, on small pipelines: a slice function without slices fails the gate with a note,
# validate checks the functions' names and arity at file:line:col, and a badly shaped
# "slices" fails its stage clearly.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# fairness SHOW_JSON: the fairness criterion's verdict, value and note.
fairness() {
	/usr/bin/python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["gates"][0]
c = [c for c in g["criteria"] if c["expr"].startswith("max_gap(")]
assert len(c) == 1, g
print(c[0]["verdict"], "%.4f" % c[0]["value"], c[0]["threshold"], c[0]["note"])
' "$1"
}

test_expect_success 'setup: a repository holding the pipeline and the ntml sources' '
	shipped_pipeline_repo &&
	grep -F "\"max_gap(accuracy) <= 0.10\"" dags/retrain.dag &&
	ntflow validate dags/retrain.dag
'

test_expect_success 'ntml gen: a region column, APAC degraded in 2026-W38 only' '
	ntml gen --week 2026-W38 --rows 4000 --out w38.csv >/dev/null &&
	ntml gen --week 2026-W39 --rows 4000 --out w39.csv >/dev/null &&
	head -n 1 w38.csv | grep ",label,region\$" &&
	/usr/bin/python3 - <<-\EOF
	import csv
	for f in ("w38.csv", "w39.csv"):
	    rows = list(csv.DictReader(open(f)))
	    regions = sorted(set(r["region"] for r in rows))
	    assert regions == ["APAC", "EU", "US"], regions
	    share = sum(r["region"] == "APAC" for r in rows) / len(rows)
	    assert 0.17 < share < 0.23, share
	EOF
'

# 2026-W37, W38, W39: the weeks around the degraded one (examples/ml/README.md).
test_expect_success 'the week around the degraded one: W37 passes the fairness criterion' '
	ntflow run dags/retrain.dag --date 2026-09-13 --no-tui >out 2>err &&
	show_json 1 && fairness show.json >f1 && cat f1 &&
	grep "^pass 0.0146 0.1 max_gap(accuracy): lowest region=" f1 &&
	test "$(json_get show.json .gates[0].passed)" = true
'

test_expect_success 'the degraded week W38: the fairness criterion rejects it and names the regions' '
	test_expect_code 3 ntflow run dags/retrain.dag --date 2026-09-20 --no-tui >out 2>err &&
	cat out err &&
	show_json 2 && fairness show.json >f2 && cat f2 &&
	grep "^fail 0.1665 0.1 max_gap(accuracy): lowest region=APAC 0.742169, highest region=US 0.908621\$" f2 &&
	test "$(json_get show.json .gates[0].passed)" = false &&
	grep -E "^  max_gap\(accuracy\) <= 0.10 +0.166452 +0.1 +fail  \(max_gap\(accuracy\): lowest region=APAC" out &&
	grep "max_gap(accuracy) <= 0.10 (0.166452 vs 0.1; max_gap(accuracy): lowest region=APAC 0.742169" out
'

test_expect_success 'the week after, W39, passes again' '
	ntflow run dags/retrain.dag --date 2026-09-27 --no-tui >out 2>err &&
	show_json 3 && fairness show.json >f3 && cat f3 &&
	grep "^pass 0.0172 0.1 " f3 &&
	test "$(json_get show.json .gates[0].passed)" = true
'

test_expect_success 'show, why, metrics and the report list each slice and which slices gave the gap' '
	ntflow show 2 >show.txt &&
	for r in APAC EU US; do
		grep -E "^  evaluate +accuracy\[region=$r\] +0\.[0-9]+\$" show.txt || return 1
	done &&
	grep -E "^  evaluate +accuracy\[region=APAC\] +0.7421686747\$" show.txt &&
	grep "max_gap(accuracy) <= 0.10     0.166452   0.1        fail  (max_gap(accuracy): lowest region=APAC 0.742169, highest region=US 0.908621)" show.txt &&
	ntflow why 2 promote >why.txt 2>&1; cat why.txt &&
	grep "lowest region=APAC 0.742169, highest region=US 0.908621" why.txt &&
	ntflow metrics --pipeline retrain --node evaluate --name "accuracy[region=APAC]" >m.txt &&
	cat m.txt &&
	test_line_count = 4 m.txt &&
	grep -E "^  2  2026-09-20  evaluate  accuracy\[region=APAC\]  0.7421686747\$" m.txt &&
	ntflow report 2 --html r.html &&
	for r in APAC EU US; do
		grep -F "accuracy[region=$r]</td>" r.html || return 1
	done &&
	grep -F "max_gap(accuracy): lowest region=APAC 0.742169, highest region=US 0.908621" r.html
'

test_expect_success SKLEARN 'the per-region metrics agree with examples/sklearn on the same rows' '
	ntml predict --model build/model/model.json --in build/prep/test.csv --out p.csv &&
	SKLEARN_DIR="$NTFLOW_SRC_DIR/examples/sklearn" /usr/bin/python3 - <<-\EOF
	import csv, json, os, sys
	sys.path.insert(0, os.environ["SKLEARN_DIR"])
	from common import read_csv, read_slices
	from evaluate import slices_of
	_, _, y = read_csv("build/prep/test.csv")
	regions = read_slices("build/prep/test.csv")
	p = [float(r["p"]) for r in csv.DictReader(open("p.csv"))]
	want = slices_of(y, p, regions)
	got = json.load(open("build/eval/metrics.json"))["slices"]
	assert sorted(got) == sorted(want) == ["region=APAC", "region=EU", "region=US"], (got, want)
	for s in sorted(want):
	    assert sorted(got[s]) == sorted(want[s]), (s, got[s], want[s])
	    for k in sorted(want[s]):
	        print("%-11s %-9s ntml %.12f sklearn %.12f" % (s, k, got[s][k], want[s][k]))
	        assert abs(got[s][k] - want[s][k]) <= 1e-9, (s, k)
	EOF
'

test_expect_success 'a slice function without slices fails the gate with a note, never passes' '
	mkdir flat && cd flat && git init -q &&
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}
	stage "m" {
	  run     = "echo {\\\"accuracy\\\": 0.9} > m.json"
	  outputs = ["m.json"]
	  metrics = "m.json"
	}
	gate "g" {
	  needs   = ["m"]
	  require = ["accuracy >= 0.5", "max_gap(accuracy) <= 0.1"]
	}
	EOF
	git add p.dag && git commit -q -m p &&
	test_expect_code 3 ntflow run p.dag --no-tui >out 2>err &&
	cat out err &&
	grep -F "max_gap(accuracy) <= 0.1: max_gap(accuracy): the metrics have no slices with metric '\''accuracy'\''" out &&
	ntflow show 1 --json >s.json &&
	test "$(json_get s.json .gates[0].criteria[1].verdict)" = fail
'

test_expect_success 'validate checks the functions'"'"' names and arity at file:line:col' '
	cd flat &&
	write_dag bad.dag <<-\EOF &&
	pipeline "p" {}
	stage "m" {
	  run     = "true"
	  metrics = "m.json"
	}
	gate "g" {
	  needs   = ["m"]
	  require = [
	    "maxgap(accuracy) <= 0.1",
	    "min(accuracy, n) > 0",
	    "max() > 0",
	  ]
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	cat err &&
	grep -F "bad.dag:9:6: error: gate expression: unknown function '\''maxgap'\''; the functions are max_gap(METRIC), min(METRIC) and max(METRIC)" err &&
	grep -F "bad.dag:10:18: error: gate expression: min() takes one metric name, got more" err &&
	grep -F "bad.dag:11:10: error: gate expression: max() takes one metric name, got none" err &&
	write_dag alert.dag <<-\EOF &&
	pipeline "p" {}
	monitor "m" {
	  run     = "true"
	  metrics = "m.json"
	  alert "gap" {
	    when = "max_psi > 1 or max_gap(accuracy) > 0.1"
	  }
	}
	EOF
	test_expect_code 2 ntflow validate alert.dag 2>err &&
	cat err &&
	grep -F "alert.dag:6:28: error: alert \"gap\" of monitor \"m\": max_gap(accuracy) reads slices, which only a gate criterion has" err
'

test_expect_success 'a badly shaped slices object fails its stage with a clear error' '
	cd flat &&
	write_dag s.dag <<-\EOF &&
	pipeline "s" {}
	stage "m" {
	  run     = "echo {\\\"slices\\\": {\\\"region=EU\\\": 0.9}} > s.json"
	  outputs = ["s.json"]
	  metrics = "s.json"
	}
	EOF
	git add s.dag && git commit -q -m s &&
	test_must_fail ntflow run s.dag --no-tui >out 2>err &&
	cat out err &&
	grep -F "slice '\''region=EU'\'' must be an object of metrics, not a number" out err
'

test_done
