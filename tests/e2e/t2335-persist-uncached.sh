#!/bin/sh
# t2335-persist-uncached.sh: persist outputs (DVC persist: true) stay in place while the
# stage runs, and are still stored in the cache; uncached outputs (DVC cache: false) are
# hashed but never stored: a cache hit skips the stage only while each is there with its
# recorded digest, and otherwise reruns it, `why` saying which output and how.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

write_dag p.dag <<\EOF
stage "train" {
  run      = "mkdir -p state && echo step >>state/log && wc -l <state/log >model.txt && echo report $(cat model.txt) >report.html"
  inputs   = ["seed.txt"]
  outputs  = ["state/", "model.txt", "report.html"]
  persist  = ["state/"]
  uncached = ["report.html"]
}
EOF

# object FILE: where the object store keeps FILE's bytes (by SHA-256).
object() {
	sha=$(sha256sum <"$1" | cut -c1-64) &&
	echo ".ntflow/cache/objects/$(echo "$sha" | cut -c1-2)/$(echo "$sha" | cut -c3-)"
}

test_expect_success 'setup' '
	echo 1 >seed.txt &&
	printf "/.ntflow/\n/state/\nmodel.txt\nreport.html\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow validate p.dag
'

test_expect_success 'persist: the state folder is there while the stage runs, and grows' '
	mkdir state && echo old >state/log &&
	ntflow run --no-tui p.dag >out 2>err &&
	printf "old\nstep\n" >expect &&
	test_cmp expect state/log &&
	echo 2 >expect &&
	test_cmp expect model.txt &&
	echo 2 >seed.txt && git commit -q -am seed &&
	ntflow run --no-tui p.dag >out 2>err &&
	printf "old\nstep\nstep\n" >expect &&
	test_cmp expect state/log
'

test_expect_success 'uncached: never in the object store; persist and the rest are' '
	test_path_is_file "$(object model.txt)" &&
	test_path_is_file "$(object state/log)" &&
	test_path_is_missing "$(object report.html)" &&
	ntflow run --no-tui p.dag >out 2>err &&
	grep "train cached" out
'

test_expect_success 'a missing uncached output reruns the stage; why says so' '
	rm report.html &&
	ntflow run --no-tui p.dag >out 2>err &&
	grep "train succeeded" out &&
	ntflow why last train >why.txt &&
	echo "train: ran: uncached output '"'"'report.html'"'"' is missing (it is not in the cache)" >expect &&
	test_cmp expect why.txt &&
	test_path_is_file report.html
'

test_expect_success 'a changed uncached output reruns the stage too' '
	echo edited >>report.html &&
	ntflow run --no-tui p.dag >out 2>err &&
	grep "train succeeded" out &&
	ntflow why last train >why.txt &&
	grep "^train: ran: uncached output .report.html. changed since run [0-9]* (it is not in the cache)$" why.txt &&
	ntflow run --no-tui p.dag >out 2>err &&
	grep "train cached" out
'

test_expect_success 'a cached output that is gone is restored while uncached ones stay put' '
	rm model.txt &&
	ntflow run --no-tui p.dag >out 2>err &&
	grep "train cached" out &&
	test_path_is_file model.txt
'

test_expect_success 'cache verify, doctor and gc keep an entry whose uncached output is not stored' '
	ntflow cache verify >out &&
	grep "; 0 of 2 cache entries dropped" out &&
	ntflow doctor >out 2>&1 &&
	grep "^cache  *ok  *2 entries, 4 outputs: every object present and sound" out &&
	ntflow cache gc >out &&
	grep "^dropped 0 of 2 cache entries" out &&
	ntflow run --no-tui p.dag >out 2>err &&
	grep "train cached" out
'

test_expect_success 'persist and uncached must name outputs' '
	cat >bad.dag <<-\EOF &&
	stage "a" {
	  run      = "true"
	  outputs  = ["x"]
	  persist  = ["y"]
	  uncached = ["x/"]
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	cat >expect <<-\EOF &&
	bad.dag:4:15: error: persist "y" of stage "a" is not one of its outputs (write it in outputs too, the same way)
	bad.dag:5:15: error: uncached "x/" of stage "a" is not one of its outputs (write it in outputs too, the same way)
	EOF
	test_cmp expect err
'

test_done
