#!/bin/sh
# t9100-slurm-validate.sh: the Slurm executor without a cluster: executor = "slurm" and the
# slurm { } block are accepted (they were refused before the executor existed), --executor
# takes only local or slurm, and a stage on Slurm with no sbatch on PATH fails with a
# message that says so, after its retries, instead of running locally or hanging.
. "$(dirname "$0")/lib.sh"

write_dag slurm.dag <<\EOF2
pipeline "p" {
  defaults {
    executor = "slurm"
    slurm {
      partition = "debug"
      poll      = "200ms"
    }
  }
}
stage "prep" {
  run = "echo prep >prep.txt"
}
stage "train" {
  run      = "true"
  needs    = ["prep"]
  retries  = 1
  backoff  = "10ms"
  slurm {
    time       = "10:00"
    cpus       = 2
    mem        = "1G"
    constraint = "avx2"
    extra      = ["--exclusive", "--comment=${run.id}"]
  }
}
stage "eval" {
  run      = "true"
  needs    = ["train"]
  executor = "local"
}
EOF2

test_expect_success 'executor = "slurm" and its slurm block validate' '
	ntflow validate slurm.dag
'

test_expect_success '--executor takes local or slurm only' '
	test_expect_code 2 ntflow run slurm.dag --executor pbs 2>err &&
	grep "expected local or slurm" err
'

test_expect_success 'without sbatch, a Slurm stage fails after its retries with the reason' '
	mkdir empty &&
	test_must_fail env PATH="$PWD/empty" "$NTFLOW_BUILD_DIR/ntflow" run slurm.dag --only train --no-tui >out 2>&1 &&
	grep "train retrying.*sbatch failed: cannot run sbatch" out &&
	grep "train failed.*sbatch failed: cannot run sbatch" out &&
	test_path_is_missing prep.txt
'

test_expect_success 'the batch script exports the environment line by line and cds or exits' '
	grep "^export NTFLOW_STAGE='\''train'\''$" .ntflow/slurm/1/n1.a1.sh &&
	grep "|| exit 1$" .ntflow/slurm/1/n1.a1.sh
'

test_done
