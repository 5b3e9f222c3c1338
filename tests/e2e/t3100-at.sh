#!/bin/sh
# t3100-at.sh: `ntflow run --at COMMIT` runs the pipeline as it was at a past commit, in a
# temporary checkout, sharing the cache: what is still valid is reused, and what reruns
# reproduces that commit's outputs byte for byte. A run --at killed before it removed its
# checkout leaves it to the next run, which removes it.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

write_dag p.dag <<\EOF
pipeline "p" {}

stage "copy" {
  run     = "cp in.txt out.txt; pwd >where"
  inputs  = ["in.txt"]
  outputs = ["out.txt"]
}
EOF

# The outputs recorded in the cache entry of the key that node "copy" of run $1 had.
entry_outputs() {
	sqlite3 .ntflow/state.db "SELECT e.outputs FROM cache_entries e JOIN nodes n ON n.cache_key = e.key WHERE n.run_id = $1 AND n.name = 'copy'"
}

test_expect_success 'two commits, one run at each' '
	printf "out.txt\nwhere\n.ntflow/\n" >.gitignore &&
	echo one >in.txt &&
	git add -A && git commit -q -m one &&
	ntflow run p.dag >out1 &&
	echo two >in.txt &&
	git commit -q -a -m two &&
	ntflow run p.dag >out2 &&
	echo two >expect && test_cmp expect out.txt
'

test_expect_success '--at the first commit reuses its cached result' '
	ntflow run p.dag --at HEAD~1 >out3 &&
	grep "copy cached: reused run 1" out3 &&
	k1=$(sqlite3 .ntflow/state.db "SELECT cache_key FROM nodes WHERE run_id = 1") &&
	k3=$(sqlite3 .ntflow/state.db "SELECT cache_key FROM nodes WHERE run_id = 3") &&
	test -n "$k1" && test "$k1" = "$k3" &&
	c1=$(git rev-parse HEAD~1) &&
	c3=$(sqlite3 .ntflow/state.db "SELECT git_commit FROM runs WHERE id = 3") &&
	test "$c1" = "$c3"
'

test_expect_success 'the workspace is untouched and the checkout is gone' '
	echo two >expect && test_cmp expect out.txt &&
	test -z "$(ls .ntflow/worktrees 2>/dev/null)" &&
	git status --porcelain --untracked-files=no >status && test_must_be_empty status
'

test_expect_success '--at with --no-cache reruns there and reproduces the bytes' '
	before=$(entry_outputs 1) && test -n "$before" &&
	cp where where.before &&
	ntflow run p.dag --at HEAD~1 --no-cache >out4 &&
	grep "copy succeeded" out4 &&
	after=$(entry_outputs 4) &&
	test -n "$after" && test "$before" = "$after" &&
	sha=$(printf "one\n" | sha256sum | cut -c1-64) &&
	echo "$after" | grep "file:$sha" &&
	test -f ".ntflow/cache/objects/$(echo $sha | cut -c1-2)/$(echo $sha | cut -c3-)" &&
	test_cmp where.before where
'

test_expect_success 'an unknown commit is a usage error' '
	test_expect_code 2 ntflow run p.dag --at no-such-commit 2>err &&
	grep "unknown commit .no-such-commit." err
'

test_expect_success 'a pipeline file that did not exist at the commit' '
	cp p.dag q.dag && git add q.dag && git commit -q -m three &&
	test_must_fail ntflow run q.dag --at HEAD~1 2>err &&
	grep "q.dag. does not exist at commit" err
'

test_expect_success 'the checkout of a run --at that was killed is removed by the next run' '
	write_dag hang.dag <<-\EOF &&
	pipeline "hang" {}

	stage "hang" {
	  run   = "touch \"$HOME/at.started\" && exec sleep 3000"
	  cache = false
	}
	EOF
	echo at.started >>.gitignore &&
	git add hang.dag .gitignore && git commit -q -m hang &&
	ntflow run hang.dag --at HEAD >out 2>&1 &
	pid=$! &&
	test_when_finished "kill -9 $pid 2>/dev/null; ntflow runs >/dev/null 2>&1; true" &&
	wait_for_file at.started &&
	kill -9 $pid &&
	{ wait $pid; test $? = 137; } &&
	test -n "$(ls .ntflow/worktrees)" &&
	ntflow run p.dag >out 2>err &&
	cat err &&
	test_path_is_missing .ntflow/worktrees
'

test_done
