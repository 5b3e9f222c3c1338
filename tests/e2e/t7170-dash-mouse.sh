#!/bin/sh
# t7170-dash-mouse.sh: the mouse in the dashboard (tmux, mouse events typed as the terminal
# sends them): a click selects a stage row (its log shows), a click in another pane focuses
# it and puts the cursor on the row clicked, the wheel scrolls the pane under it.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: three stages and a monitor raising four alerts' '
	{
		printf "pipeline \"p\" {}\n\n"
		for s in one two three; do
			printf "stage \"%s\" {\n  run = \"echo stage %s\"\n}\n\n" $s $s
		done
		printf "monitor \"m\" {\n  needs = [\"three\"]\n"
		printf "  run     = \"echo {\\\\\\\\\\\"psi\\\\\\\\\\\": 0.5} >m.json\"\n  metrics = \"m.json\"\n"
		for i in 1 2 3 4; do
			printf "  alert \"r%s\" {\n    when     = \"psi > 0.%s\"\n    severity = \"low\"\n  }\n" $i $i
		done
		printf "}\n"
	} >p.dag &&
	git add p.dag && git commit -q -m p &&
	ntflow run p.dag --no-tui >out
'

test_expect_success 'a click selects a row or focuses a pane; the wheel scrolls (100x30)' '
	tui_start 100 30 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "alerts: 4 open" &&
	tui_wait "log [a-z]* #1" &&
	tui_click 4 "$(tui_row "^+ one ")" &&
	tui_wait "log one #1" &&
	tui_wait "^stage one" &&
	tui_click 4 "$(tui_row "^+ three ")" &&
	tui_wait "log three #1" &&
	# the third alert (newest first: r2); a now asks about that one
	tui_click 12 "$(tui_row "low *r2 ")" &&
	tui_keys a &&
	tui_wait "Acknowledge alert 2 (m/r2 low)? (y/n)" &&
	tui_keys n &&
	# the wheel over the alerts: a notch down moves to r1
	tui_wheel down 12 "$(tui_row "low *r2 ")" &&
	tui_keys a &&
	tui_wait "Acknowledge alert 1 (m/r1 low)? (y/n)" &&
	tui_keys n &&
	# the stages kept their selection meanwhile
	tui_screen >s &&
	grep "log three #1" s &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
