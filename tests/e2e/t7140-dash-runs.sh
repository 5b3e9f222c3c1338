#!/bin/sh
# t7140-dash-runs.sh: the runs list (issue 18). R lists the workspace's runs newest first
# (status, trigger, logical date, duration, gate, model version); Enter opens one, and the
# header then says it is an older run and that L goes back; L returns to the latest run
# (in `ntflow dash`) or to the live one (in `ntflow run`'s dashboard, whose events go on
# reaching it meanwhile).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: three runs, the third rejected by the gate' '
	gated_dag r.dag r &&
	hold_dag &&
	git add r.dag hold.dag && git commit -q -m r &&
	ntflow run r.dag --no-tui &&
	ntflow run r.dag --no-tui -p acc=0.95 &&
	test_expect_code 3 ntflow run r.dag --no-tui -p acc=0.5
'

test_expect_success 'R lists the runs; Enter opens an older one and the header says so; L goes back' '
	tui_start 120 30 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "^ r | run 3 | manual" &&
	tui_keys R &&
	tui_wait "^ runs of .* | 3, newest first" &&
	tui_screen >runs &&
	grep "^  run  *status  *trigger  *date  *duration  *nodes  *gate  *model" runs &&
	grep "^> 3  *gated  *manual  *[0-9-]\{10\}  .* 2/2  *check FAIL  *clf v3 candidate" runs &&
	grep "^  2  *succeeded  *manual  *[0-9-]\{10\}  .* 2/2  *check pass  *clf v2 production" runs &&
	grep "^  1  *succeeded  *manual  .*check pass  *clf v1 archived" runs &&
	# newest first
	test "$(grep -n "^..[123] " runs | cut -c1-4 | tr -d "\n")" = "3:> 4:  5:  " &&
	tui_keys j j Enter &&
	tui_wait "^ r | run 1 | manual .* | older run: L back to the latest one" &&
	tui_wait "registry: clf v1 archived (this run); production v2" &&
	tui_keys L &&
	tui_wait "back to run 3" &&
	tui_wait_not "older run" &&
	tui_wait "^ r | run 3 | manual" &&
	# q leaves the list without opening anything
	tui_keys R &&
	tui_wait "newest first" &&
	tui_keys q &&
	tui_wait "^ r | run 3 | manual" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'in ntflow run'"'"'s dashboard: an older run, then L back to the live one' '
	tui_start 120 30 &&
	tui_type "ntflow run hold.dag; echo status=\$?" &&
	tui_wait "^ hold | run 4 | manual" &&
	tui_wait "^\* wait  *running" &&
	tui_keys R &&
	tui_wait "^> 4  *running" &&
	tui_keys j Enter &&
	tui_wait "^ r | run 3 | manual .* | older run: L back to the live one" &&
	tui_keys L &&
	tui_wait "^ hold | run 4 | manual" &&
	tui_wait_not "older run" &&
	: >go &&
	tui_wait "finished - q to exit" &&
	tui_wait "^+ wait  *succeeded" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
