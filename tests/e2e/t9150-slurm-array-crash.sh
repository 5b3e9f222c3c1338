#!/bin/sh
# t9150-slurm-array-crash.sh: array tasks after a kill -9 of ntflow, on a real single-node
# cluster (tests/slurm/cluster.sh). A matrix of 3 is one array job; the run is frozen once it
# is submitted, one task finishes meanwhile, the other two still run, and ntflow is killed:
# the next `ntflow run` adopts the finished task (its outputs checked and cached, not
# submitted again: the new array has 2 tasks) and cancels the live ones before submitting
# them again. Skipped (77) without a cluster.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-slurm.sh"

slurm_start

write_dag arr.dag <<\EOF2
pipeline "arr" {
  concurrency = 8
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}
stage "sq" {
  matrix {
    x = [1, 2, 3]
  }
  run     = "if test ${matrix.x} != 1; then while test -f hold; do sleep 0.2; done; fi; echo task-${matrix.x}-done; mkdir -p build && echo ${matrix.x} >build/sq-${matrix.x}.txt"
  outputs = ["build/sq-${matrix.x}.txt"]
}
EOF2

test_expect_success 'kill -9 with one array task finished and two running' '
	git add arr.dag .gitignore && git commit -qm arr &&
	touch hold &&
	ntflow run arr.dag --no-tui >out1 2>&1 &
	pid=$! &&
	wait_until "test \$(sbatch_calls) = 1 && test -n \"\$(sqlite3 .ntflow/state.db \"SELECT count(*) FROM slurm_jobs WHERE task = 2\" | grep 1)\"" 300 &&
	kill -STOP $pid &&
	wait_until "test -f build/sq-1.txt" 300 &&
	wait_until "test \$(squeue -h -t running -o %j | grep -c ntflow-1-sq) = 2" 300 &&
	kill -9 $pid &&
	{ wait $pid || :; } &&
	grep -- "--array=0-2" .sbatch-calls &&
	! grep "succeeded" out1
'

# hold stays until the next run has cancelled the killed run's two waiting tasks and
# submitted its own: removed earlier, they could finish first and be adopted too.
test_expect_success 'the next run adopts the finished task and resubmits only the others' '
	{ ntflow run arr.dag --no-tui >out2 2>&1 & } &&
	pid=$! &&
	wait_until "test \$(sbatch_calls) = 2" 300 &&
	rm hold &&
	wait $pid &&
	test "$(sbatch_calls)" = 2 &&
	tail -1 .sbatch-calls | grep -- "--array=0-1" &&
	tail -1 .sbatch-calls | grep -- "--job-name=ntflow-2-sq" &&
	grep "adopted Slurm job [0-9]*_0 (ntflow-1-sq" out2 &&
	test "$(grep -c "sq.* succeeded" out2)" = 3 &&
	log=$(grep -l "task-1-done" .ntflow/logs/2/*) &&
	grep "adopted Slurm job [0-9]*_0" $log &&
	test -z "$(squeue_names)"
'

test_expect_success 'the adopted task was cached like the others' '
	ntflow run arr.dag --no-tui >out3 2>&1 &&
	test "$(sbatch_calls)" = 2 &&
	test "$(grep -c "sq.* cached" out3)" = 3
'

test_done
