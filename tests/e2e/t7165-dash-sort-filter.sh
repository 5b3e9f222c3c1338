#!/bin/sh
# t7165-dash-sort-filter.sh: the stage list (tmux): s sorts it by start, name, state and
# duration and back to the DAG's order, F shows the failed stages only, then the running
# ones only, Esc shows them all; the title says which order and filter hold.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

# rows: the stage names of the screen's stage rows, in order
rows() { tui_screen | sed -n "s/^[.o*~+=xT\/!-] \([a-z][a-z_]*\) .*/\1/p" | tr "\n" " "; }

test_expect_success 'setup: four stages, one failing, one slow, run with --keep-going' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}

	stage "zeta" {
	  run = "echo zeta"
	}

	stage "alpha" {
	  run = "echo alpha fails; exit 1"
	}

	stage "mid" {
	  needs = ["zeta"]
	  run   = "sleep 0.3"
	}

	stage "beta" {
	  needs = ["mid"]
	  run   = "echo beta"
	}
	EOF
	git add p.dag && git commit -q -m p &&
	test_expect_code 1 ntflow run p.dag --no-tui --keep-going >out
'

test_expect_success 's sorts, F filters by state, Esc clears (100x30)' '
	tui_start 100 30 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "stages 4/4" &&
	test "$(rows)" = "zeta alpha mid beta " &&
	tui_keys s &&
	tui_wait "stages 4/4  by start" &&
	tui_keys s &&
	tui_wait "stages 4/4  by name" &&
	test "$(rows)" = "alpha beta mid zeta " &&
	tui_keys s &&
	tui_wait "stages 4/4  by state" &&
	rows | grep "^alpha " &&
	tui_keys s &&
	tui_wait "stages 4/4  by duration" &&
	rows | grep "^mid " &&
	tui_keys s &&
	tui_wait_not "stages 4/4  by" &&
	test "$(rows)" = "zeta alpha mid beta " &&
	# failed only: the one failed stage; running only: none; the footer keeps q and ?
	tui_keys F &&
	tui_wait "stages 4/4  only failed" &&
	tui_wait "q quit  ? help .*showing failed stages" &&
	test "$(rows)" = "alpha " &&
	tui_keys F &&
	tui_wait "stages 4/4  only running" &&
	tui_wait "no node matches, none running (Esc clears the filters)" &&
	test "$(rows)" = "" &&
	tui_keys Escape &&
	tui_wait_not "only running" &&
	test "$(rows)" = "zeta alpha mid beta " &&
	# with a name filter too
	tui_keys F f a Enter &&
	tui_wait "filter: a  only failed" &&
	test "$(rows)" = "alpha " &&
	# the message goes, the hints come back whole
	tui_wait_not "showing failed stages" 100 &&
	tui_wait "q quit  ? help  j/k move  Tab pane" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
