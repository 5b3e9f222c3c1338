#!/bin/sh
# t2330-dir.sh: a stage's dir (issue 17, DVC's wdir): the command runs in that folder of
# the project, while inputs, outputs and metrics stay relative to the root; a dir outside
# the project is refused by validate, and once interpolated by the run; a dir that is not
# there fails the stage before it starts; the folder is part of the cache key.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

write_dag p.dag <<\EOF
pipeline "p" {
  params {
    sub = "src"
  }
}

stage "build" {
  dir     = "${params.sub}"
  run     = "pwd >../where.txt && mkdir -p ../build && cat input.txt >../build/out.txt && echo '{\"n\": 1}' >../build/m.json"
  inputs  = ["src/input.txt"]
  outputs = ["build/out.txt"]
  metrics = "build/m.json"
}

stage "words" {
  dir     = "src/deeper"
  run     = ["sh", "-c", "pwd >../../words.txt"]
  outputs = ["words.txt"]
}
EOF

test_expect_success 'setup' '
	mkdir -p src/deeper other &&
	echo hello >src/input.txt &&
	echo other >other/input.txt &&
	printf "/.ntflow/\n/build/\n*.txt\n!src/input.txt\n!other/input.txt\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow validate p.dag
'

test_expect_success 'the command runs in dir; paths stay relative to the root' '
	ntflow run --no-tui p.dag >out 2>err &&
	echo "$PWD/src" >expect &&
	test_cmp expect where.txt &&
	echo "$PWD/src/deeper" >expect &&
	test_cmp expect words.txt &&
	echo hello >expect &&
	test_cmp expect build/out.txt &&
	show_json &&
	test "$(stage_field show.json build state)" = succeeded
'

test_expect_success 'another dir is another cache key' '
	ntflow run --no-tui p.dag >out 2>err &&
	grep "build cached" out &&
	ntflow run --no-tui -p sub=other p.dag >out 2>err &&
	grep "build succeeded" out &&
	echo other >expect &&
	test_cmp expect build/out.txt
'

test_expect_success 'a dir outside the project: validate and the run refuse it' '
	sed "s|dir     = \"src/deeper\"|dir     = \"../elsewhere\"|" p.dag >out.dag &&
	test_expect_code 2 ntflow validate out.dag 2>err &&
	echo "out.dag:16:13: error: dir \"../elsewhere\" of stage \"words\" is outside the workspace" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow run --no-tui -p sub=../.. p.dag >out 2>err &&
	grep "build failed.*dir .*outside" out
'

test_expect_success 'a dir that is not there fails the stage before it starts' '
	test_expect_code 1 ntflow run --no-tui -p sub=nope p.dag >out 2>err &&
	grep "build failed: stage \"build\": its dir .nope. is not a folder" out
'

test_done
