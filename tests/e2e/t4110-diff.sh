#!/bin/sh
# t4110-diff.sh: `ntflow diff [RUN_A] [RUN_B]` (DVC's params diff and metrics diff): the
# params, metrics (with the change and its percent), stage decisions and output digests
# that differ, by default between the last two runs of the last run's pipeline (a run of
# another pipeline in between does not count); --all shows the equal ones; --json is valid
# JSON; exit 0 with differences, 1 for an unknown run or a first run, 2 for a malformed one.
. "$(dirname "$0")/lib.sh"

write_dag p.dag <<\EOF
pipeline "exp" {
  params {
    n_est = 10
    fail  = 0
  }
}

stage "prepare" {
  run     = "mkdir -p build/prep && echo rows >build/prep/rows.txt"
  outputs = ["build/prep/"]
}

stage "train" {
  needs   = ["prepare"]
  run     = "test ${params.fail} = 0 && mkdir -p build/train && echo ${params.n_est} >build/train/model.txt && awk -v n=${params.n_est} 'BEGIN { printf \"{\\\"auc\\\": %g, \\\"loss\\\": %g}\\n\", n / 100, 1 / n }' >build/train/m.json"
  outputs = ["build/train/"]
  metrics = "build/train/m.json"
}

stage "evaluate" {
  needs   = ["train"]
  run     = "mkdir -p build/eval && awk -v n=${params.n_est} 'BEGIN { printf \"{\\\"auc\\\": %g}\\n\", n / 200 }' >build/eval/m.json"
  outputs = ["build/eval/"]
  metrics = "build/eval/m.json"
}

gate "promote" {
  needs   = ["evaluate"]
  require = ["auc >= 0.1"]
}
EOF
write_dag other.dag <<\EOF
pipeline "other" {
}

stage "hello" {
  run     = "mkdir -p build/other && echo hi >build/other/hi.txt"
  outputs = ["build/other/hi.txt"]
}
EOF
printf 'build/\n.ntflow/\n' >.gitignore
git add -A && git commit -qm init

test_expect_success 'runs: a rejected one, an accepted one, another pipeline after them' '
	test_expect_code 3 ntflow run p.dag >out &&
	ntflow run -p n_est=40 p.dag >out &&
	ntflow run other.dag >out
'

test_expect_success 'a first run has nothing to compare with: exit 1' '
	test_expect_code 1 ntflow diff 2>err &&
	grep "run 3 is the first run of its pipeline: nothing to compare it with" err
'

test_expect_success 'diff A B: what differs, with the change and its percent' '
	ntflow diff 1 2 >actual &&
	cat >expect <<-\EOF &&
	PARAM  RUN 1  RUN 2
	n_est  10     40

	METRIC        RUN 1  RUN 2  CHANGE        %
	train.auc       0.1    0.4    +0.3  +300.0%
	loss            0.1  0.025  -0.075   -75.0%
	evaluate.auc   0.05    0.2   +0.15  +300.0%

	STAGE    RUN 1     RUN 2
	prepare  ran       cached
	promote  rejected  passed

	OUTPUT                RUN 1         RUN 2
	train build/train/    @T1@  @T2@
	evaluate build/eval/  @E1@  @E2@

	EOF
	ntflow diff 1 2 --json >d.json &&
	t1=$(json_get d.json "[\"outputs\"][0].a" | cut -d: -f2 | cut -c1-12) &&
	t2=$(json_get d.json "[\"outputs\"][0].b" | cut -d: -f2 | cut -c1-12) &&
	e1=$(json_get d.json "[\"outputs\"][1].a" | cut -d: -f2 | cut -c1-12) &&
	e2=$(json_get d.json "[\"outputs\"][1].b" | cut -d: -f2 | cut -c1-12) &&
	test "$t1" != "$t2" && test "$e1" != "$e2" &&
	sed -i "s/@T1@/$t1/; s/@T2@/$t2/; s/@E1@/$e1/; s/@E2@/$e2/" expect &&
	test_cmp expect actual
'

test_expect_success 'the default (no RUN, one RUN, -2 -1): the last two runs of the pipeline' '
	ntflow run -p n_est=40 p.dag >out &&
	ntflow diff >actual &&
	ntflow diff 4 >actual4 &&
	ntflow diff 2 4 >expect &&
	test_cmp expect actual &&
	test_cmp expect actual4 &&
	cat >expect <<-\EOF &&
	STAGE     RUN 2  RUN 4
	train     ran    cached
	evaluate  ran    cached

	EOF
	test_cmp expect actual &&
	ntflow run other.dag >out &&
	ntflow diff -1 >actual &&
	cat >expect <<-\EOF &&
	STAGE  RUN 3  RUN 5
	hello  ran    cached

	EOF
	test_cmp expect actual &&
	ntflow diff -4 -2 >actual &&
	test_cmp actual4 actual
