#!/bin/sh
# t2300-params-files.sh: params from files, keyed per value, on a DVC-style project made
# here (params.yaml with three sections, conf/gate.json, four shell stages): editing one
# key reruns exactly the stages that use it (declared with params = [...] or inferred from
# ${params.*}), `why` names the key and both values, -p overrides a file key and the run
# records every effective value, the gate reads params bare and as ${params.*} alike.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

cat >params.yaml <<\EOF
prepare:
  split: 0.2
  seed: 7
featurize:
  max_features: 100
  ngrams: [1, 2]
train:
  n_est: 100
  seed: 42
  unused: 1
EOF
mkdir conf
cat >conf/gate.json <<\EOF
{
  "gate": { "min_auc": 0.5 }
}
EOF

# prepare: inferred from its command; featurize reads params.yaml itself and declares the
# section; train declares two keys and references one; evaluate uses no params.
write_dag p.dag <<\EOF
pipeline "dvc" {
  params_files = ["params.yaml", "conf/gate.json"]
}

stage "prepare" {
  run     = "mkdir -p build && echo split=${params.prepare.split} >build/prepared.txt"
  outputs = ["build/prepared.txt"]
}

stage "featurize" {
  needs   = ["prepare"]
  params  = ["featurize"]
  run     = "grep -A2 '^featurize:' params.yaml >build/features.txt"
  outputs = ["build/features.txt"]
}

stage "train" {
  needs   = ["featurize"]
  params  = ["train.n_est", "train.seed"]
  run     = "echo n_est=${params.train.n_est} seed=$NTFLOW_PARAM_TRAIN_SEED >build/model.txt"
  outputs = ["build/model.txt"]
}

stage "evaluate" {
  needs   = ["train"]
  run     = "echo '{\"auc\": 0.9}' >build/metrics.json && cat build/model.txt >build/eval.txt"
  outputs = ["build/eval.txt"]
  metrics = "build/metrics.json"
}

gate "promote" {
  needs   = ["evaluate"]
  require = ["auc >= params.gate.min_auc", "auc >= ${params.gate.min_auc}"]
}
EOF

# states RUN: "stage=status" for the four stages, one line.
states() {
	ntflow show "$1" --json >show.json &&
	for s in prepare featurize train evaluate; do
		printf '%s=%s ' "$s" "$(stage_field show.json "$s" state)"
	done && echo
}

test_expect_success 'setup' '
	git add -A && git commit -qm project
'

test_expect_success 'the first run runs every stage with the files values' '
	ntflow validate p.dag &&
	ntflow run --no-tui p.dag >out &&
	echo "split=0.2" >expect && test_cmp expect build/prepared.txt &&
	echo "n_est=100 seed=42" >expect && test_cmp expect build/model.txt &&
	echo "prepare=succeeded featurize=succeeded train=succeeded evaluate=succeeded " >expect &&
	states 1 >actual && test_cmp expect actual
'

test_expect_success 'a key no stage uses reruns nothing' '
	sed -i "s/unused: 1/unused: 2/" params.yaml &&
	ntflow run --no-tui p.dag >out &&
	echo "prepare=cached featurize=cached train=cached evaluate=cached " >expect &&
	states 2 >actual && test_cmp expect actual
'

# featurize writes what it read, so train sees a new input; evaluate, fed by train's
# unchanged output, stays cached (early cut-off).
test_expect_success 'a key of a declared section reruns that stage (and what its new output feeds)' '
	sed -i "s/max_features: 100/max_features: 200/" params.yaml &&
	ntflow run --no-tui p.dag >out &&
	echo "prepare=cached featurize=succeeded train=succeeded evaluate=cached " >expect &&
	states 3 >actual && test_cmp expect actual &&
	ntflow why 3 featurize >why &&
	grep "featurize: ran: param featurize.max_features changed 100 → 200" why &&
	ntflow why 3 train >why &&
	grep "train: ran: upstream featurize produced different outputs" why
'

test_expect_success 'a declared key reruns the stage; why names the key and both values' '
	sed -i "s/n_est: 100/n_est: 150/" params.yaml &&
	ntflow run --no-tui p.dag >out &&
	echo "prepare=cached featurize=cached train=succeeded evaluate=succeeded " >expect &&
	states 4 >actual && test_cmp expect actual &&
	ntflow why 4 train >why &&
	grep "train: ran: param train.n_est changed 100 → 150" why &&
	ntflow why 4 evaluate >why &&
	grep "upstream train produced different outputs" why
