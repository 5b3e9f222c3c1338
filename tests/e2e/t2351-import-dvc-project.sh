#!/bin/sh
# t2351-import-dvc-project.sh: issue 17's end-to-end case for `ntflow import`: a DVC-style
# project (params.yaml with three sections, Python-free shell stages) whose dvc.yaml uses
# every construct the importer carries (cmd as a string and a list, deps, outs plain, with
# cache: false and persist: true, params by key, by section and from another file, metrics,
# plots in a stage and at the top level, wdir, foreach over a list and over a mapping, vars
# and ${...}, frozen). The imported .dag validates, runs, and makes the same rerun decisions
# as the .dag a person writes by hand for the same project, edit after edit: a params key,
# a dependency, an output, an uncached output removed.
#
# It needs the language issue 17 adds (i17-lang, i17-params, i17-report): without it the
# script is skipped, saying so.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

cat >probe.dag <<\EOS
pipeline "p" {
  params_files = ["probe.yaml"]
}
stage "a" {
  foreach = ["x"]
  run      = "mkdir -p o && echo ${item} ${params.s.k} >o/${item}.txt"
  dir      = "."
  params   = ["s.k"]
  outputs  = ["o/${item}.txt"]
  persist  = ["o/${item}.txt"]
  uncached = ["o/${item}.txt"]
  frozen   = false
  plot "p" {
    data = "o/${item}.txt"
    x    = "a"
    y    = "b"
  }
}
EOS
printf 's:\n  k: 1\n' >probe.yaml
ntflow validate probe.dag >/dev/null 2>&1 ||
	test_skip_all "the language lacks issue 17's params_files, foreach, dir, persist, uncached, frozen or plot (merge i17-lang, i17-params, i17-report)"
rm -f probe.dag probe.yaml

