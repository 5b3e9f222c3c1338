#!/bin/sh
# t7110-dash-same-numbers.sh: one source of truth (issue 18). The dashboard of `ntflow run`
# and `ntflow dash` beside it build their view from the same store rows, so they show the
# same numbers: after a retry from the dashboard past the retry budget both count the
# attempts in budgets (4/6; once one said 4/6 and the other 4/3).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

# flap fails its first three attempts (the budget: 1 + 2 retries); its fourth, started by r,
# waits for the file "release", as hold does, which keeps the run open (--keep-going).
test_expect_success 'setup' '
	write_dag same.dag <<-\EOF &&
	pipeline "same" {
	  concurrency = 2
	}
	stage "flap" {
	  retries = 2
	  backoff = "100ms"
	  run     = "n=$(cat flap.n 2>/dev/null || echo 0); n=$((n + 1)); echo $n >flap.n; echo flap attempt $n; test $n -ge 4 || exit 1; i=0; while ! test -f release && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done"
	}
	stage "hold" {
	  run = "i=0; while ! test -f release && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done"
	}
	EOF
	git add same.dag && git commit -q -m same
'

# row NAME: the stage row of NAME on the screen, its state, attempt and the header's count
row() { tui_screen | sed -n "s/^\(. $1  *[a-z-]*  *[0-9]*\/[0-9]*\).*/\1/p" | sed "s/   */ /g"; }
count() { tui_screen | sed -n "s/.*| \([0-9]*\/[0-9]*\) | .*/\1/p" | head -n 1; }

test_expect_success 'after r past the budget, run and dash both say 4/6' '
	tui_start 100 30 &&
	tui_window &&
	tui_to 0 &&
	tui_type "ntflow run same.dag --keep-going; echo status=\$?" &&
	tui_wait "^x flap  *failed" &&
	tui_keys f f l a p Enter r &&
	tui_wait "retrying flap" &&
	tui_wait "^\* flap  *running  *4/6" &&
	tui_to 1 &&
	tui_type "ntflow dash; echo dash-status=\$?" &&
	tui_wait "^ same | run 1 | manual" &&
	tui_wait "^\* flap  *running  *4/" &&
	dash_row=$(row flap) &&
	dash_count=$(count) &&
	tui_to 0 &&
	run_row=$(row flap) &&
	run_count=$(count) &&
	echo "run: $run_row ($run_count); dash: $dash_row ($dash_count)" &&
	test "$run_row" = "* flap running 4/6" &&
	test "$dash_row" = "$run_row" &&
	test "$dash_count" = "$run_count" &&
	touch release &&
	tui_wait "finished - q to exit" &&
	tui_keys q &&
	tui_wait "^status=" &&
	tui_to 1 &&
	tui_wait "| 2/2 | " &&
	tui_wait "^+ flap  *succeeded  *4/6" &&
	tui_keys q &&
	tui_wait "^dash-status=0"
'

test_done
