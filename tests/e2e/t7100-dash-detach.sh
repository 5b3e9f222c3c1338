#!/bin/sh
# t7100-dash-detach.sh: the tmux workflow at both ends (issue 18). `ntflow dash` opened in a
# fresh repository before any run picks up the first run; `ntflow run` on a terminal runs
# its executor as a process of its own, so q then d gives the prompt back while the run goes
# on and `ntflow dash` re-attaches and sees it end; `run --detach` starts a run in the
# background and says how to watch it; Ctrl-C in a dashboard of a detached run only leaves;
# a kill -9 of a detached executor is recovered by the next run.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

# b waits for the file "release" (at most 60s)
test_expect_success 'setup' '
	write_dag slow.dag <<-\EOF &&
	pipeline "slow" {}
	stage "a" {
	  run = "echo a"
	}
	stage "b" {
	  needs = ["a"]
	  run   = "echo b is waiting; i=0; while ! test -f release && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done; echo b released"
	}
	EOF
	git add slow.dag && git commit -q -m slow
'

# status_of RUN: the run's status as show --json says it ("" while it has no row)
status_of() { ntflow show "$1" --json 2>/dev/null >st.json && json_get st.json .run.status; }
# wait_status RUN STATUS: polls (at most 60s)
wait_status() {
	i=0
	while test "$(status_of "$1")" != "$2"; do
		i=$((i + 1))
		if test $i -ge 600; then
			echo "run $1 is $(status_of "$1"), not $2" >&2
			return 1
		fi
		sleep 0.1
	done
}

test_expect_success 'dash in a fresh repository (no .ntflow) waits, then follows the run started with its own dashboard' '
	mkdir fresh &&
	(cd fresh && git init -q && cp ../slow.dag . && git add slow.dag && git commit -q -m slow) &&
	tui_start 120 30 &&
	tui_window &&
	tui_to 1 &&
	tui_type "cd fresh && ntflow dash; echo dash-status=\$?" &&
	tui_wait "waiting for the first run in $(pwd -P)/fresh/.ntflow" &&
	test_path_is_missing fresh/.ntflow &&
	tui_to 0 &&
	tui_type "cd fresh && ntflow run slow.dag; echo status=\$?" &&
	tui_wait "^\* b  *running" &&
	tui_to 1 &&
	tui_wait "^ slow | run 1 | manual" &&
	tui_wait "^\* b  *running" &&
	tui_wait "^b is waiting" &&
	touch fresh/release &&
	tui_wait "| 2/2 | succeeded" &&
	tui_keys q &&
	tui_wait "^dash-status=0" &&
	tui_to 0 &&
	tui_wait "finished - q to exit" &&
	tui_keys q &&
	tui_wait "^status=0" &&
	tui_screen >screen &&
	grep "^run 1 of slow succeeded in" screen
'

test_expect_success 'q then d gives the prompt back while the run goes on; ntflow dash re-attaches and sees it end' '
	tui_start 100 30 &&
	tui_type "ntflow run slow.dag; echo status=\$?" &&
	tui_wait "^\* b  *running" &&
	tui_keys q &&
	tui_wait "c cancel it, d detach" &&
	tui_keys d &&
	tui_wait "^status=0" &&
	tui_wait "^ntflow: detached; run 1 goes on in the background (pid [0-9]*)" &&
	tui_wait "watch it: *ntflow dash 1\$" &&
	# the prompt is back: the next command runs while the run is still going
	tui_type "ntflow show 1 --json >during.json; echo next-ran" &&
	tui_wait "^next-ran" &&
	test "$(json_get during.json .run.status)" = running &&
	tui_type "ntflow dash; echo dash-status=\$?" &&
	tui_wait "^ slow | run 1 | manual" &&
	tui_wait "^\* b  *running" &&
	touch release &&
	tui_wait "| 2/2 | succeeded" &&
	tui_wait "^+ b  *succeeded" &&
	tui_keys q &&
	tui_wait "^dash-status=0" &&
	test "$(status_of 1)" = succeeded &&
	# the executor wrote its progress lines to its own log
	grep "^\[2/2\] b succeeded" .ntflow/executor/1.log &&
	grep "^run 1 succeeded in" .ntflow/executor/1.log &&
	test_path_is_missing .ntflow/executor/1.ctl
