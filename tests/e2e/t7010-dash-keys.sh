#!/bin/sh
# t7010-dash-keys.sh: the keys of the dashboard in `ntflow run` (tmux): a retry shown as
# 2/3, f filtering, r retrying a failed stage and what it held up within the same run,
# c + y cancelling a running one, Enter the stage's detail and l there its whole log, ? the help,
# q asking whether to cancel or detach while the run goes on (detaching gives the prompt back).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

# flaky fails once, then its second attempt waits for the file "release"; hang runs until
# cancelled; bad fails until bad.ok exists (it makes it), after needs bad. With
# --keep-going the failure of bad stops nothing else, so the run is open for r.
test_expect_success 'setup' '
	write_dag keys.dag <<-\EOF &&
	pipeline "keys" {
	  concurrency = 4
	}
	stage "flaky" {
	  retries = 2
	  backoff = "300ms"
	  run     = "n=$(cat flaky.n 2>/dev/null || echo 0); n=$((n + 1)); echo $n >flaky.n; echo flaky attempt $n; test $n -ge 2 || exit 1; i=0; while ! test -f release && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done"
	}
	stage "hang" {
	  run = "echo hanging; sleep 60"
	}
	stage "bad" {
	  run = "if test -f bad.ok; then echo fine now; else touch bad.ok; echo oops; exit 1; fi"
	}
	stage "after" {
	  needs = ["bad"]
	  run   = "echo after bad"
	}
	EOF
	git add keys.dag && git commit -q -m keys
'

test_expect_success 'retry as 2/3, r, c + y, Enter, ?, q (100x30)' '
	tui_start 100 30 &&
	tui_type "ntflow run keys.dag --keep-going; echo status=\$?" &&
	tui_wait "^\* flaky  *running   2/3" &&
	tui_wait "^x bad  *failed .*exit 1" &&
	tui_wait "^- after  *skipped .*needs failed stage bad" &&

	# f filters by name; r retries the selected failed stage, and what it held up runs
	tui_keys f b a d Enter &&
	tui_wait "stages .*filter: bad" &&
	tui_wait_not "^. hang" &&
	tui_keys r &&
	tui_wait "retrying bad" &&
	tui_wait "^+ bad  *succeeded 2" &&
	tui_keys Escape &&
	tui_wait "^+ after  *succeeded" &&

	# c asks, y cancels the running stage
	tui_keys f h a n g Enter &&
	tui_wait "filter: hang" &&
	tui_keys c &&
	tui_wait "Cancel hang? (y/n)" &&
	tui_keys y &&
	tui_wait "^/ hang  *cancelled" &&
	tui_keys Escape &&

	# Enter: the detail of the selected stage; l there its whole log; q back, q back
	tui_keys f f l a k y Enter &&
	tui_wait "filter: flaky" &&
	tui_keys Enter &&
	tui_wait "^ flaky | run 1 | " &&
	tui_keys l &&
	tui_wait "^ log flaky, attempt 2" &&
	tui_wait "^flaky attempt 2" &&
	tui_keys q &&
	tui_wait "^ flaky | run 1 | " &&
	tui_keys q &&
	tui_wait "stages .*filter: flaky" &&

	# ? shows every key; any key goes back
	tui_keys "?" &&
	tui_wait "ntflow dashboard keys" &&
	tui_wait "Acknowledge the alert under the cursor of the alerts pane" &&
	tui_keys x &&
	tui_wait "stages" &&

	# q while the run goes on asks; any other key stays
	tui_keys q &&
	tui_wait "c cancel it, d detach" &&
	tui_keys x &&
	tui_wait_not "c cancel it, d detach" &&

	touch release &&
	tui_wait "finished - q to exit" &&
	tui_keys q &&
	tui_wait "^status=130" &&
	tui_screen >screen &&
	grep "^run 1 of keys cancelled in" screen &&
	test "$(cat flaky.n)" = 2
'

test_expect_success 'q then c cancels the whole run and the screen closes at its end' '
	rm -f release &&
	tui_start 100 30 &&
	tui_type "ntflow run keys.dag; echo status=\$?" &&
	tui_wait "^\* hang  *running" &&
	tui_keys q &&
	tui_wait "c cancel it, d detach" &&
	tui_keys c &&
	tui_wait "^status=130" &&
	tui_screen >screen &&
	grep "^run 2 of keys cancelled in" screen
'

test_expect_success 'Ctrl-C cancels the run; the screen closes at its end with the summary' '
	rm -f release &&
	tui_start 100 30 &&
	tui_type "ntflow run keys.dag --no-cache; echo status=\$?" &&
	tui_wait "^\* hang  *running" &&
	tui_keys C-c &&
	tui_wait "^status=130" &&
	tui_screen >screen &&
	grep "^run [0-9]* of keys cancelled in" screen
'

test_expect_success 'q then d detaches: the prompt is back (exit 0), the run goes on, ntflow dash cancels it' '
	rm -f release flaky.n &&
	tui_start 100 30 &&
	tui_type "ntflow run keys.dag; echo status=\$?" &&
	tui_wait "^\* hang  *running" &&
	tui_keys q &&
	tui_wait "c cancel it, d detach" &&
	tui_keys d &&
	tui_wait "^ntflow: detached; run 4 goes on" &&
	tui_wait "^status=0" &&
	ntflow runs >runs &&
	grep "^ *4 .*running" runs &&
	tui_type "ntflow dash 4; echo dash-status=\$?" &&
	tui_wait "^\* hang  *running" &&
	tui_keys f h a n g Enter c &&
	tui_wait "Cancel hang? (y/n)" &&
	tui_keys y &&
	tui_wait "^/ hang  *cancelled" &&
	touch release &&
	tui_wait "| cancelled" &&
	tui_keys q &&
	tui_wait "^dash-status=0"
'

test_done
