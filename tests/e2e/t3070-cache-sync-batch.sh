#!/bin/sh
# t3070-cache-sync-batch.sh: the cache objects a run writes are made durable once per batch,
# before the commit of the state database that holds the entries naming them. When that sync
# fails (fault injection, test builds only), nothing is committed that names the objects: the
# run fails saying why, no cache entry is recorded, and the next run runs the stages again
# (and is then cached). An object already stored is not written again. A cached rerun whose
# first batch is lost (its stages' rows with it) writes them again with their states.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_need_hooks

write_dag p.dag <<\EOF
pipeline "sync" {}

stage "a" {
  run     = "echo a >>spawns && mkdir -p build && echo A >build/a.txt"
  outputs = ["build/a.txt"]
}

stage "b" {
  needs   = ["a"]
  run     = "echo b >>spawns && mkdir -p build/b && echo B >build/b/one && echo A >build/b/same"
  outputs = ["build/b/"]
}
EOF

objects() { find .ntflow/cache/objects -type f ! -path "*/tmp/*" | wc -l; }

test_expect_success 'setup' '
	printf ".ntflow/\nbuild/\nspawns\nmarker\n" >.gitignore &&
	git add . && git commit -q -m one
'

test_expect_success 'a sync that fails: the run fails, no entry is committed' '
	test_must_fail env NTFLOW_FAULT=cache-sync-fail ntflow-test run p.dag >out 2>err &&
	cat out err &&
	grep "cannot sync the cache objects (test hook)" err &&
	ntflow cache ls >ls.txt 2>&1 &&
	cat ls.txt &&
	! grep -E " a +[0-9]+ " ls.txt &&
	! grep -E " b +[0-9]+ " ls.txt
'

test_expect_success 'the next run runs the stages again and records them' '
	: >spawns &&
	ntflow run p.dag >out 2>err &&
	cat out err &&
	test "$(sort spawns | tr "\n" " ")" = "a b " &&
	ntflow cache ls >ls.txt &&
	grep -E " a +[0-9]+ " ls.txt &&
	grep -E " b +[0-9]+ " ls.txt
'

test_expect_success 'a cached rerun writes no object' '
	n=$(objects) &&
	: >spawns &&
	ntflow run p.dag >out &&
	grep "a cached" out &&
	grep "b cached" out &&
	test ! -s spawns &&
	test "$(objects)" = "$n"
'

test_expect_success 'a forced rerun producing the same bytes writes no object either' '
	n=$(objects) &&
	: >spawns &&
	touch marker &&
	ntflow run p.dag --force a --force b >out 2>err &&
	cat out err &&
	test "$(sort spawns | tr "\n" " ")" = "a b " &&
	test "$(objects)" = "$n" &&
	find .ntflow/cache/objects -newer marker ! -type d >written &&
	test_must_be_empty written
'

test_expect_success 'a cached rerun whose first commit fails still records each stage as cached, reusing its run' '
	: >spawns &&
	test_must_fail env NTFLOW_FAULT=cache-sync-fail-once ntflow-test run p.dag >out 2>err &&
	cat out err &&
	test ! -s spawns &&
	grep "cannot sync the cache objects (test hook)" err &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json a state)" = cached &&
	test "$(stage_field show.json b state)" = cached &&
	stage_field show.json a reason >reason &&
	grep "^reused run [0-9][0-9]*$" reason
'

test_done
