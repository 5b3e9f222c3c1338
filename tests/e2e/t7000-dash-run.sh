#!/bin/sh
# t7000-dash-run.sh: the dashboard of `ntflow run` in a terminal (tmux): the stage list during
# and after a run of examples/hello.dag, the finished screen, q giving the terminal back in a
# sane state with the summary in the scroll-back, and --no-tui keeping plain lines.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: examples/hello.dag in a repository' '
	mkdir -p examples &&
	cp "$NTFLOW_SRC_DIR/examples/hello.dag" examples/ &&
	git add examples && git commit -q -m hello
'

test_expect_success 'the stages while hello runs and after; q gives a sane terminal back (80x24)' '
	tui_start 80 24 &&
	tui_type "stty -a >stty.before" &&
	tui_type "ntflow run examples/hello.dag" &&
	tui_wait "^ hello | run 1 | manual" &&
	tui_wait "^\* slow  *running" &&
	tui_screen >during &&
	grep "^\. report  *waiting" during &&
	tui_wait "finished - q to exit" &&
	tui_wait "stages 9/9" &&
	tui_screen >after &&
	grep "| 9/9 | succeeded" after &&
	sed -n "3,12p" after | tui_mask >actual &&
	cat >expect <<-\EOF &&
	+ prepare             succeeded 1 TIME BAR
	+ count               succeeded 1 TIME BAR
	+ greet               succeeded 1 TIME BAR
	+ flaky               succeeded 3/3 TIME BAR
	+ slow                succeeded 2/2 TIME BAR
	+ - tune (3)          succeeded                                   3 succeeded
	+   [lr=0.1]          succeeded 1 TIME BAR
	+   [lr=0.2]          succeeded 1 TIME BAR
	+   [lr=0.3]          succeeded 1 TIME BAR
	+ report              succeeded 1 TIME BAR
	EOF
	test_cmp expect actual &&

	tui_keys q &&
	tui_wait "^run 1 of hello succeeded in" &&
	tui_wait "^tui\\$ *$" &&
	tui_screen >screen &&
	grep "^  gate:       none" screen &&
	grep "^  registered: no new model version" screen &&
	grep "^  alerts:     none open" screen &&
	tui_type "stty -a >stty.after; echo stty-done" &&
	tui_wait "^stty-done" &&
	test_cmp stty.before stty.after &&
	grep " icanon" stty.after && grep " echo " stty.after
'

test_expect_success 'the exit status is the run'"'"'s, and --no-tui prints lines in a terminal' '
	tui_start 80 24 &&
	tui_type "ntflow run examples/hello.dag --no-tui; echo status=\$?" &&
	tui_wait "^status=0" &&
	tui_screen >screen &&
	grep "^\[[0-9]*/9\] report succeeded" screen &&
	! grep "finished - q to exit" screen
'

test_expect_success 'without a terminal the lines stay; TERM=dumb keeps them too' '
	ntflow run examples/hello.dag >out 2>&1 &&
	grep "^run [0-9]* succeeded" out &&
	tui_start 80 24 &&
	tui_type "TERM=dumb ntflow run examples/hello.dag; echo status=\$?" &&
	tui_wait "^status=0" &&
	tui_screen >screen &&
	grep "report succeeded" screen
'

test_done
