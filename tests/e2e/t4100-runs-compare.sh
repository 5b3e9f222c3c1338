#!/bin/sh
# t4100-runs-compare.sh: `ntflow runs --params --metrics` (DVC's exp show): one row per run
# with its params and metrics as columns; a metric two stages give is STAGE.METRIC, one
# only one gives is bare; --params/--metrics pick columns (a section picks its keys);
# --sort-by a metric (largest first, stable, runs without it last) or a param; --json is
# valid JSON with params and metrics objects, --csv valid RFC 4180 CSV (a comma and quotes
# in a value); a cached stage's metrics are its reused result's.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

# auc of train is n_est/100, of evaluate n_est/200; loss 1/n_est; prepare's rows is fixed.
write_dag p.dag <<\EOF
pipeline "exp" {
  params {
    n_est = 10
    seed  = 1
    note  = "base, \"first\""
  }
}

stage "prepare" {
  run     = "mkdir -p build/prep && echo '{\"rows\": 100}' >build/prep/m.json"
  outputs = ["build/prep/"]
  metrics = "build/prep/m.json"
}

stage "train" {
  needs   = ["prepare"]
  run     = "mkdir -p build/train && awk -v n=${params.n_est} 'BEGIN { printf \"{\\\"auc\\\": %g, \\\"loss\\\": %g}\\n\", n / 100, 1 / n }' >build/train/m.json"
  outputs = ["build/train/"]
  metrics = "build/train/m.json"
}

stage "evaluate" {
  needs   = ["train"]
  run     = "mkdir -p build/eval && awk -v n=${params.n_est} -v s=${params.seed} 'BEGIN { printf \"{\\\"auc\\\": %g, \\\"f1\\\": %g}\\n\", n / 200, s / 10 }' >build/eval/m.json"
  outputs = ["build/eval/"]
  metrics = "build/eval/m.json"
}
EOF
printf 'build/\n.ntflow/\n' >.gitignore
git add -A && git commit -qm init

test_expect_success 'four runs, two of the same params (the last one cached)' '
	ntflow run p.dag >out &&
	ntflow run -p n_est=40 p.dag >out &&
	ntflow run -p n_est=20 -p seed=3 p.dag >out &&
	ntflow run -p n_est=40 p.dag >out &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .stages[1].state)" = cached
'

test_expect_success 'runs --params --metrics: a row per run, ambiguous metrics as STAGE.METRIC' '
	c=$(git rev-parse --short=7 HEAD) &&
	ntflow runs --params --metrics >actual &&
	sed "s/@C@/$c/" >expect <<-\EOF &&
	ID  PIPELINE  STATUS     COMMIT   n_est  seed  note           rows  train.auc   loss  evaluate.auc   f1
	 4  exp       succeeded  @C@  40     1     base, "first"   100        0.4  0.025           0.2  0.1
	 3  exp       succeeded  @C@  20     3     base, "first"   100        0.2   0.05           0.1  0.3
	 2  exp       succeeded  @C@  40     1     base, "first"   100        0.4  0.025           0.2  0.1
	 1  exp       succeeded  @C@  10     1     base, "first"   100        0.1    0.1          0.05  0.1
	EOF
	test_cmp expect actual
'

test_expect_success 'picked columns; --sort-by a metric is largest first and stable' '
	ntflow runs --params n_est --metrics evaluate.auc,f1 --sort-by evaluate.auc >actual &&
	cut -c1-3,35- actual >cut &&
	cat >expect <<-\EOF &&
	ID n_est  evaluate.auc   f1
	 4 40              0.2  0.1
	 2 40              0.2  0.1
	 3 20              0.1  0.3
	 1 10             0.05  0.1
	EOF
	test_cmp expect cut &&
	ntflow runs --metrics=auc --sort-by loss >actual &&
	head -n 2 actual | tail -n 1 | grep "^ 1 " &&
	head -n 1 actual | grep "train.auc  evaluate.auc$" &&
	ntflow runs --params --sort-by seed >actual &&
	sed -n 5p actual | grep "^ 3 "
'

test_expect_success '--sort-by a name nothing has, or an ambiguous bare metric, fails' '
	test_expect_code 1 ntflow runs --metrics --sort-by nope 2>err &&
	grep "no run listed has a metric or param .nope." err &&
	test_expect_code 1 ntflow runs --metrics --sort-by auc 2>err &&
	grep "several stages give it; name one of train.auc, evaluate.auc" err
'

test_expect_success '--json is valid JSON with params and metrics' '
	ntflow runs --params --metrics --json >runs.json &&
	/usr/bin/python3 -m json.tool runs.json >/dev/null &&
	test "$(json_get runs.json "[0].params.n_est")" = 40 &&
	test "$(json_get runs.json "[0].params.note")" = "base, \"first\"" &&
	test "$(json_get runs.json "[3].metrics[\"train.auc\"]")" = 0.1 &&
	test "$(json_get runs.json "[3].metrics[\"evaluate.auc\"]")" = 0.05 &&
	test "$(json_get runs.json "[1].metrics.f1")" = 0.3 &&
	test "$(json_get runs.json "[0].id")" = 4 &&
	ntflow runs --json >plain.json &&
	/usr/bin/python3 -c "import json, sys; r = json.load(open(\"plain.json\")); sys.exit(\"params\" in r[0] or \"metrics\" in r[0])"
'

test_expect_success '--csv is RFC 4180 CSV: quoted fields, full precision' '
	ntflow runs --params --metrics --csv >runs.csv &&
	/usr/bin/python3 - <<-\EOF
	import csv, subprocess
	raw = open("runs.csv", newline="").read()
	assert raw.endswith("\r\n") and raw.count("\r\n") == 5, repr(raw)
	rows = list(csv.reader(open("runs.csv", newline="")))
	assert rows[0] == ["id", "pipeline", "status", "commit", "n_est", "seed", "note", "rows",
	                   "train.auc", "loss", "evaluate.auc", "f1"], rows[0]
	head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
	assert rows[1] == ["4", "exp", "succeeded", head, "40", "1", "base, \"first\"", "100", "0.4", "0.025",
	                   "0.2", "0.1"], rows[1]
	assert [r[0] for r in rows[1:]] == ["4", "3", "2", "1"]
	assert "\"base, \"\"first\"\"\"" in raw
	EOF
'

test_expect_success '--params KEY and --metrics NAME as the next word, --limit' '
	ntflow runs --params seed --metrics f1 --limit 2 >actual &&
	test "$(wc -l <actual)" = 3 &&
	head -n 1 actual | grep "COMMIT   seed   f1$" &&
	test_expect_code 2 ntflow runs --csv --json 2>err &&
	grep "exclude each other" err
'

test_expect_success SQLITE3 'flattened keys (params files): a section picks every key under it' '
	sqlite3 .ntflow/state.db "UPDATE runs SET params = json_object(\"train.n_est\", 40, \"train.seed\", 1, \"featurize.max\", 200, \"trainer\", \"x\") WHERE id = 4" &&
	ntflow runs --params train --limit 1 >actual &&
	head -n 1 actual | grep "COMMIT   train.n_est  train.seed$" &&
	ntflow runs --params train,featurize.max --limit 1 --csv >actual.csv &&
	head -n 1 actual.csv | grep "^id,pipeline,status,commit,train.n_est,train.seed,featurize.max" &&
	ntflow runs --params nope --limit 1 >actual &&
	tail -n 1 actual | grep " -$"
'

test_done
