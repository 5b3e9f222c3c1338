#!/bin/sh
# t7175-dash-help.sh: the ? overlay (tmux) lists the key table's keys wrapped at 80 columns,
# whatever the terminal's width; on a short terminal j, k and the page keys scroll it and
# any other key goes back.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: one stage run' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}

	stage "only" {
	  run = "echo only"
	}
	EOF
	git add p.dag && git commit -q -m p &&
	ntflow run p.dag --no-tui >out
'

test_expect_success 'at 200x60 the help is 80 columns wide' '
	tui_start 200 60 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "stages 1/1" &&
	tui_keys "?" &&
	tui_wait "ntflow dashboard keys" &&
	tui_wait "In the log view:" &&
	tui_screen | sed "s/ *\$//" >help &&
	awk "length > 81 { print NR \": \" length \": \" \$0; bad = 1 } END { exit bad }" help &&
	# a long help text goes on over the next line, under its text column
	grep "^   q  *Quit; while a run goes on in ntflow run, q asks first: c\$" help &&
	grep "^                   cancels the run, d detaches" help &&
	tui_keys x &&
	tui_wait "stages 1/1" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'at 80x24 it scrolls; any other key goes back' '
	tui_start 80 24 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "stages 1/1" &&
	tui_keys "?" &&
	tui_wait "j/k PgUp/PgDn scroll; any other key goes back" &&
	tui_screen >first &&
	! grep "Back to the main screen" first &&
	tui_keys NPage NPage NPage &&
	tui_wait "Back to the main screen" &&
	tui_keys g &&
	tui_wait "ntflow dashboard keys" &&
	tui_keys j &&
	tui_wait_not "ntflow dashboard keys" &&
	tui_keys Enter &&
	tui_wait "stages 1/1" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
