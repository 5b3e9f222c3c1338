#!/bin/sh
# t2325-foreach.sh: foreach over a list and over named instances (issue 17): one node per
# element, STAGE@KEY in graph, show, why and logs; ${item}, ${key} and ${item.FIELD};
# needs on the whole stage or on one instance; each instance cached on its own.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

write_dag p.dag <<\EOF
stage "gen" {
  foreach = ["us", "eu", 3]
  run     = "mkdir -p build/gen && echo ${item} ${key} $NTFLOW_INSTANCE >build/gen/${key}.txt"
  outputs = ["build/gen/${key}.txt"]
}

stage "report" {
  foreach {
    instance "small" {
      region = "us"
      rows   = 2
    }
    instance "big" {
      region = "eu"
      rows   = 5
    }
  }
  needs   = ["gen"]
  run     = "mkdir -p build/rep && echo ${key} ${item.region} ${item.rows} >build/rep/${key}.txt && cat build/gen/${item.region}.txt"
  outputs = ["build/rep/${key}.txt"]
}

stage "after-us" {
  needs   = ["gen@us"]
  run     = "cat build/gen/us.txt >after-us.txt"
  outputs = ["after-us.txt"]
}
EOF

test_expect_success 'setup' '
	printf "/.ntflow/\n/build/\n*.txt\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow validate p.dag
'

test_expect_success 'graph: one node per element, named STAGE@KEY; needs of one instance' '
	ntflow graph p.dag >g.txt &&
	cat >expect <<-\EOF &&
	p.dag: 3 stages, 6 nodes in topological order; crit is the critical path in cpus

	gen  [stage, foreach of 3, crit 2]
	  - gen@us  id us
	  - gen@eu  id eu
	  - gen@3  id 3

	report  [stage, foreach of 2, crit 1]
	  needs: gen (3 instances)
	  - report@small  id small
	  - report@big  id big

	after-us  [stage, crit 1]
	  needs: gen@us
	EOF
	test_cmp expect g.txt
'

test_expect_success 'a run expands ${item}, ${key} and ${item.FIELD} per instance' '
	ntflow run --no-tui -j 4 p.dag >out 2>err &&
	echo "us us us" >expect && test_cmp expect build/gen/us.txt &&
	echo "3 3 3" >expect && test_cmp expect build/gen/3.txt &&
	echo "small us 2" >expect && test_cmp expect build/rep/small.txt &&
	echo "big eu 5" >expect && test_cmp expect build/rep/big.txt &&
	echo "us us us" >expect && test_cmp expect after-us.txt &&
	grep "gen@eu succeeded" out &&
	grep "report@big succeeded" out
'

test_expect_success 'show, why and logs name the instances STAGE@KEY' '
	show_json &&
	test "$(stage_field show.json report@big state)" = succeeded &&
	test "$(stage_field show.json gen@3 state)" = succeeded &&
	ntflow why 1 report@small >why.txt &&
	grep "^report@small: ran" why.txt &&
	ntflow why 1 report >why.txt &&
	test_line_count = 2 why.txt &&
	ntflow logs 1 report@big >log.txt &&
	echo "eu eu eu" >expect &&
	test_cmp expect log.txt
'

test_expect_success 'instances are cached one by one: a new element runs alone' '
	sed -i "s/foreach = \[\"us\", \"eu\", 3\]/foreach = [\"us\", \"eu\", 3, \"asia\"]/" p.dag &&
	ntflow run --no-tui -j 4 p.dag >out 2>err &&
	grep "gen@asia succeeded" out &&
	grep "gen@us cached" out &&
	grep "gen@eu cached" out &&
	grep "after-us cached" out
'

test_expect_success 'a changed field reruns its instance only' '
	sed -i "s/rows   = 5/rows   = 6/" p.dag &&
	ntflow run --no-tui -j 4 p.dag >out 2>err &&
	grep "report@big succeeded" out &&
	grep "report@small cached" out &&
	echo "big eu 6" >expect && test_cmp expect build/rep/big.txt
'

test_expect_success 'matrix and foreach together, and a needs of a missing instance, are refused' '
	cat >bad.dag <<-\EOF &&
	stage "a" {
	  foreach = ["x"]
	  matrix {
	    n = [1]
	  }
	  run = "true"
	}
	stage "b" {
	  needs = ["a@y"]
	  run   = "true"
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	cat >expect <<-\EOF &&
	bad.dag:2:13: error: stage "a" has both matrix and foreach; use one of them
	bad.dag:9:12: error: stage "b" needs "a@y": stage "a" has no instance "y"
	EOF
	test_cmp expect err
'

test_done
