#!/bin/sh
# t7020-dash-gov.sh: `ntflow dash` on a pipeline with a gate, a model and a drift monitor
# (tmux): the gate table, the registry after two runs (production and candidate, this run's
# highlighted), an alert from the monitor with its sparkline, a + y acknowledging it, Tab
# opening a folded pane (at 80x24 the stages leave the gate one line), and a resize from 160x48 to 80x24 that keeps every pane readable.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

test_expect_success 'setup: two runs, the second rejected by the gate and drifting' '
	write_dag gov.dag <<-\EOF &&
	pipeline "gov" {
	  params {
	    acc = 0.9
	    psi = 0.05
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo weights ${params.acc} >build/model.txt"
	  outputs = ["build/model.txt"]
	}

	stage "evaluate" {
	  needs   = ["train"]
	  run     = "echo {\\\"accuracy\\\": ${params.acc}, \\\"auc\\\": 0.91} >build/metrics.json"
	  outputs = ["build/metrics.json"]
	  metrics = "build/metrics.json"
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["accuracy >= 0.85", "auc >= 0.8"]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  metrics  = "build/metrics.json"
	  gate     = "promote"
	}

	stage "shard" {
	  matrix {
	    n = [1, 2, 3, 4, 5, 6, 7, 8]
	  }
	  run   = "echo shard ${matrix.n}"
	  cache = true   # no outputs: cached only because it says so
	}

	monitor "drift" {
	  run     = "echo {\\\"max_psi\\\": ${params.psi}} >drift.json"
	  metrics = "drift.json"
	  alert "feature-shift" {
	    when     = "max_psi > 0.25"
	    severity = "high"
	  }
	}
	EOF
	git add gov.dag && git commit -q -m gov &&
	ntflow run gov.dag --no-tui &&
	ntflow run gov.dag --no-tui -p psi=0.12 &&
	test_expect_code 3 ntflow run gov.dag --no-tui -p acc=0.7 -p psi=0.31
'

test_expect_success 'the gate table, the registry and the alert (160x48), then a resize to 80x24' '
	tui_start 160 48 &&
	tui_type "ntflow dash; echo status=\$?" &&
	tui_wait "^ gov | run 3 | manual" &&
	tui_wait "gate promote: FAIL 1/2" &&
	tui_screen >wide &&
	grep "| 12/12 | gated" wide &&
	grep "x accuracy >= 0.85  *0.7  *0.85  *FAIL" wide &&
	grep "+ auc >= 0.8  *0.91  *0.8  *pass" wide &&
	grep "registry: clf v2 candidate (this run)" wide &&
	grep "> v2  *candidate  *accuracy 0.7  auc 0.91 .*this run" wide &&
	grep "\* v1  *production  *(gate passed in run 1) accuracy 0.9 " wide &&
	grep "alerts: 1 open (1 high, 0 medium, 0 low)  max_psi .:# 0.31" wide &&
	grep "! high   feature-shift  max_psi 0.31 > 0.25  run 3" wide &&
	grep "^! promote  *rejected .*accuracy >= 0.85" wide &&

	tui_resize 80 24 &&
	# the narrow layout is drawn once the gate pane is a one-line header at the left edge
	tui_wait "^-- gate promote: FAIL 1/2 -" &&
	tui_screen >narrow &&
	grep "^ gov | run 3" narrow &&
	grep "stages 12/12" narrow &&
	grep "^= - shard (8)  *cached" narrow &&
	grep "^-- gate promote: FAIL 1/2 -" narrow &&
	grep "^-- registry: clf v2 candidate (this run); production v1 -" narrow &&
	grep "^-- alerts: 1 open (1 high, 0 medium, 0 low)  max_psi .:# 0.31 -" narrow &&
	grep "^-- log " narrow &&
	grep "^ q quit" narrow &&
	awk "length > 80 { bad = 1 } END { exit bad }" narrow &&

	# Tab to the gate: it opens, with its table
	tui_keys Tab &&
	tui_wait "criterion  *value" &&
	tui_wait "accuracy >= 0.85  *0.7" &&

	# back to 160x48: side by side again
	tui_resize 160 48 &&
	tui_wait "|-- registry: clf v2 candidate (this run)" &&

	# a acknowledges the alert under the cursor of the alerts pane, after y
	tui_keys a &&
	tui_wait "Tab to the alerts pane" &&
	tui_keys Tab Tab &&
	tui_keys a &&
	tui_wait "Acknowledge alert 1 (drift/feature-shift high)? (y/n)" &&
	tui_keys y &&
	tui_wait "alert 1 acknowledged" &&
	tui_wait "alerts: none open" &&
	ntflow alerts >alerts &&
	grep "acked" alerts &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_expect_success 'dash names a run: an older one, read-only keys say so' '
	tui_start 100 30 &&
	tui_type "ntflow dash 1; echo status=\$?" &&
	tui_wait "^ gov | run 1 | manual" &&
	tui_wait "gate promote: pass 2/2" &&
	tui_wait "registry: clf v1 production (this run)" &&
	tui_keys c &&
	tui_wait "read-only: cancel from the terminal running it" &&
	tui_keys r &&
	tui_wait "read-only: retry from the terminal running it" &&
	tui_keys q &&
	tui_wait "^status=0"
'

test_done
