#!/bin/sh
# t7030-dash-follow.sh: `ntflow dash` in a second tmux window follows a run started (with its
# own dashboard) in the first: states as they change, the log tail as it grows, the end,
# and the next run when it starts.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

# b writes a line, waits for the file "release", writes another, waits for "release2"
# (at most 60s in all).
test_expect_success 'setup' '
	write_dag follow.dag <<-\EOF &&
	pipeline "follow" {}
	stage "a" {
	  run = "echo a"
	}
	stage "b" {
	  needs = ["a"]
	  run   = "echo b is waiting; i=0; while ! test -f release && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done; echo b released; while ! test -f release2 && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done"
	}
	stage "c" {
	  needs = ["b"]
	  run   = "echo c"
	}
	EOF
	git add follow.dag && git commit -q -m follow
'

test_expect_success 'dash follows the run of the other window, then the next run' '
	tui_start 100 30 &&
	tui_window &&
	tui_to 0 &&
	tui_type "ntflow run follow.dag; echo status=\$?" &&
	tui_wait "^\* b  *running" &&
	tui_to 1 &&
	tui_type "ntflow dash; echo dash-status=\$?" &&
	tui_wait "^ follow | run 1 | manual" &&
	tui_wait "| 1/3 | running" &&
	tui_wait "^\* b  *running" &&
	tui_wait "^\. c  *waiting" &&
	tui_wait "^-- log b #1 " &&
	tui_wait "^b is waiting" &&
	touch release &&
	tui_wait "^b released" &&
	tui_wait "^\* b  *running" &&
	touch release2 &&
	tui_wait "| 3/3 | succeeded" &&
	tui_wait "^+ c  *succeeded" &&
	tui_to 0 &&
	tui_wait "finished - q to exit" &&
	tui_keys q &&
	tui_wait "^status=0" &&
	rm release release2 &&
	tui_type "ntflow run follow.dag --no-cache --no-tui; echo status=\$?" &&
	tui_to 1 &&
	tui_wait "^ follow | run 2 | manual" &&
	tui_wait "^\* b  *running" &&
	touch release release2 &&
	tui_wait "| 3/3 | succeeded" &&
	tui_keys q &&
	tui_wait "^dash-status=0"
'

test_done
