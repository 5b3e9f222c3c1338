#!/bin/sh
# t7160-dash-focus-keys.sh: keys that move act on the focused pane only (tmux): g and G in
# the alerts pane move its cursor, not the stage list; a long list shows where its cursor
# is ([n/N] on its title); alerts are ordered by severity, then newest first; a asks before
# acknowledging and acknowledges the alert under the cursor, no other.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: two stages and a monitor raising twelve alerts (one high)' '
	{
		printf "pipeline \"many\" {}\n\n"
		printf "stage \"first\" {\n  run = \"echo first stage\"\n}\n\n"
		printf "stage \"second\" {\n  needs = [\"first\"]\n  run = \"echo second stage\"\n}\n\n"
		printf "monitor \"m\" {\n  needs = [\"second\"]\n"
		printf "  run     = \"echo {\\\\\\\\\\\"psi\\\\\\\\\\\": 0.5} >m.json\"\n  metrics = \"m.json\"\n"
		for i in 01 02 03 04 05 06 07 08 09 10 11 12; do
			sev=low
			test $i = 01 && sev=high
			printf "  alert \"r%s\" {\n    when     = \"psi > 0.%s\"\n    severity = \"%s\"\n  }\n" $i $i $sev
		done
		printf "}\n"
	} >many.dag &&
	git add many.dag && git commit -q -m many &&
	ntflow run many.dag --no-tui >out &&
	ntflow alerts --open >open &&
	test_line_count = 13 open
'

test_expect_success 'g and G move the focused pane, not the stages; a acks the alert under the cursor' '
	tui_start 100 20 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "alerts: 12 open (1 high, 0 medium, 11 low)" &&
	# in the stages pane g selects the first stage, whose log the log pane shows
	tui_keys g &&
	tui_wait "log first #1" &&
	# the alerts pane: the high alert first, the cursor on it
	tui_keys Tab Tab Tab &&
	tui_wait "alerts: 12 open .*\[1/12\]" &&
	tui_screen >s1 &&
	grep -A1 -e "- alerts" s1 | tail -1 | grep "high *r01" &&
	# G: the last alert (the oldest low one); the stage selection stays where it was
	tui_keys G &&
	tui_wait "alerts: 12 open .*\[12/12\]" &&
	tui_wait "log first #1" &&
	tui_keys a &&
	tui_wait "Acknowledge alert 2 (m/r02 low)? (y/n)" &&
	tui_keys n &&
	tui_wait "alert 2 not acknowledged" &&
	# g: back to the first, and k there goes nowhere
	tui_keys g k &&
	tui_wait "alerts: 12 open .*\[1/12\]" &&
	tui_keys j a &&
	tui_wait "Acknowledge alert 12 (m/r12 low)? (y/n)" &&
	tui_keys y &&
	tui_wait "alert 12 acknowledged" &&
	tui_wait "alerts: 11 open (1 high, 0 medium, 10 low)" &&
	ntflow alerts --open >open &&
	test_line_count = 12 open &&
	! grep "r12" open &&
	tui_screen >s2 &&
	grep "log first #1" s2 &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'the registry pane: its keys move it, the stages stay' '
	tui_start 100 20 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "alerts: 11 open" &&
	tui_keys g &&
	tui_wait "log first #1" &&
	tui_keys Tab Tab G End PPage &&
	tui_screen >s &&
	grep "log first #1" s &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
