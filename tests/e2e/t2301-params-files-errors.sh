#!/bin/sh
# t2301-params-files-errors.sh: what is wrong with params files or their use is a DAG error
# (exit 2) at the place to fix: a bad YAML or JSON file at its own line and column, a
# missing file at the .dag attribute, a key set in two files naming both, an unknown key in
# a stage's params = [...], a gate comparing with a param that is not a number, a
# reference other than ${params.*} in a gate criterion.
. "$(dirname "$0")/lib.sh"

cat >params.yaml <<\EOF
train:
  n_est: 100
  name: forest
EOF
printf '{"gate": {"min_auc": 0.5}}\n' >gate.json

# dag FILES [STAGE-PARAMS] [REQUIRE]: a pipeline over the files (a list's inside).
dag() {
	cat >p.dag <<EOF
pipeline "e" {
  params_files = [$1]
}

stage "train" {
  params  = [${2:-\"train\"}]
  run     = "echo \${params.train.n_est} >model.txt && echo '{\"auc\": 0.9}' >m.json"
  outputs = ["model.txt"]
  metrics = "m.json"
}

gate "g" {
  needs   = ["train"]
  require = [${3:-\"auc >= 0.5\"}]
}
EOF
}

test_expect_success 'a well-formed project validates' '
	dag "\"params.yaml\", \"gate.json\"" "\"train.n_est\"" "\"auc >= params.gate.min_auc\"" &&
	ntflow validate p.dag
'

test_expect_success 'bad YAML: error at params.yaml:LINE:COL, exit 2 (validate and run)' '
	cp params.yaml good.yaml &&
	printf "train:\n  n_est: [1, 2\n  seed: 3\n" >params.yaml &&
	dag "\"params.yaml\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	cat err &&
	grep "^params.yaml:3:7: error: did not find expected" err &&
	test_expect_code 2 ntflow run --no-tui p.dag >out 2>err &&
	grep "^params.yaml:3:7: error:" err &&
	cp good.yaml params.yaml
'

test_expect_success 'bad JSON: error at gate.json:LINE:COL' '
	printf "{\n  \"gate\": {\"min_auc\": }\n}\n" >bad.json &&
	dag "\"params.yaml\", \"bad.json\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^bad.json:2:23: error: invalid JSON" err
'

test_expect_success 'a missing file: error at the attribute in the .dag' '
	dag "\"params.yaml\", \"nope.yaml\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:2:34: error: params file .nope.yaml. does not exist" err
'

test_expect_success 'a file that is not YAML or JSON, or outside the project' '
	dag "\"params.toml\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:2:19: error: params file .params.toml. must end in .yaml, .yml or .json" err &&
	dag "\"../params.yaml\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:2:19: error: .*outside" err
'

test_expect_success 'a key in two files: an error naming both places' '
	printf "{\"train\": {\"n_est\": 5}}\n" >dup.json &&
	dag "\"params.yaml\", \"dup.json\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	cat err &&
	grep "^dup.json:1:12: error: param .train.n_est. is set twice: here and at params.yaml:2:10" err &&
	grep "^params.yaml:2:10: note: first set here" err
'

test_expect_success 'a key of a file and of params { }: an error naming both places' '
	cat >p.dag <<-\EOF &&
	pipeline "e" {
	  params_files = ["params.yaml"]
	  params {
	    name = "x"
	  }
	}
	stage "s" { run = "true" }
	EOF
	printf "name: y\n" >params.yaml &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^params.yaml:1:7: error: param .name. is set twice: here and at p.dag:4:5" err &&
	cp good.yaml params.yaml
'

test_expect_success 'an unknown key in a stage params: error at it, with a hint' '
	dag "\"params.yaml\"" "\"train.n_est\", \"train.nest\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:6:29: error: stage \"train\" depends on unknown param \"train.nest\"; did you mean \"train.n_est\"?" err &&
	dag "\"params.yaml\"" "\"tran\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:6:14: error: stage \"train\" depends on unknown param \"tran\"" err
'

test_expect_success 'a gate param that does not exist or is not a number is a validate error' '
	dag "\"params.yaml\", \"gate.json\"" "" "\"auc >= params.gate.min_acu\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:14:22: error: gate \"g\" reads unknown param \"gate.min_acu\"; did you mean \"gate.min_auc\"?" err &&
	dag "\"params.yaml\", \"gate.json\"" "" "\"auc >= \${params.train.name}\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:14:24: error: gate \"g\" compares with param \"train.name\", which is not a number" err
'

test_expect_success 'a gate criterion may reference only ${params.*}' '
	dag "\"params.yaml\"" "" "\"auc >= \${run.id}\"" &&
	test_expect_code 2 ntflow validate p.dag 2>err &&
	grep "^p.dag:14:22: error: each item of .require. can reference only \${params.NAME}, not \${run.id}" err
'

test_done