'

test_expect_success 'runs that do not differ; --all shows every row' '
	ntflow run -p n_est=40 p.dag >out &&
	ntflow diff 4 6 >actual &&
	echo "runs 4 and 6 do not differ in params, metrics, stage decisions or outputs" >expect &&
	test_cmp expect actual &&
	ntflow diff 4 6 --all >actual &&
	grep -x "n_est  40     40" actual &&
	grep -x "fail   0      0" actual &&
	grep -x "prepare   cached  cached" actual &&
	grep -E "^loss +0.025 +0.025 +\+0 +\+0.0%$" actual &&
	grep -E "^evaluate build/eval/ " actual
'

test_expect_success 'a failed stage: its decision, the skipped ones, no outputs or metrics' '
	test_expect_code 1 ntflow run -p fail=1 p.dag >out 2>&1 &&
	ntflow diff >actual &&
	grep -x "fail   0      1" actual &&
	grep -x "train     cached  failed" actual &&
	grep -x "evaluate  cached  skipped" actual &&
	grep -x "promote   passed  skipped" actual &&
	grep -E "^loss +0.025 +- +- +-$" actual &&
	grep -E "^train build/train/ +[0-9a-f]{12} +-$" actual
'

test_expect_success '--json is valid JSON: both runs, changed rows, delta and percent' '
	ntflow diff 1 2 --json >d.json &&
	/usr/bin/python3 -m json.tool d.json >/dev/null &&
	/usr/bin/python3 - <<-\EOF
	import json
	d = json.load(open("d.json"))
	assert d["a"]["id"] == 1 and d["b"]["id"] == 2 and d["a"]["pipeline"] == "exp", d
	assert d["a"]["status"] == "gated" and d["b"]["status"] == "succeeded", d
	assert d["params"] == [{"name": "n_est", "a": 10, "b": 40, "changed": True}], d["params"]
	m = {x["name"]: x for x in d["metrics"]}
	assert set(m) == {"train.auc", "loss", "evaluate.auc"}, m
	assert m["loss"]["a"] == 0.1 and m["loss"]["b"] == 0.025, m
	assert abs(m["loss"]["delta"] + 0.075) < 1e-12 and abs(m["loss"]["percent"] + 75) < 1e-9, m
	assert [(s["name"], s["a"], s["b"]) for s in d["stages"]] == [
	    ("prepare", "ran", "cached"), ("promote", "rejected", "passed")], d["stages"]
	assert [(o["stage"], o["path"]) for o in d["outputs"]] == [
	    ("train", "build/train/"), ("evaluate", "build/eval/")], d["outputs"]
	assert all(o["changed"] and o["a"].startswith("dir:") for o in d["outputs"]), d["outputs"]
	EOF
	ntflow diff 4 6 --json --all >all.json &&
	/usr/bin/python3 -c "
import json
d = json.load(open(\"all.json\"))
assert len(d[\"params\"]) == 2 and not any(p[\"changed\"] for p in d[\"params\"]), d
assert len(d[\"stages\"]) == 4 and len(d[\"outputs\"]) == 3, d
"
'

test_expect_success 'runs --pipeline lists one pipeline'"'"'s runs' '
	ntflow runs --pipeline other --params --metrics >actual &&
	cat >expect <<-EOF &&
	ID  PIPELINE  STATUS     COMMIT
	 5  other     succeeded  $(git rev-parse --short=7 HEAD)
	 3  other     succeeded  $(git rev-parse --short=7 HEAD)
	EOF
	test_cmp expect actual &&
	ntflow runs --pipeline exp --limit 2 >actual &&
	test "$(awk "NR > 1 { print \$1 }" actual | tr "\n" " ")" = "7 6 " &&
	test_expect_code 0 ntflow runs --pipeline nope 2>err &&
	grep "no runs of pipeline .nope." err
'

test_expect_success 'an unknown run exits 1, a malformed one 2' '
	test_expect_code 1 ntflow diff 1 99 2>err &&
	grep "no run 99" err &&
	test_expect_code 2 ntflow diff 1 x 2>err &&
	grep "not a run id" err &&
	test_expect_code 2 ntflow diff 1 2 3 2>err &&
	grep "too many arguments" err
'

test_done
