#!/bin/sh
# t9160-slurm-dash.sh: `ntflow run`'s own dashboard gives each Slurm stage its job id, state
# and reason, as dash and show do (from the same store rows): two stages of 40 CPUs on a
# node of 64, so one runs and the other waits, "PENDING (Resources)". In tmux
# (tests/e2e/lib-tui.sh), on a real single-node cluster (tests/slurm/cluster.sh); skipped
# (77) without either.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-slurm.sh"

slurm_start

write_dag busy.dag <<\EOF2
pipeline "busy" {
  concurrency = 8
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
      cpus = 40
    }
  }
}
stage "one" {
  run = "while test -f hold; do sleep 0.2; done"
}
stage "two" {
  run = "while test -f hold; do sleep 0.2; done"
}
EOF2

test_expect_success 'the run'"'"'s dashboard shows the running job and the pending one with its reason' '
	git add busy.dag .gitignore && git commit -qm busy &&
	touch hold &&
	tui_start 120 30 &&
	tui_type "SLURM_CONF=$SLURM_CONF PATH=$PATH ntflow run busy.dag" &&
	tui_wait "job [0-9]* RUNNING" 600 &&
	tui_wait "job [0-9]* PENDING (Resources)" 600 &&
	tui_screen >during &&
	grep -E "(one|two) .*job [0-9]+ RUNNING" during &&
	grep -E "(one|two) .*job [0-9]+ PENDING \(Resources\)" during &&
	rm hold &&
	tui_wait "finished - q to exit" 600 &&
	tui_keys q &&
	tui_wait "^run 1 of busy succeeded in" &&
	test -z "$(squeue_names)"
'

test_done