'

test_expect_success 'a declared key used only through the environment reruns the stage' '
	sed -i "s/seed: 42/seed: 43/" params.yaml &&
	ntflow run --no-tui p.dag >out &&
	echo "n_est=150 seed=43" >expect && test_cmp expect build/model.txt &&
	echo "prepare=cached featurize=cached train=succeeded evaluate=succeeded " >expect &&
	states 5 >actual && test_cmp expect actual &&
	ntflow why 5 train >why && grep "param train.seed changed 42 → 43" why
'

test_expect_success 'an inferred key reruns the stage that references it' '
	sed -i "s/split: 0.2/split: 0.25/" params.yaml &&
	ntflow run --no-tui p.dag >out &&
	echo "prepare=succeeded featurize=succeeded train=cached evaluate=cached " >expect &&
	states 6 >actual && test_cmp expect actual &&
	ntflow why 6 prepare >why && grep "param prepare.split changed 0.2 → 0.25" why &&
	ntflow why 6 featurize >why && grep "upstream prepare produced different outputs" why
'

test_expect_success '-p overrides a file key for one run; the run records every value' '
	ntflow run --no-tui -p train.n_est=300 p.dag >out &&
	echo "n_est=300 seed=43" >expect && test_cmp expect build/model.txt &&
	echo "prepare=cached featurize=cached train=succeeded evaluate=succeeded " >expect &&
	states 7 >actual && test_cmp expect actual &&
	ntflow show 7 --json >show.json &&
	test "$(json_get show.json ".run.params[\"train.n_est\"]")" = 300 &&
	test "$(json_get show.json ".run.params[\"prepare.split\"]")" = 0.25 &&
	test "$(json_get show.json ".run.params[\"featurize.ngrams\"]")" = "[1,2]" &&
	test "$(json_get show.json ".run.params[\"gate.min_auc\"]")" = 0.5 &&
	ntflow run --no-tui p.dag >out &&
	echo "n_est=150 seed=43" >expect && test_cmp expect build/model.txt &&
	ntflow show 8 --json >show.json &&
	test "$(json_get show.json ".run.params[\"train.n_est\"]")" = 150
'

test_expect_success '-p with an unknown key is an error (exit 2)' '
	test_expect_code 2 ntflow run --no-tui -p train.n_estt=3 p.dag >out 2>err &&
	grep "no parameter .train.n_estt.; did you mean .train.n_est." err
'

test_expect_success 'the gate reads params bare and as ${params.*}; both agree' '
	ntflow show 8 >show.txt &&
	grep -E "auc >= params.gate.min_auc +0.9 +0.5 +pass" show.txt &&
	grep -E "auc >= \\\$\{params.gate.min_auc\} +0.9 +0.5 +pass" show.txt &&
	test_expect_code 3 ntflow run --no-tui -p gate.min_auc=0.95 p.dag >out &&
	grep -E "auc >= params.gate.min_auc +0.9 +0.95 +fail" out &&
	grep -E "auc >= \\\$\{params.gate.min_auc\} +0.9 +0.95 +fail" out
'

# Before params files: a params { } value compared bare validated, then failed at run time
# as a missing metric; ${params.*} was refused. Both read the param now.
test_expect_success 'the gate reads a params { } value too' '
	cat >inline.dag <<-\EOF &&
	pipeline "inline" {
	  params {
	    min_auc = 0.5
	  }
	}
	stage "ev" {
	  run     = "echo {\\\"auc\\\": 0.9} >m.json"
	  metrics = "m.json"
	}
	gate "g" {
	  needs   = ["ev"]
	  require = ["auc >= params.min_auc", "auc >= ${params.min_auc}"]
	}
	EOF
	ntflow run --no-tui inline.dag >out &&
	grep -E "auc >= params.min_auc +0.9 +0.5 +pass" out &&
	test_expect_code 3 ntflow run --no-tui -p min_auc=0.95 inline.dag >out &&
	grep -E "auc >= params.min_auc +0.9 +0.95 +fail" out &&
	grep -E "auc >= \\\$\{params.min_auc\} +0.9 +0.95 +fail" out
'

test_done
