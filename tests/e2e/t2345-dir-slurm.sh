#!/bin/sh
# t2345-dir-slurm.sh: a stage's dir on the Slurm executor (issue 17): the job is submitted
# with --chdir at the workspace (which says whose job it is) and its batch script cds into
# the stage's dir, so the command runs there as it does locally. Skipped (77) when no
# cluster can start.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-slurm.sh"

slurm_start

write_dag p.dag <<\EOF
pipeline "p" {
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}

stage "sub" {
  dir     = "src/deep"
  run     = "pwd >../../where.txt"
  outputs = ["where.txt"]
}
EOF

test_expect_success 'the job runs in the stage'"'"'s dir; sbatch gets the workspace as --chdir' '
	mkdir -p src/deep &&
	printf "/.ntflow/\n/.bin/\n.sbatch-calls\n*.txt\n" >>.gitignore &&
	git add p.dag .gitignore && git commit -q -m pipeline &&
	ntflow run --no-tui p.dag >out 2>&1 &&
	echo "$TRASH_DIRECTORY/src/deep" >expect &&
	test_cmp expect where.txt &&
	grep -- "--chdir=$TRASH_DIRECTORY " .sbatch-calls &&
	grep -x "cd .*src/deep.* || exit 1" .ntflow/slurm/1/n0.a1.sh
'

test_done