# project DIR: a fresh git repository DIR holding the DVC-style project (params.yaml with
# three sections, conf/eval.yaml, shell stages in src/).
project() {
	mkdir -p "$1/src" "$1/conf" && (
	cd "$1" && git init -q -b main . &&
	cat >params.yaml <<-\EOS &&
	prepare:
	  rows: 40
	  seed: 3
	featurize:
	  scale: 2
	train:
	  n_est: 5
	  lr: 0.1
	EOS
	printf "threshold: 0.5\n" >conf/eval.yaml &&
	echo "raw data v1" >src/raw.txt &&
	cat >src/prepare.sh <<-\EOS &&
	#!/bin/sh
	mkdir -p data
	seq 1 "$1" | awk -v s="$2" "{ print (\$1 * s) % 17 }" >data/prepared.txt
	EOS
	cat >src/featurize.sh <<-\EOS &&
	#!/bin/sh
	mkdir -p features
	awk -v k="$2" -v p="$1" "{ print p, \$1 * k }" data/prepared.txt >features/"$1".txt
	EOS
	cat >src/train.sh <<-\EOS &&
	#!/bin/sh
	# run in model/ (wdir): the model, and a log that persists from run to run
	cat ../features/a.txt ../features/b.txt | awk -v n="$1" "{ s += \$2 } END { print s * n }" >model.txt
	mkdir -p log && echo run >>log/runs.txt
	EOS
	cat >src/evaluate.sh <<-\EOS &&
	#!/bin/sh
	# evaluate.sh MODEL THRESHOLD TITLE
	set -e
	mkdir -p eval
	m=$(cat "$1")
	printf "{\"score\": %s, \"threshold\": %s}\n" "$m" "$2" >eval/metrics.json
	printf "fpr,tpr\n0,0\n0.5,0.8\n1,1\n" >eval/roc.csv
	printf "recall,precision\n0,1\n1,0.5\n" >eval/pr.csv
	printf "<p>%s %s</p>\n" "$3" "$m" >eval/report.html
	EOS
	chmod +x src/*.sh &&
	echo frozen >ref.txt &&
	mkdir model && echo "the model and its log" >model/README &&
	printf ".ntflow/\ndata/\nfeatures/\nmodel/model.txt\nmodel/log/\neval/\nregions/\n" >.gitignore &&
	git add . && git commit -q -m project )
}

test_expect_success 'setup: the same project twice, one with a dvc.yaml' '
	project imp &&
	project hand &&
	cat >imp/dvc.yaml <<-\EOS &&
	vars:
	  - conf/eval.yaml
	  - report_title: weekly
	stages:
	  prepare:
	    desc: Makes the prepared rows
	    cmd: src/prepare.sh ${prepare.rows} ${prepare.seed}
	    deps: [src/raw.txt, src/prepare.sh]
	    params: [prepare.rows, prepare.seed]
	    outs: [data/prepared.txt]
	  featurize:
	    foreach: [a, b]
	    do:
	      cmd: src/featurize.sh ${item} ${featurize.scale}
	      deps: [data/prepared.txt, src/featurize.sh]
	      params: [featurize]
	      outs: ["features/${item}.txt"]
	  region:
	    foreach:
	      us: {rows: 2}
	      eu: {rows: 3}
	    do:
	      cmd:
	      - mkdir -p regions
	      - head -n ${item.rows} data/prepared.txt >regions/${key}.txt
	      deps: [data/prepared.txt]
	      outs: ["regions/${key}.txt"]
	  train:
	    wdir: model
	    cmd: ../src/train.sh ${train.n_est}
	    deps: [../features/a.txt, ../features/b.txt, ../src/train.sh]
	    params:
	    - ../params.yaml: [train.n_est]
	    outs:
	    - model.txt
	    - log:
	        persist: true
	  evaluate:
	    cmd: src/evaluate.sh model/model.txt ${threshold} "${report_title}"
	    deps: [model/model.txt, src/evaluate.sh]
	    params:
	    - conf/eval.yaml: [threshold]
	    outs:
	    - eval/pr.csv
	    - eval/report.html:
	        cache: false
	    metrics:
	    - eval/metrics.json
	    plots:
	    - eval/roc.csv:
	        x: fpr
	        y: tpr
	        template: linear
	  reference:
	    cmd: echo never >ref.txt
	    outs: [ref.txt]
	    frozen: true
	plots:
	  - eval/pr.csv:
	      x: recall
	      y: precision
	EOS
	(cd imp && git add dvc.yaml && git commit -q -m dvc) &&
	cat >hand/hand.dag <<-\EOS &&
	pipeline "hand" {
	  params_files = ["params.yaml", "conf/eval.yaml"]
	  params {
	    report_title = "weekly"
	  }
	}

	stage "prepare" {
	  run     = "src/prepare.sh ${params.prepare.rows} ${params.prepare.seed}"
	  inputs  = ["src/raw.txt", "src/prepare.sh"]
	  outputs = ["data/prepared.txt"]
	  params  = ["prepare.rows", "prepare.seed"]
	}

	stage "featurize" {
	  foreach = ["a", "b"]
	  run     = "src/featurize.sh ${item} ${params.featurize.scale}"
	  inputs  = ["data/prepared.txt", "src/featurize.sh"]
	  outputs = ["features/${item}.txt"]
	  params  = ["featurize"]
	}

	stage "region" {
	  foreach {
	    instance "us" {
	      rows = 2
	    }
	    instance "eu" {
	      rows = 3
	    }
	  }
	  run     = "mkdir -p regions && head -n ${item.rows} data/prepared.txt >regions/${key}.txt"
	  inputs  = ["data/prepared.txt"]
	  outputs = ["regions/${key}.txt"]
	}

	stage "train" {
	  needs   = ["featurize"]
	  run     = "../src/train.sh ${params.train.n_est}"
	  dir     = "model"
	  inputs  = ["features/a.txt", "features/b.txt", "src/train.sh"]
	  outputs = ["model/model.txt", "model/log"]
	  persist = ["model/log"]
	  params  = ["train.n_est"]
	}

	stage "evaluate" {
	  run      = "src/evaluate.sh model/model.txt ${params.threshold} \"${params.report_title}\""
	  inputs   = ["model/model.txt", "src/evaluate.sh"]
	  outputs  = ["eval/pr.csv", "eval/report.html", "eval/roc.csv"]
	  uncached = ["eval/report.html"]
	  metrics  = "eval/metrics.json"
	  params   = ["threshold"]
	  plot "roc" {
	    data     = "eval/roc.csv"
	    x        = "fpr"
	    y        = "tpr"
	    template = "linear"
	  }
	  plot "pr" {
	    data = "eval/pr.csv"
	    x    = "recall"
	    y    = "precision"
	  }
	}

	stage "reference" {
	  run     = "echo never >ref.txt"
	  outputs = ["ref.txt"]
	  frozen  = true
	}
	EOS
	(cd hand && git add hand.dag && git commit -q -m hand)
'

test_expect_success 'the import carries every construct and validates' '
	(cd imp && ntflow import dvc.yaml 2>../import.err) &&
	cat import.err &&
	ntflow validate imp/dvc.dag &&
	grep "^  params_files = \[\"params.yaml\", \"conf/eval.yaml\"\]" imp/dvc.dag &&
	grep "^    report_title = \"weekly\"" imp/dvc.dag &&
	grep "^  foreach *= \[\"a\", \"b\"\]" imp/dvc.dag &&
	grep "^    instance \"eu\" {" imp/dvc.dag &&
	grep "^  dir *= \"model\"" imp/dvc.dag &&
	grep "^  needs *= \[\"featurize\"\]" imp/dvc.dag &&
	grep "^  inputs *= \[\"features/a.txt\", \"features/b.txt\", \"src/train.sh\"\]" imp/dvc.dag &&
	grep "^  persist *= \[\"model/log\"\]" imp/dvc.dag &&
	grep "^  uncached *= \[\"eval/report.html\"\]" imp/dvc.dag &&
	grep "^  metrics *= \"eval/metrics.json\"" imp/dvc.dag &&
	grep "^  params *= \[\"threshold\"\]" imp/dvc.dag &&
	grep "^  frozen *= true" imp/dvc.dag &&
	grep "^  plot \"roc\" {" imp/dvc.dag &&
	grep "^  plot \"pr\" {" imp/dvc.dag &&
	(cd imp && git add dvc.dag && git commit -q -m imported)
'

# decisions DIR DAG: runs the pipeline in DIR and prints one line per node, "NAME STATUS",
# sorted (an instance named STAGE@KEY).
decisions() {
	(cd "$1" && ntflow run "$2" --no-tui >>../runs.log 2>&1 && ntflow show --json >show.json) &&
	/usr/bin/python3 - "$1/show.json" <<-\PY
	import json, sys
	doc = json.load(open(sys.argv[1]))
	out = []
	for s in doc["stages"]:
	    name, inst = s.get("name") or "", s.get("instance")
	    if inst and "@" not in name and "[" not in name:
	        name += "@" + inst
	    out.append("%s %s" % (name, s["state"]))
	print("\n".join(sorted(out)))
	PY
}

# both TAG: runs both pipelines; their decisions must be the same (TAG.imp, TAG.hand).
both() {
	decisions imp dvc.dag >"$1.imp" &&
	decisions hand hand.dag >"$1.hand" &&
	cat "$1.imp" &&
	test_cmp "$1.hand" "$1.imp"
}

# ran TAG: the stages that ran (not cached, not the frozen one), one per line.
ran() { grep -v " cached$" "$1.imp" | grep -v "^reference " | cut -d" " -f1; }

test_expect_success 'first run: everything runs, the same in both' '
	both first &&
	test "$(ran first | wc -l)" = 7 &&
	test_cmp imp/eval/metrics.json hand/eval/metrics.json &&
	test_cmp imp/model/model.txt hand/model/model.txt &&
	echo "<p>weekly $(cat imp/model/model.txt)</p>" >expect &&
	test_cmp expect imp/eval/report.html &&
	echo frozen >expect &&
	test_cmp expect imp/ref.txt
'

test_expect_success 'nothing changed: nothing runs' '
	both again &&
	ran again >actual &&
	test_must_be_empty actual
'

test_expect_success 'a params key: exactly the stages that use it rerun' '
	for d in imp hand; do
		sed "s/n_est: 5/n_est: 7/" $d/params.yaml >tmp && mv tmp $d/params.yaml || return 1
	done &&
	both nest &&
	printf "evaluate\ntrain\n" >expect &&
	ran nest >actual &&
	test_cmp expect actual &&
	echo "run" >expect && echo "run" >>expect &&
	test_cmp expect imp/model/log/runs.txt
'

test_expect_success 'a section used whole: the foreach instances and what follows' '
	for d in imp hand; do
		sed "s/scale: 2/scale: 3/" $d/params.yaml >tmp && mv tmp $d/params.yaml || return 1
	done &&
	both scale &&
	printf "evaluate\nfeaturize@a\nfeaturize@b\ntrain\n" >expect &&
	ran scale >actual &&
	test_cmp expect actual
'

test_expect_success 'a key of the other params file' '
	for d in imp hand; do
		echo "threshold: 0.7" >$d/conf/eval.yaml || return 1
	done &&
	both threshold &&
	echo evaluate >expect &&
	ran threshold >actual &&
	test_cmp expect actual &&
	grep "\"threshold\": 0.7" imp/eval/metrics.json
'

test_expect_success 'a dependency whose stage writes the same bytes again' '
	for d in imp hand; do
		echo "raw data v2" >$d/src/raw.txt || return 1
	done &&
	both dep &&
	echo prepare >expect &&
	ran dep >actual &&
	test_cmp expect actual
'

test_expect_success 'an output edited by hand, and an uncached output removed' '
	for d in imp hand; do
		echo 0 >$d/model/model.txt || return 1
	done &&
	both out &&
	test_cmp imp/model/model.txt hand/model/model.txt &&
	for d in imp hand; do
		rm $d/eval/report.html || return 1
	done &&
	both uncached &&
	ran uncached >actual &&
	echo evaluate >expect &&
	test_cmp expect actual &&
	test_path_is_file imp/eval/report.html
'

test_done
