#!/bin/sh
# t7180-dash-layout.sh: the panes grow to their content and share what is left (tmux): with
# thirteen model versions every version is on the screen at 120x60 (stacked) and at 200x60
# (two columns), none held to eight rows while rows stay blank; at 80x24 the panes that do
# not fit fold to their title line and the focused one opens.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-registry.sh"

test_expect_success 'setup: a gated pipeline run thirteen times, each registering a version' '
	write_gated_pipeline &&
	for i in 01 02 03 04 05 06 07 08 09 10 11 12 13; do
		ntflow run p.dag --date 2026-09-07 -p acc=0.$((85 + ${i#0})) --no-tui >out 2>err || return 1
	done &&
	ntflow registry list clf >list &&
	test "$(grep -c "^clf  *[0-9]" list)" = 13
'

# versions: how many registry rows ("v12  candidate ...") the screen shows
versions() { tui_screen | grep -c -E "(^|[|]). v[0-9]+ +[a-z-]+ +(\([^)]*\) )?accuracy"; }

test_expect_success 'at 120x60 (stacked) the registry shows all thirteen versions' '
	tui_start 120 60 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "registry: clf v13" &&
	tui_wait "^. v1 " &&
	test "$(versions)" = 13 &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'at 200x60 (two columns) too, beside the stages and the log' '
	tui_start 200 60 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "registry: clf v13" &&
	tui_wait "stages 4/4" &&
	tui_screen >s &&
	test "$(versions)" = 13 &&
	grep "log [a-z]* #1" s &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'at 80x24 the registry opens when it has the focus, and scrolls' '
	tui_start 80 24 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "registry: clf v13" &&
	tui_keys Tab Tab &&
	tui_wait "^. v13 " &&
	tui_keys G &&
	tui_wait "^. v1 " &&
	tui_wait "registry: clf v13 .*\[13/13\]" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
