#!/bin/sh
# t2070-matrix-select.sh: a matrix stage runs one instance per value, in parallel; select
# reads each instance's metrics and its winner's values become ${stages.NAME.best.*}; a
# missing or malformed metrics file fails the instance with a message naming the file.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# tune_dag SELECT WRITE: instances for lr = 0.1, 0.2, 0.3. Each notes its matrix id, waits
# until all three have started (params.tries x 0.05s at most: they must run at the same
# time), then writes its metrics with WRITE: score 0.5, 0.9, 0.7; nested.loss 0.4, 0.3, 0.2.
tune_dag() {
	cat <<EOF
pipeline "tune" {
  params {
    tries = 300
  }
}

stage "tune" {
  matrix {
    lr = [0.1, 0.2, 0.3]
  }
  run     = "mkdir -p started ids build/tune/\${matrix.id} && echo \${matrix.id} >ids/\${matrix.lr} && touch started/\${matrix.lr} && i=0 && while test \$(ls started | wc -l) -lt 3; do i=\$((i + 1)); test \$i -lt \${params.tries} || exit 9; sleep 0.05; done && case \${matrix.lr} in 0.1) s=0.5 l=0.4 ;; 0.2) s=0.9 l=0.3 ;; *) s=0.7 l=0.2 ;; esac && $2"
  metrics = "build/tune/\${matrix.id}/m.json"
  select  = "$1"
}

stage "train" {
  needs = ["tune"]
  run   = "echo \${stages.tune.best.lr} >best.txt"
}
EOF
}
tune_dag "max(score)" "echo '{\\\"score\\\": '\$s', \\\"nested\\\": {\\\"loss\\\": '\$l'}}' >build/tune/\${matrix.id}/m.json" >max.dag
tune_dag "min(nested.loss)" "echo '{\\\"score\\\": '\$s', \\\"nested\\\": {\\\"loss\\\": '\$l'}}' >\\\"\$NTFLOW_METRICS_FILE\\\"" >min.dag
# lr=0.3 writes a truncated file, lr=0.1 none at all, lr=0.2 a good one.
tune_dag "max(score)" "case \${matrix.lr} in 0.3) printf '{\\\"score\\\": ' ;; 0.2) echo '{\\\"score\\\": 1}' ;; *) exit 0 ;; esac >build/tune/\${matrix.id}/m.json.tmp && mv build/tune/\${matrix.id}/m.json.tmp build/tune/\${matrix.id}/m.json; test \${matrix.lr} != 0.1 || rm -f build/tune/\${matrix.id}/m.json" >bad.dag
# The metric named by select is missing from one instance's file.
tune_dag "max(score)" "if test \${matrix.lr} = 0.2; then echo '{\\\"other\\\": 1}'; else echo '{\\\"score\\\": 1}'; fi >build/tune/\${matrix.id}/m.json" >nometric.dag

test_expect_success 'setup: the generated DAGs are valid' '
	cat max.dag &&
	ntflow validate max.dag min.dag bad.dag nometric.dag
'

test_expect_success 'max(score): the winner is lr=0.2 and the dependent gets it' '
	ntflow run max.dag --no-tui -j 3 >out 2>err &&
	cat out err &&
	echo 0.2 >expect &&
	test_cmp expect best.txt
'

test_expect_success 'the three instances ran, each with its own metrics file' '
	ls started >started.list &&
	test_line_count = 3 started.list &&
	for lr in 0.1 0.2 0.3
	do
		id=$(cat ids/$lr) &&
		test_path_is_file build/tune/$id/m.json || return 1
	done &&
	test "$(cat ids/0.1)" != "$(cat ids/0.2)" &&
	grep -E "^\[[0-9]+/4\] tune\[lr=0\.2\] succeeded" out
'

test_expect_success 'show --json: three tune instances succeeded, with their metrics' '
	ntflow show --json >show.json &&
	test "$(stage_count show.json tune)" = 3 &&
	for lr in 0.1 0.2 0.3
	do
		test "$(stage_field show.json tune state $(cat ids/$lr))" = succeeded || return 1
	done &&
	stage_field show.json tune metrics "$(cat ids/0.2)" >m.json &&
	cat m.json &&
	test "$(json_get m.json .score)" = 0.9 &&
	test "$(stage_field show.json train state)" = succeeded
'

test_expect_success 'min(nested.loss) over NTFLOW_METRICS_FILE: the winner is lr=0.3' '
	rm -rf started ids build best.txt &&
	ntflow run min.dag --no-tui -j 3 >out 2>err &&
	cat out err &&
	echo 0.3 >expect &&
	test_cmp expect best.txt
'

test_expect_success 'with -j 1 the instances cannot all start: the barrier gives up (control)' '
	rm -rf started ids build best.txt &&
	test_expect_code 1 ntflow run max.dag --no-tui -j 1 -p tries=20 >out 2>err &&
	grep -E "tune\[lr=0\.1\] failed.*exit 9" out
'

test_expect_success 'a truncated or missing metrics file fails the instance, naming the file' '
	rm -rf started ids build best.txt &&
	test_expect_code 1 ntflow run bad.dag --no-tui -j 3 >out 2>err &&
	cat out err &&
	id3=$(cat ids/0.3) && id1=$(cat ids/0.1) &&
	grep -E "^\[[0-9]+/4\] tune\[lr=0\.3\] failed.*build/tune/$id3/m\.json" out &&
	grep -E "tune\[lr=0\.3\] failed.*(truncated|invalid JSON)" out &&
	grep -E "^\[[0-9]+/4\] tune\[lr=0\.1\] failed.*build/tune/$id1/m\.json" out &&
	grep -E "tune\[lr=0\.1\] failed.*does not exist" out &&
	grep -E "^\[[0-9]+/4\] tune\[lr=0\.2\] succeeded" out &&
	test_path_is_missing best.txt &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json tune state "$id3")" = failed &&
	test "$(stage_field show.json train state)" = skipped
'

test_expect_success 'an instance without the selected metric: the dependent fails, naming it' '
	rm -rf started ids build best.txt &&
	test_expect_code 1 ntflow run nometric.dag --no-tui -j 3 >out 2>err &&
	cat out err &&
	grep -E "train failed.*score" out &&
	test_path_is_missing best.txt
'

test_expect_success 'values holding the names'"'"' own syntax never make two instances one name' '
	cat >collide.dag <<-\EOF &&
	stage "t" {
	  matrix {
	    a = ["x,b=y", "x"]
	    b = ["z", "y,b=z"]
	  }
	  run     = "mkdir -p o/${matrix.id} && echo hi >o/${matrix.id}/v"
	  outputs = ["o/${matrix.id}/v"]
	}
	EOF
	git add collide.dag && git commit -q -m collide &&
	ntflow graph collide.dag >graph.txt &&
	test "$(grep -c "^  - t\[" graph.txt)" = 4 &&
	grep -F "  - t[a=\"x,b=y\",b=z]  id" graph.txt &&
	grep -F "  - t[a=x,b=\"y,b=z\"]  id" graph.txt &&
	ntflow run collide.dag --no-tui >out &&
	test "$(grep -c " succeeded" out)" = 5
'

test_done