'

test_expect_success 'run --detach: starts the run in the background, says how to watch it, exits 0' '
	rm -f release &&
	ntflow run slow.dag --no-cache --detach >out 2>err &&
	cat out err &&
	grep "^ntflow: detached; run 2 goes on in the background (pid [0-9]*)\$" out &&
	grep "^  watch it:   ntflow dash 2\$" out &&
	grep "^  its output: $(pwd -P)/.ntflow/executor/2.log\$" out &&
	test_must_be_empty err &&
	wait_status 2 running &&
	touch release &&
	wait_status 2 succeeded &&
	grep "b released" .ntflow/logs/2/b.1.log
'

test_expect_success 'run --detach --json: one object naming the run, its pid and log' '
	rm -f release &&
	ntflow run slow.dag --no-cache --detach --json >out &&
	test "$(json_get out .event)" = detached &&
	test "$(json_get out .run_id)" = 3 &&
	test "$(json_get out .log)" = "$(pwd -P)/.ntflow/executor/3.log" &&
	touch release &&
	wait_status 3 succeeded
'

test_expect_success 'a DAG error of run --detach prints at once, exit 2, nothing left running' '
	printf "stage \"x\" {\n  runn = \"true\"\n}\n" >bad.dag &&
	test_expect_code 2 ntflow run bad.dag --detach >out 2>err &&
	cat err &&
	grep "bad.dag:2:3: error" err &&
	test_must_be_empty out
'

test_expect_success 'Ctrl-C in the dashboard of a detached run detaches; the run goes on and succeeds' '
	rm -f release &&
	ntflow run slow.dag --no-cache --detach >out &&
	tui_start 100 30 &&
	tui_type "ntflow dash; echo dash-status=\$?" &&
	tui_wait "^ slow | run 4 | manual" &&
	tui_wait "^\* b  *running" &&
	tui_keys C-c &&
	tui_wait "^dash-status=130" &&
	tui_wait "^ntflow: detached; run 4 goes on" &&
	test "$(status_of 4)" = running &&
	touch release &&
	wait_status 4 succeeded
'

test_expect_success 'c in ntflow dash cancels a stage of a detached run (its control channel)' '
	rm -f release &&
	ntflow run slow.dag --no-cache --detach >out &&
	tui_start 100 30 &&
	tui_type "ntflow dash; echo dash-status=\$?" &&
	tui_wait "^\* b  *running" &&
	tui_keys f b Enter &&
	tui_keys c &&
	tui_wait "Cancel b? (y/n)" &&
	tui_keys y &&
	tui_wait "^/ b  *cancelled" &&
	tui_wait "| cancelled" &&
	tui_keys q &&
	tui_wait "^dash-status=0" &&
	wait_status 5 cancelled
'

test_expect_success 'kill -9 of a detached executor: the next run succeeds, the killed one is recorded as crashed' '
	rm -f release &&
	ntflow run slow.dag --no-cache --detach >out &&
	pid=$(sed -n "s/.*in the background (pid \([0-9]*\))\$/\1/p" out) &&
	test -n "$pid" &&
	i=0 &&
	while ! grep -q "b is waiting" .ntflow/logs/6/b.1.log 2>/dev/null && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done &&
	kill -9 "$pid" &&
	touch release &&
	ntflow run slow.dag --no-cache --no-tui >out2 2>err2 &&
	cat out2 err2 &&
	grep "^run 7 succeeded" out2 &&
	test "$(status_of 6)" = crashed &&
	test "$(status_of 7)" = succeeded
'

test_done
