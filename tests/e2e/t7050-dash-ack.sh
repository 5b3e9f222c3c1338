#!/bin/sh
# t7050-dash-ack.sh: the dashboard's a (tmux) acknowledges only the alert under the cursor
# of the alerts pane, and asks first: outside the pane it says where to go, n leaves the
# alert open, y acknowledges that one alert and no other.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: one run raising two alerts' '
	write_dag two.dag <<-\EOF &&
	pipeline "two" {}

	monitor "drift" {
	  run     = "echo {\\\"max_psi\\\": 0.31} >drift.json"
	  metrics = "drift.json"
	  alert "feature-shift" {
	    when     = "max_psi > 0.25"
	    severity = "high"
	  }
	  alert "feature-wobble" {
	    when     = "max_psi > 0.10"
	    severity = "medium"
	  }
	}
	EOF
	git add two.dag && git commit -q -m two &&
	ntflow run two.dag --no-tui >out &&
	ntflow alerts --open >open &&
	test_line_count = 3 open
'

test_expect_success 'a acks the alert under the cursor only, after y (100x30)' '
	tui_start 100 30 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "alerts: 2 open (1 high, 1 medium, 0 low)" &&
	# the stages pane has the focus: a says where the alerts are, and acks nothing
	tui_keys a &&
	tui_wait "Tab to the alerts pane and put the cursor on the alert to acknowledge" &&
	# Tab to the alerts pane (stages, gate, registry, alerts); by severity, the high one first
	tui_keys Tab Tab Tab &&
	tui_keys a &&
	tui_wait "Acknowledge alert 1 (drift/feature-shift high)? (y/n)" &&
	tui_keys n &&
	tui_wait "alert 1 not acknowledged" &&
	ntflow alerts --open >open &&
	test_line_count = 3 open &&
	tui_keys a &&
	tui_wait "Acknowledge alert 1 (drift/feature-shift high)? (y/n)" &&
	tui_keys y &&
	tui_wait "alert 1 acknowledged" &&
	tui_wait "alerts: 1 open (0 high, 1 medium, 0 low)" &&
	ntflow alerts --open >open &&
	test_line_count = 2 open &&
	grep -E "^ 2 .*feature-wobble" open &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
