#!/bin/sh
# t7150-dash-registry.sh: the registry pane (issue 18). With 13 versions at 80x24 the
# production version is on screen, marked, with why it is the champion, and on a shorter
# terminal it stays pinned on top however far the list scrolls; Enter on a version shows its metrics, gate
# criteria, run, commit and params; P promotes and B rolls back, each after y/n, as
# `ntflow registry promote/rollback` do (registry list agrees), and while another process
# holds the workspace lock the pane says so and changes nothing.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: 13 versions, v3 in production, v4-v13 rejected candidates' '
	gated_dag m.dag m &&
	hold_dag &&
	git add m.dag hold.dag && git commit -q -m m &&
	for acc in 0.9 0.91 0.92; do ntflow run m.dag --no-tui -p acc=$acc >/dev/null || return 1; done &&
	for acc in 0.50 0.51 0.52 0.53 0.54 0.55 0.56 0.57 0.58 0.59; do
		test_expect_code 3 ntflow run m.dag --no-tui -p acc=$acc >/dev/null || return 1
	done &&
	ntflow registry list >list &&
	grep "^clf  *3  *production" list &&
	grep "^clf  *13  *candidate" list
'

test_expect_success 'production on screen at 80x24 with 13 versions, pinned while the list scrolls' '
	tui_start 80 24 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "^ m | run 13 | manual" &&
	tui_wait "registry: clf v13 candidate (this run); production v3" &&
	tui_keys Tab Tab &&
	tui_wait "^\* v3  *production  *(gate passed in run 3) accuracy 0.92" &&
	tui_screen >top &&
	grep "^> v13  *candidate" top &&
	# on a terminal too short for them all, to the oldest: v3 stays on the first row
	tui_resize 80 14 &&
	# drawn again at the new size: the header back on the first row
	tui_wait "^ m | run 13 | manual" &&
	tui_wait "^\* v3  *production" &&
	tui_keys G &&
	tui_wait "^  v1  *archived" &&
	tui_screen >bottom &&
	grep "^\* v3  *production" bottom &&
	test_must_fail grep "^. v13" bottom &&
	awk "length > 80 { bad = 1 } END { exit bad }" bottom
'

# the registry pane of `ntflow dash` at 80x24, focused
open_registry() {
	tui_start 80 24 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "^ m | run 13 | manual" &&
	tui_keys Tab Tab &&
	tui_wait "^\* v3  *production"
}

test_expect_success 'Enter on a version: metrics, gate criteria, run, commit, params' '
	open_registry &&
	tui_keys G k &&
	tui_wait "^  v2  *archived" &&
	tui_keys Enter &&
	tui_wait "^ clf v2 | archived" &&
	tui_screen >v2 &&
	grep "^  accuracy  *0.91" v2 &&
	grep "^  gate check in run 2: passed" v2 &&
	grep "^  + accuracy >= 0.85  *0.91  *0.85  *pass" v2 &&
	grep "^  run  *2 (" v2 &&
	grep "^  commit  *[0-9a-f]\{40\}" v2 &&
	grep "^  acc  *0.91" v2 &&
	tui_keys q &&
	tui_wait "registry: clf v13 candidate (this run); production v3" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'P asks, n changes nothing, y promotes; B asks and rolls back; registry list agrees' '
	open_registry &&
	tui_keys j j j j j j j j j j j &&
	tui_wait "^  v2  *archived" &&
	tui_keys P &&
	tui_wait "Promote clf v2 to production? (y/n)" &&
	tui_keys n &&
	tui_wait "clf: nothing changed" &&
	ntflow registry list >list &&
	grep "^clf  *3  *production" list &&
	tui_keys P &&
	tui_wait "Promote clf v2 to production? (y/n)" &&
	tui_keys y &&
	tui_wait "clf v2 -> production (v3 archived)" &&
	tui_wait "^\* v2  *production  *(promoted by " &&
	ntflow registry list >list &&
	grep "^clf  *2  *production" list &&
	grep "^clf  *3  *archived" list &&
	tui_keys B &&
	tui_wait "Roll clf back to its previous production version? (y/n)" &&
	tui_keys y &&
	tui_wait "clf v3 -> production (v2 rolled back)" &&
	tui_wait "^\* v3  *production  *(rollback by " &&
	ntflow registry list >list &&
	grep "^clf  *3  *production" list &&
	grep "^clf  *2  *rolled-back" list &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'while a run holds the workspace lock, P says so and changes nothing' '
	tui_start 120 30 &&
	tui_window &&
	tui_to 1 &&
	tui_type "ntflow run hold.dag --no-tui; echo run-status=\$?" &&
	tui_to 0 &&
	test_when_finished ": >go" &&
	# the hold run has begun (and holds the lock) once its stage runs
	i=0 &&
	while ! ntflow show 14 2>/dev/null | grep -q "wait  *running"; do
		i=$((i + 1)) && test $i -lt 300 && sleep 0.05 || return 1
	done &&
	tui_type "ntflow dash 13; echo status=\$?" &&
	tui_wait "^ m | run 13 | manual" &&
	tui_keys Tab Tab &&
	tui_wait "^\* v3  *production" &&
	tui_keys j &&
	tui_keys P &&
	tui_wait "Promote clf v13 to production? (y/n)" &&
	tui_keys y &&
	tui_wait "run 14 (pid [0-9]*, .*) holds the workspace lock" &&
	ntflow registry list >list &&
	grep "^clf  *3  *production" list &&
	grep "^clf  *13  *candidate" list &&
	: >go &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
