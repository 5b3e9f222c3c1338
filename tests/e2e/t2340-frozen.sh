#!/bin/sh
# t2340-frozen.sh: frozen = true (DVC frozen: true): the stage never runs; its outputs must
# exist (else the run fails with a message naming the output) and stand for it: their
# digests feed the keys of the stages after it; `why` says frozen.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

write_dag p.dag <<\EOF
stage "fetch" {
  frozen  = true
  run     = "echo fetched >raw.csv && touch fetch.ran"
  outputs = ["raw.csv"]
}

stage "clean" {
  run     = "tr a-z A-Z <raw.csv >clean.csv"
  inputs  = ["raw.csv"]
  outputs = ["clean.csv"]
}
EOF

test_expect_success 'setup' '
	printf "/.ntflow/\n*.csv\n*.ran\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow validate p.dag
'

test_expect_success 'a frozen stage whose output is missing fails the run, saying so' '
	test_expect_code 1 ntflow run --no-tui p.dag >out 2>err &&
	grep "fetch failed: stage \"fetch\" is frozen (frozen = true), but its output .raw.csv. does not exist" out &&
	test_path_is_missing fetch.ran
'

test_expect_success 'with its output there, it is not run and its dependents use the file' '
	echo manual >raw.csv &&
	ntflow run --no-tui p.dag >out 2>err &&
	test_path_is_missing fetch.ran &&
	echo MANUAL >expect &&
	test_cmp expect clean.csv &&
	ntflow why last fetch >why.txt &&
	echo "fetch: frozen: never run (frozen = true); its outputs are used as they are" >expect &&
	test_cmp expect why.txt &&
	show_json &&
	test "$(stage_field show.json clean state)" = succeeded
'

test_expect_success 'the frozen output'"'"'s bytes feed the dependents'"'"' keys' '
	ntflow run --no-tui p.dag >out 2>err &&
	grep "clean cached" out &&
	echo changed >raw.csv &&
	ntflow run --no-tui p.dag >out 2>err &&
	grep "clean succeeded" out &&
	echo CHANGED >expect &&
	test_cmp expect clean.csv &&
	test_path_is_missing fetch.ran
'

test_done
