#!/bin/sh
# t3080-cache-old-workspace.sh: issue 15 changed how cache keys are written (no cJSON tree),
# how objects are synced (once per batch) and how a miss is explained (when asked, schema step
# 14), but not the keys nor the layout: a workspace left by the release before (its keys are
# the ones below, as it computed them; its database at schema 12, made here by taking steps 13 to 15
# back by hand) still hits its cache, and `why` still explains.
. "$(dirname "$0")/lib.sh"

write_dag p.dag <<\EOF
pipeline "old" {
  params {
    seed = 7
  }
}

stage "prep" {
  run     = "mkdir -p build && cat in.txt >build/prep.txt && echo ${params.seed} >>build/prep.txt"
  inputs  = ["in.txt"]
  outputs = ["build/prep.txt"]
}

stage "train" {
  needs   = ["prep"]
  run     = "mkdir -p build/model && cp build/prep.txt build/model/w && printf 'x\ty\n' >build/model/tab"
  outputs = ["build/model/"]
}
EOF

test_expect_success 'setup' '
	printf "rows 1\n" >in.txt &&
	printf ".ntflow/\nbuild/\n" >.gitignore &&
	git add . && git commit -q -m one
'

test_expect_success 'the keys are those the release before computed' '
	ntflow run p.dag >out 2>err &&
	cat out err &&
	sqlite3 .ntflow/state.db "SELECT node, key FROM cache_entries ORDER BY node" >actual &&
	cat >expect <<-\EOF &&
	prep|bd9ca9806f31ca40c73295f01c800e044796cd3a9b117fe9cc4a384a3e7db289
	train|3625c15612f9dc541cc09a5cbbc7f5c961c76e19680bf15b2a845ede10d49ceb
	EOF
	test_cmp expect actual
'

test_expect_success 'a workspace at the schema before (12) is migrated and hits its cache' '
	sqlite3 .ntflow/state.db "ALTER TABLE nodes DROP COLUMN miss_prev_run; DELETE FROM statcache;
		DROP TABLE slurm_jobs; DROP INDEX nodes_perf; ALTER TABLE runs DROP COLUMN nodes_total; ALTER TABLE runs DROP COLUMN nodes_done;
		ALTER TABLE runs DROP COLUMN cohort; ALTER TABLE runs DROP COLUMN risk_score;
		ALTER TABLE runs DROP COLUMN risk_tier; ALTER TABLE model_versions DROP COLUMN cohort;
		UPDATE nodes SET miss_reason = '"'"'no earlier run'"'"'; PRAGMA user_version = 12" &&
	rm -rf build &&
	ntflow run p.dag >out 2>err &&
	cat out err &&
	grep "prep cached" out &&
	grep "train cached" out &&
	test "$(sqlite3 .ntflow/state.db "PRAGMA user_version")" -ge 14 &&
	printf "x\ty\n" >expect &&
	test_cmp expect build/model/tab &&
	ntflow why 1 prep >why1 &&
	echo "prep: ran: no earlier run" >expect &&
	test_cmp expect why1 &&
	ntflow why train >why2 &&
	grep "^train: cached: reused the result of run 1 " why2
'

test_expect_success 'a miss after the migration is explained when asked' '
	printf "rows 2\n" >in.txt &&
	ntflow run p.dag >out 2>err &&
	cat out err &&
	ntflow why prep >why3 &&
	grep "^prep: ran: input in.txt changed (blob " why3 &&
	ntflow why train >why4 &&
	echo "train: ran: upstream prep produced different outputs" >expect &&
	test_cmp expect why4
'

test_done
