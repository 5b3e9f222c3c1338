#!/bin/sh
# t4055-cache-gc-retention.sh: a pipeline's cache_gc (with keep_runs or keep_days): after each
# run, as `ntflow cache gc` would, the pipeline's cache entries that only the runs let go
# made or used are dropped, and the objects no entry needs removed, so a weekly retrain
# left alone for a year does not fill the disk with every model it ever stored. Another
# pipeline's entries stay, and so do those of the runs the prune keeps though the rules
# would not (the production version's, after a rollback); without cache_gc every entry
# stays; cache_gc alone is refused.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-registry.sh"

# objects: the files under the object store
objects() { find .ntflow/cache/objects -type f | wc -l | tr -d " "; }
# entries NODE: how many cache entries node NODE has
entries() { ntflow cache ls --json >ls.json && json_get ls.json . | python3 -c "
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e['node'] == sys.argv[1]))" "$1"; }

test_expect_success 'setup' '
	write_dag w.dag <<-\EOF &&
	pipeline "w" {
	  keep_runs = 2
	  cache_gc  = true
	  params {
	    v = 0
	  }
	}

	stage "train" {
	  run     = "echo model ${params.v} >model.txt"
	  outputs = ["model.txt"]
	}
	EOF
	write_dag o.dag <<-\EOF &&
	pipeline "o" {}

	stage "other" {
	  run     = "echo other >other.txt"
	  outputs = ["other.txt"]
	}
	EOF
	write_dag k.dag <<-\EOF &&
	pipeline "k" {
	  keep_runs = 1
	  params {
	    v = 0
	  }
	}

	stage "keep" {
	  run     = "echo keep ${params.v} >keep.txt"
	  outputs = ["keep.txt"]
	}
	EOF
	git add . && git commit -q -m w &&
	ntflow validate w.dag &&
	ntflow fmt --check w.dag
'

test_expect_success 'each run drops the entries only runs before the last 2 made, and their objects' '
	ntflow run --no-tui o.dag >/dev/null &&
	for v in 1 2 3 4; do
		ntflow run --no-tui w.dag -p v=$v >out 2>err || return 1
		! grep -i warn err || return 1
	done &&
	test "$(entries train)" = 2 &&
	test "$(entries other)" = 1 &&
	test "$(objects)" = 3 &&
	# the entry of v=1 is gone: it runs again, and its result is right
	ntflow run --no-tui w.dag -p v=1 >out &&
	grep "train succeeded" out &&
	test "$(cat model.txt)" = "model 1" &&
	# and v=4 is still cached (run 5 made it, run 6 kept it as the last 2)
	ntflow run --no-tui w.dag -p v=4 >out &&
	grep "train cached" out &&
	test "$(cat model.txt)" = "model 4" &&
	test "$(entries train)" = 2 &&
	test "$(entries other)" = 1
'

# entries_of NODE RUN: how many cache entries node NODE has from run RUN
entries_of() { ntflow cache ls --json >ls.json && json_get ls.json . | python3 -c "
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e['node'] == sys.argv[1] and e['run_id'] == int(sys.argv[2])))" "$1" "$2"; }

test_expect_success 'the runs the prune keeps keep their entries: the production version rolled back to' '
	mkdir reg && (
		cd reg && git init -q &&
		write_gated_pipeline &&
		sed -i "s/^pipeline \"p\" {\$/pipeline \"p\" {\n  keep_runs = 2\n  cache_gc  = true/" p.dag &&
		grep "cache_gc  = true" p.dag &&
		git commit -q -am gc &&
		ntflow run --no-tui p.dag -p acc=0.9 >out 2>err &&
		ntflow run --no-tui p.dag -p acc=0.95 >out 2>err &&
		test "$(production)" = 2 &&
		# by hand, with a smaller number than keep_runs: run 1 is pruned, its entries stay
		ntflow prune --keep-runs 1 >out &&
		ntflow show 1 --json >s1.json && test "$(json_get s1.json .run.pruned)" != null &&
		test "$(entries_of train 1)" = 1 &&
		ntflow registry rollback clf >out &&
		test "$(production)" = 1 &&
		test_expect_code 3 ntflow run --no-tui p.dag -p acc=0.5 >out 2>err &&
		! grep -i warn err &&
		# run 1 is not among the newest 2 (3 and 2), and was pruned, but its version is
		# in production again: keep_runs keeps it, and cache_gc its entries
		test "$(entries_of train 1)" = 1 &&
		test "$(entries_of train 2)" = 1 &&
		test "$(entries_of train 3)" = 1
	)
'

test_expect_success 'without cache_gc, keep_runs prunes the history and leaves the cache' '
	for v in 1 2 3; do
		ntflow run --no-tui k.dag -p v=$v >out 2>err || return 1
	done &&
	test "$(entries keep)" = 3
'

test_expect_success 'cache_gc alone is refused by validate' '
	write_dag alone.dag <<-\EOF &&
	pipeline "b" {
	  cache_gc = true
	}

	stage "a" {
	  run = "true"
	}
	EOF
	test_expect_code 2 ntflow validate alone.dag 2>err &&
	cat err &&
	grep "^alone.dag:2:14: error: cache_gc needs keep_runs or keep_days: it says which runs. cache entries stay$" err
'

test_done
