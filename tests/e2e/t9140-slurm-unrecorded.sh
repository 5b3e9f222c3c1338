#!/bin/sh
# t9140-slurm-unrecorded.sh: a kill -9 of ntflow after sbatch returned and before the run
# recorded the job (the crash point slurm-after-sbatch) leaves a job only Slurm knows; the
# next `ntflow run` in the workspace finds it by its name (ntflow-RUN-...) and its working
# directory with one squeue and cancels it. A job of another workspace with the same name
# is left alone. On a real single-node cluster (tests/slurm/cluster.sh); skipped (77)
# without one.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-slurm.sh"

test_need_hooks
slurm_start

write_dag lost.dag <<\EOF2
pipeline "lost" {
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}
stage "held" {
  run = "while test -f hold; do sleep 0.2; done"
}
EOF2

test_expect_success 'killed right after sbatch: the job is live and recorded nowhere' '
	git add lost.dag .gitignore && git commit -qm lost &&
	touch hold &&
	test_expect_code 137 env NTFLOW_FAULT=slurm-after-sbatch ntflow-test run lost.dag --no-tui >out1 2>&1 &&
	test "$(sbatch_calls)" = 1 &&
	test "$(squeue_names)" = ntflow-1-held &&
	test -z "$(sqlite3 .ntflow/state.db "SELECT job_id FROM slurm_jobs")"
'

test_expect_success 'a job of another workspace with the same name is not ours' '
	mkdir -p other &&
	sbatch --job-name=ntflow-1-other --chdir="$TRASH_DIRECTORY/other" --output=/dev/null \
		--wrap="while test -f $TRASH_DIRECTORY/hold; do sleep 0.2; done" >other.id
'

test_expect_success 'the next run cancels it before it submits its own' '
	rm hold &&
	ntflow run lost.dag --no-tui >out2 2>&1 &&
	grep "cancelled Slurm job [0-9]* (ntflow-1-held, of killed run 1, never recorded)" out2 &&
	grep "held succeeded" out2 &&
	test "$(sbatch_calls)" = 3 &&
	tail -1 .sbatch-calls | grep -- "--job-name=ntflow-2-held" &&
	! grep "ntflow-1-other" out2
'

test_expect_success 'the other workspace'"'"'s job ran on' '
	wait_until "test -z \"\$(squeue_names)\"" 300 &&
	id=$(sed "s/[^0-9]//g" other.id) &&
	sacct -n -X -j $id -o State 2>/dev/null | grep -q COMPLETED ||
	scontrol show job $id | grep -q "JobState=COMPLETED"
'

test_done
