#!/bin/sh
# t9120-slurm-crash.sh: the Slurm executor after a kill -9 of ntflow, and Slurm's own time
# limit, on a real single-node cluster (tests/slurm/cluster.sh). A run is frozen once both
# its jobs are submitted, one job finishes meanwhile, the other still runs, and ntflow is
# killed: the next `ntflow run` adopts the finished job (its outputs checked and cached, no
# new sbatch for it) and cancels the running one before submitting it again. A stage over
# its slurm.time of one minute ends timed-out when Slurm stops it (TIMEOUT; Slurm enforces
# limits about every 30 s: this test takes 60 to 100 s). A controller that does not answer
# fails the attempt with sbatch's message, retried as any failure. Skipped (77) without a
# cluster.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-slurm.sh"

slurm_start

write_dag crash.dag <<\EOF2
pipeline "crash" {
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}
stage "quick" {
  run     = "echo quick-done; mkdir -p build && echo quick-done >build/quick.txt"
  outputs = ["build/quick.txt"]
}
stage "long" {
  run     = "while test -f hold; do sleep 0.2; done; mkdir -p build && echo long-done >build/long.txt"
  outputs = ["build/long.txt"]
}
EOF2

test_expect_success 'kill -9 with one job finished and one running' '
	git add crash.dag .gitignore && git commit -qm crash &&
	touch hold &&
	ntflow run crash.dag --no-tui >out1 2>&1 &
	pid=$! &&
	# Frozen once both are submitted: it cannot see the quick one end.
	wait_until "test \$(squeue -h -t all -o %j | grep -c ntflow-1-) = 2" 300 &&
	wait_until "test \$(sqlite3 .ntflow/state.db \"SELECT count(*) FROM slurm_jobs WHERE run_id = 1\" 2>/dev/null) = 2" 300 &&
	kill -STOP $pid &&
	wait_until "test -f build/quick.txt" 300 &&
	wait_until "squeue -h -t running -o %j | grep -q ntflow-1-long" 300 &&
	kill -9 $pid &&
	{ wait $pid || :; } &&
	test "$(sbatch_calls)" = 2 &&
	! grep "quick succeeded" out1
'

# hold stays until the next run has cancelled the killed run's long job and submitted its
# own: removed earlier, the old job could finish first and be adopted instead.
test_expect_success 'the next run adopts the finished job and cancels the running one first' '
	{ ntflow run crash.dag --no-tui >out2 2>&1 & } &&
	pid=$! &&
	wait_until "test \$(sbatch_calls) = 3" 300 &&
	rm hold &&
	wait $pid &&
	# one new submission: long; quick was adopted, not submitted again
	test "$(sbatch_calls)" = 3 &&
	tail -1 .sbatch-calls | grep -- "--job-name=ntflow-2-long" &&
	grep "adopted Slurm job [0-9]* (ntflow-1-quick)" out2 &&
	grep "cancelled Slurm job [0-9]* (long of killed run 1, still RUNNING)" out2 &&
	grep "quick succeeded" out2 &&
	grep "long succeeded" out2 &&
	grep "quick-done" .ntflow/logs/2/quick.1.log &&
	grep "adopted Slurm job" .ntflow/logs/2/quick.1.log &&
	# run 2 names the job it adopted, that of run 1
	ntflow show 2 >show2 &&
	grep "quick  *job [0-9]*  *COMPLETED  ntflow-1-quick" show2 &&
	test -z "$(squeue_names)"
'

test_expect_success 'the adopted result was cached like any other' '
	ntflow run crash.dag --no-tui >out3 2>&1 &&
	test "$(sbatch_calls)" = 3 &&
	grep "quick cached" out3 &&
	grep "long cached" out3
'

write_dag limit.dag <<\EOF2
pipeline "limit" {
}
stage "over" {
  executor = "slurm"
  run      = "echo started; sleep 300"
  slurm {
    time = "1"
    poll = "500ms"
  }
}
EOF2

test_expect_success 'a stage over its Slurm time limit ends timed-out' '
	test_expect_code 1 ntflow run limit.dag --no-tui >out 2>&1 &&
	grep "over timed-out.*timed out: Slurm job [0-9]* reached its time limit (TIMEOUT)" out &&
	grep "started" .ntflow/logs/*/over.1.log &&
	grep -i "time limit" .ntflow/logs/*/over.1.log
'

write_dag down.dag <<\EOF2
pipeline "down" {
}
stage "nowhere" {
  executor = "slurm"
  retries  = 1
  backoff  = "10ms"
  run      = "true"
}
EOF2

# Last: it stops the cluster's controller.
test_expect_success 'a controller that does not answer fails the attempt, retried, with the reason' '
	kill $(awk "/^slurmctld /{ print \$2 }" "$slurm_dir_/pids") &&
	test_expect_code 1 ntflow run down.dag --no-tui >out 2>&1 &&
	grep "nowhere retrying.*sbatch failed: .*[Uu]nable to contact slurm controller" out &&
	grep "nowhere failed.*sbatch failed: .*[Uu]nable to contact slurm controller" out
'

test_done
