#!/bin/sh
# t7185-dash-logview.sh: the log view (tmux): every match of a search is highlighted, w wraps
# long lines (and back), o opens the log in $PAGER with the screen given to it, and the
# view comes back when the pager exits.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: a stage printing a long line and three matches' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}

	stage "talk" {
	  run = "echo one needle; echo two; echo three NEEDLE and needle; printf %0140d 7; echo TAIL"
	}
	EOF
	git add p.dag && git commit -q -m p &&
	ntflow run p.dag --no-tui >out &&
	printf "#!/bin/sh\ncp \"\$1\" \"%s/paged.out\"\n" "$(pwd)" >pager.sh &&
	chmod +x pager.sh
'

esc=$(printf "\033")

test_expect_success 'search highlights every match; w wraps; o pages (100x30)' '
	tui_start 100 30 &&
	tui_type "PAGER=$(pwd)/pager.sh ntflow dash; echo status=\$?" &&
	tui_wait "log talk #1" &&
	tui_keys Enter &&
	tui_wait "^ talk | run 1 | succeeded" &&
	tui_keys l &&
	tui_wait "^ log talk, attempt 1 " &&
	tui_wait "^three NEEDLE" &&
	# the long line is cut at the edge until w
	! tui_screen | grep "TAIL" &&
	tui_keys / n e e d l e Enter &&
	tui_wait_not "\[following\]" &&
	tmux -L "$tui" capture-pane -e -p -t "$tui_target" >colours &&
	# three matches on two lines, each reversed (tmux writes reverse as 7 in its SGR)
	grep -a -o -E "${esc}\[[0-9;]*7m(${esc}\[[0-9;]*m)*[nN][eE][eE][dD][lL][eE]" colours >hits &&
	test_line_count = 3 hits &&
	tui_keys w &&
	tui_wait "\[wrap\]" &&
	tui_wait "^0*7TAIL\$" &&
	tui_keys w &&
	tui_wait_not "\[wrap\]" &&
	tui_wait_not "TAIL" &&
	tui_keys o &&
	# the view is on the screen before and after the pager: wait for what it wrote
	i=0 &&
	while ! cmp -s .ntflow/logs/1/talk.1.log paged.out; do
		i=$((i + 1)) && test $i -lt 150 && sleep 0.1 || break
	done &&
	tui_wait "^ log talk, attempt 1 " &&
	test_cmp .ntflow/logs/1/talk.1.log paged.out &&
	tui_keys q &&
	tui_wait "^ talk | run 1 | succeeded" &&
	tui_keys q &&
	tui_wait "stages 1/1" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
