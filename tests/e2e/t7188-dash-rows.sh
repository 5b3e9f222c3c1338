#!/bin/sh
# t7188-dash-rows.sh: the stage rows (tmux, ntflow run): a running stage's time in tenths
# of a second; names too long for their column cut with an ellipsis (~ without UTF-8), a
# matrix instance's between its values and never inside one; the selected row keeps its
# state's look (reversed and bold for a failure, without colours) instead of plain reverse.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: a long name, a matrix with long values, a failure, a stage that waits' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}

	stage "a_stage_with_a_rather_long_name" {
	  run = "exit 1"
	}

	stage "m" {
	  matrix {
	    lr   = [0.001, 0.002]
	    seed = [1000000]
	  }
	  run = "true"
	}

	stage "waits" {
	  run = "while ! test -f go; do sleep 0.05; done"
	}
	EOF
	git add p.dag && git commit -q -m p
'

esc=$(printf "\033")

test_expect_success 'tenths while it runs; ellipses; the selected failure stays bold (80x24)' '
	tui_start 80 24 &&
	tui_type "ntflow run p.dag --keep-going; echo status=\$?" &&
	tui_wait "^\* waits  *running  *1  *[0-9][0-9]*\.[0-9]s" &&
	tui_wait "^x a_stage_with_a_rat~ failed" &&
	tui_wait "^+ - m (2)" &&
	tui_wait "^+   \[lr=0.001,~\]  *succeeded" &&
	tui_screen >s &&
	! grep -E "^. +\[[^] ]* " s &&
	# the failure, selected: reversed and bold together
	tui_keys g &&
	tmux -L "$tui" capture-pane -e -p -t "$tui_target" >colours &&
	grep -a "a_stage_with" colours | grep -a -E "${esc}\[([0-9;]*;)?1;7m|${esc}\[([0-9;]*;)?7;1m" &&
	: >go &&
	tui_wait "finished" &&
	tui_keys q &&
	tui_wait "^status=1"
'

test_done
