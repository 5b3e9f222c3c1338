#!/bin/sh
# t1100-validate.sh: `ntflow validate` (silent success, -v, several files, unreadable files)
# and `ntflow graph` in its three formats, the dot one rendered by Graphviz.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
	write_dag ok.dag <<-\EOF &&
	pipeline "demo" {
	  params {
	    seed = 1
	  }
	}

	stage "prep" {
	  run     = "echo ${params.seed} >build/prep.txt"
	  outputs = ["build/prep.txt"]
	}

	stage "tune" {
	  needs   = ["prep"]
	  matrix {
	    lr = [0.1, 0.2]
	  }
	  run     = "echo ${matrix.lr}"
	  metrics = "build/tune/${matrix.id}.json"
	  select  = "max(auc)"
	}

	stage "train" {
	  needs = ["tune"]
	  run   = "echo ${stages.tune.best.lr}"
	}

	gate "promote" {
	  needs   = ["train"]
	  require = ["auc >= 0.5"]
	}

	monitor "drift" {
	  needs = ["prep"]
	  run   = "true"
	}
	EOF
	write_dag bad.dag <<-\EOF
	stage "tune" {
	  run = "true"
	}

	stage "train" {
	  needs = ["tume"]
	  run   = "true"
	}
	EOF
'

test_expect_success 'a valid file: silent, exit 0' '
	ntflow validate ok.dag >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err
'

test_expect_success '-v says ok with the counts' '
	ntflow validate -v ok.dag >out 2>err &&
	echo "ok.dag: ok (5 stages, 6 nodes)" >expect &&
	test_cmp expect out &&
	test_must_be_empty err &&
	ntflow validate --verbose ok.dag >out &&
	test_cmp expect out
'

test_expect_success 'an error: file:line:col on stderr, exit 2' '
	test_expect_code 2 ntflow validate bad.dag >out 2>err &&
	test_must_be_empty out &&
	echo "bad.dag:6:12: error: stage \"train\" needs unknown stage \"tume\"; did you mean \"tune\"?" >expect &&
	test_cmp expect err
'

test_expect_success 'several files: each is checked, exit 2 when one is bad' '
	test_expect_code 2 ntflow validate -v ok.dag bad.dag ok.dag >out 2>err &&
	printf "ok.dag: ok (5 stages, 6 nodes)\nok.dag: ok (5 stages, 6 nodes)\n" >expect &&
	test_cmp expect out &&
	test_line_count = 1 err
'

test_expect_success 'an unreadable file is named, the others still checked' '
	test_expect_code 2 ntflow validate missing.dag ok.dag bad.dag >out 2>err &&
	cat >expect <<-\EOF &&
	ntflow: cannot open '\''missing.dag'\'': No such file or directory
	bad.dag:6:12: error: stage "train" needs unknown stage "tume"; did you mean "tune"?
	EOF
	test_cmp expect err
'

test_expect_success 'a cycle is reported with its path' '
	write_dag cycle.dag <<-\EOF &&
	stage "a" {
	  needs = ["c"]
	  run   = "true"
	}

	stage "b" {
	  needs = ["a"]
	  run   = "true"
	}

	stage "c" {
	  needs = ["b"]
	  run   = "true"
	}
	EOF
	test_expect_code 2 ntflow validate cycle.dag 2>err &&
	echo "cycle.dag:1:1: error: dependency cycle: a -> c -> b -> a" >expect &&
	test_cmp expect err
'

test_expect_success 'no file is a usage error' '
	test_expect_code 2 ntflow validate 2>err &&
	grep "^usage: ntflow validate" err
'

test_expect_success 'graph text: each node, its kind, crit and needs' '
	ntflow graph ok.dag >out &&
	cat >expect <<-\EOF &&
	demo: 5 stages, 6 nodes in topological order; crit is the critical path in cpus

	prep  [stage, crit 4]

	tune  [stage, matrix of 2, crit 3]
	  needs: prep
	  - tune[lr=0.1]  id lr-0.1
	  - tune[lr=0.2]  id lr-0.2

	drift  [monitor, crit 1]
	  needs: prep

	train  [stage, crit 2]
	  needs: tune (2 instances)

	promote  [gate, crit 1]
	  needs: train
	EOF
	test_cmp expect out &&
	ntflow graph --format text ok.dag >out2 &&
	test_cmp out out2 &&
	ntflow graph ok.dag --format=text >out2 &&
	test_cmp out out2
'

test_expect_success 'graph json: nodes, deps, crit and order' '
	ntflow graph ok.dag --format json >g.json &&
	test "$(json_get g.json .pipeline)" = demo &&
	test "$(json_get g.json ".nodes[2].name")" = "tune[lr=0.2]" &&
	test "$(json_get g.json ".nodes[2].instance")" = "lr-0.2" &&
	test "$(json_get g.json ".nodes[2].matrix.lr")" = 0.2 &&
	test "$(json_get g.json ".nodes[3].deps")" = "[\"tune[lr=0.1]\", \"tune[lr=0.2]\"]" &&
	test "$(json_get g.json ".nodes[0].crit")" = 4 &&
	test "$(json_get g.json ".nodes[4].kind")" = gate &&
	test "$(json_get g.json ".order[3]")" = drift
'

test_expect_success 'graph dot: a digraph with a cluster, a diamond and a hexagon' '
	ntflow graph ok.dag --format dot >g.dot &&
	head -n 1 g.dot >first &&
	echo "digraph \"demo\" {" >expect &&
	test_cmp expect first &&
	grep -q "subgraph cluster_1" g.dot &&
	grep -q "label=\"promote\", shape=diamond" g.dot &&
	grep -q "label=\"drift\", shape=hexagon" g.dot
'

test_expect_success DOT 'graph dot renders with Graphviz' '
	ntflow graph ok.dag --format dot | dot -Tsvg >g.svg &&
	grep -q "<svg" g.svg
'

# (until dags/retrain.dag ships this one is skipped, and says so)
test -f "$NTFLOW_SRC_DIR/dags/retrain.dag" && test_set_prereq RETRAIN_DAG
test_expect_success DOT,RETRAIN_DAG 'the shipped retrain.dag renders with Graphviz' '
	ntflow graph "$NTFLOW_SRC_DIR/dags/retrain.dag" --format dot >retrain.dot &&
	dot -Tsvg retrain.dot >retrain.svg &&
	grep -q "<svg" retrain.svg
'

test_expect_success 'graph: a DAG error exits 2, a bad format or no file is a usage error' '
	test_expect_code 2 ntflow graph bad.dag >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_expect_code 2 ntflow graph ok.dag --format svg 2>err &&
	grep "unknown format '\''svg'\''" err &&
	test_expect_code 2 ntflow graph 2>err &&
	grep "^usage: ntflow graph" err &&
	test_expect_code 2 ntflow graph missing.dag 2>err &&
	echo "ntflow: cannot open '\''missing.dag'\'': No such file or directory" >expect &&
	test_cmp expect err
'

test_expect_success 'a generated 2 000-stage DAG validates' '
	"$NTFLOW_SRC_DIR/bench/gen-dag.sh" 2000 >big.dag &&
	ntflow validate -v big.dag >out &&
	echo "big.dag: ok (2000 stages, 2000 nodes)" >expect &&
	test_cmp expect out
'

test_done
