#!/bin/sh
# t7060-dash-wait.sh: `ntflow dash` in a workspace without a run yet waits for the first run
# (saying what it waits for, and for `dash FILE` the pipeline's schedule and next fire
# time), then follows that run; the header of a scheduled pipeline's run shows its
# schedule, zone and next fire time; q quits while waiting.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

# a waits for the file "release" (at most 60s)
test_expect_success 'setup: a weekly pipeline in Berlin, a plain one' '
	write_dag weekly.dag <<-\EOF &&
	pipeline "weekly" {
	  schedule = "0 3 * * MON"
	  timezone = "Europe/Berlin"
	}
	stage "a" {
	  run = "echo a is waiting; i=0; while ! test -f release && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done; echo a released"
	}
	EOF
	write_dag plain.dag <<-\EOF &&
	pipeline "plain" {}
	stage "p" {
	  run = "echo p"
	}
	EOF
	git add weekly.dag plain.dag && git commit -q -m dags
'

# next_fire: the next fire time as `ntflow schedule` computes it, as the header writes it
next_fire() { ntflow schedule weekly.dag --next 1 | sed "s/[.*^$]/\\\\&/g"; }

test_expect_success 'dash FILE before any run: waits, shows the schedule and next fire time, then follows the first run' '
	test_path_is_missing .ntflow &&
	tui_start 200 30 &&
	tui_window &&
	tui_to 1 &&
	tui_type "ntflow dash weekly.dag; echo dash-status=\$?" &&
	tui_wait "^ ntflow dash | waiting for the first run of weekly in $(pwd -P)/.ntflow\$" &&
	tui_wait "^ schedule 0 3 \* \* MON (Europe/Berlin) | next .*Z, in [0-9][0-9dhm]*\$" &&
	next=$(next_fire) &&
	{ tui_wait "| next $next, in " 10 || tui_wait "| next $(next_fire), in "; } &&
	test_path_is_missing .ntflow &&
	tui_to 0 &&
	tui_type "ntflow run weekly.dag --no-tui; echo status=\$?" &&
	tui_to 1 &&
	tui_wait "^ weekly | run 1 | manual" &&
	tui_wait "^ schedule 0 3 \* \* MON (Europe/Berlin) | next " &&
	tui_wait "^\* a  *running" &&
	tui_wait "^a is waiting" &&
	touch release &&
	tui_wait "| 1/1 | succeeded" &&
	tui_to 0 &&
	tui_wait "^status=0" &&
	tui_to 1 &&
	tui_keys q &&
	tui_wait "^dash-status=0"
'

test_expect_success 'plain dash with no state directory: waits for the first run, q quits (exit 0)' '
	mkdir other &&
	(cd other && git init -q) &&
	tui_start 200 30 &&
	tui_type "cd other && ntflow dash; echo dash-status=\$?" &&
	tui_wait "^ ntflow dash | waiting for the first run in $(pwd -P)/other/.ntflow\$" &&
	tui_wait_not "^ schedule " &&
	tui_keys q &&
	tui_wait "^dash-status=0" &&
	test_path_is_missing other/.ntflow
'

test_expect_success 'a pipeline without a schedule: no schedule line over its run' '
	tui_start 200 30 &&
	tui_type "ntflow run plain.dag --no-tui && ntflow dash; echo dash-status=\$?" &&
	tui_wait "^ plain | run 2 | manual" &&
	tui_wait "^+ p  *succeeded" &&
	! tui_screen | grep "schedule" &&
	tui_keys q &&
	tui_wait "^dash-status=0"
'

test_done
