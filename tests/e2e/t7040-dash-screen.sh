#!/bin/sh
# t7040-dash-screen.sh: the dashboard drawn into a file (--screen, --max-frames) without a
# terminal or tmux, so the sanitizer build runs its code: ntflow run and ntflow dash on
# plain, failing and governed pipelines; the usage errors of ntflow dash.
. "$(dirname "$0")/lib.sh"

test_need_hooks

# screen_has FILE TEXT: TEXT was drawn in one piece (escape sequences around it).
screen_has() {
	grep -a -q -F -e "$2" "$1" || { echo "no '$2' drawn in $1" >&2; return 1; }
}

test_expect_success 'no runs yet: dash waits for the first (here N frames of it); a run named is an error' '
	ntflow dash --max-frames 3 --screen s.out 2>err &&
	test_must_be_empty err &&
	screen_has s.out "waiting for the first run in $(pwd -P)/.ntflow" &&
	test_path_is_missing .ntflow &&
	printf "pipeline \"w\" {\n  schedule = \"@daily\"\n}\nstage \"a\" {\n  run = \"true\"\n}\n" >w.dag &&
	ntflow dash w.dag --max-frames 3 --screen w.out 2>err &&
	test_must_be_empty err &&
	screen_has w.out "waiting for the first run of w in $(pwd -P)/.ntflow" &&
	screen_has w.out "@daily" &&
	screen_has w.out "T00:00:00Z, in " &&
	test_expect_code 1 ntflow dash 1 --screen s.out 2>err &&
	grep "^ntflow: no runs yet in" err &&
	printf "stage \"a\" {\n  needs = [\"b\"]\n  run = \"true\"\n}\n" >bad.dag &&
	test_expect_code 2 ntflow dash bad.dag --screen s.out 2>err &&
	grep "^bad.dag:" err &&
	test_path_is_missing .ntflow
'

test_expect_success 'setup: examples/hello.dag in a repository' '
	mkdir -p examples &&
	cp "$NTFLOW_SRC_DIR/examples/hello.dag" examples/ &&
	git add examples && git commit -q -m hello
'

test_expect_success 'ntflow run --screen: the dashboard in a file, the summary on stdout' '
	ntflow run examples/hello.dag --screen run.screen --size 120x40 >out 2>err &&
	cat out &&
	grep "^run 1 of hello succeeded in" out &&
	grep "^  gate:       none" out &&
	! grep "^\[" out &&
	screen_has run.screen "stages 9/9" &&
	screen_has run.screen "succeeded" &&
	screen_has run.screen "tune (3)"
'

test_expect_success 'ntflow dash --max-frames: N frames of the last run, then exit 0' '
	ntflow dash --max-frames 3 --screen dash.screen --size 100x30 &&
	screen_has dash.screen " hello" &&
	screen_has dash.screen "stages 9/9" &&
	screen_has dash.screen "registry: no versions" &&
	screen_has dash.screen "alerts: none open" &&
	ntflow dash 1 --max-frames 1 --screen one.screen &&
	screen_has one.screen "stages 9/9"
'

test_expect_success 'a failing run drawn into a file exits 1 with its summary' '
	write_dag fail.dag <<-\EOF &&
	pipeline "fail" {}
	stage "ok" {
	  run = "echo fine"
	}
	stage "bad" {
	  needs = ["ok"]
	  run   = "echo oops; exit 4"
	}
	EOF
	test_expect_code 1 ntflow run fail.dag --screen fail.screen >out &&
	grep "^run 2 of fail failed in" out &&
	screen_has fail.screen "exit 4"
'

test_expect_success 'the governance panes: gate table, registry versions, an alert' '
	write_dag gov.dag <<-\EOF &&
	pipeline "gov" {
	  params {
	    acc = 0.9
	    psi = 0.05
	  }
	}
	stage "evaluate" {
	  run     = "mkdir -p build && echo model ${params.acc} >build/model.txt && echo {\\\"accuracy\\\": ${params.acc}} >build/metrics.json"
	  outputs = ["build/model.txt", "build/metrics.json"]
	  metrics = "build/metrics.json"
	}
	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["accuracy >= 0.85"]
	}
	model "clf" {
	  artifact = "build/model.txt"
	  metrics  = "build/metrics.json"
	  gate     = "promote"
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
	ntflow run gov.dag --screen gov1.screen >out &&
	grep "^  registered: clf v1 (production)" out &&
	test_expect_code 3 ntflow run gov.dag -p acc=0.7 -p psi=0.4 --screen gov2.screen --size 160x48 >out &&
	cat out &&
	grep "^run 4 of gov gated in" out &&
	grep "^  gate:       promote rejected (0 of 1 criteria passed)" out &&
	grep "^  registered: clf v2 (candidate)" out &&
	grep "^  alerts:     1 open (1 high); newest: high feature-shift (max_psi 0.4 > 0.25)" out &&
	ntflow dash --max-frames 2 --screen gov.screen --size 160x48 &&
	screen_has gov.screen "gate promote: FAIL 0/1" &&
	screen_has gov.screen "accuracy >= 0.85" &&
	screen_has gov.screen "registry: clf v2 candidate (this run)" &&
	screen_has gov.screen "production" &&
	screen_has gov.screen "feature-shift" &&
	ntflow dash --max-frames 2 --screen gov80.screen --size 80x24 &&
	screen_has gov80.screen "gate promote: FAIL 0/1"
'

# restored FILE: the screen ends by leaving the alternate screen with the cursor shown
# (what endwin writes for xterm-256color).
restored() {
	tail -c 64 "$1" | grep -a -q "$(printf "\033\\[?1049l")" ||
		{ echo "the terminal was not restored at the end of $1" >&2; return 1; }
}

test_expect_success 'SIGTERM and SIGINT: dash gives the terminal back and exits 130' '
	for sig in TERM INT; do
		rm -f sig.screen &&
		{ ntflow dash --max-frames 100000 --screen sig.screen & pid=$!; } &&
		i=0 && while ! grep -a -q "stages" sig.screen 2>/dev/null && test $i -lt 150; do sleep 0.1; i=$((i + 1)); done &&
		kill -$sig $pid &&
		{ wait $pid; rc=$?; } ;
		test $rc = 130 && restored sig.screen || return 1
	done
'

test_expect_success 'a crash while the screen is held still gives the terminal back' '
	test_expect_code 134 env NTFLOW_TEST_TUI_CRASH=2 ntflow-test dash --max-frames 5 --screen crash.screen &&
	restored crash.screen &&
	test_expect_code 134 env NTFLOW_TEST_TUI_CRASH=2 ntflow-test run examples/hello.dag --no-cache --screen crash2.screen &&
	restored crash2.screen
'

test_expect_success 'a screen smaller than 80x24 still works' '
	ntflow dash --max-frames 2 --screen small.screen --size 20x5 &&
	restored small.screen
'

test_expect_success 'dash usage errors' '
	test_expect_code 1 ntflow dash 7 --screen x.screen 2>err &&
	grep "^ntflow: no run 7 in .*/\.ntflow" err &&
	test_expect_code 2 ntflow dash nope --screen x.screen 2>err &&
	grep "^ntflow dash: .nope. is not a run id" err &&
	test_expect_code 2 ntflow dash 1 2 2>err &&
	grep "^ntflow: dash: one run at a time" err &&
	test_expect_code 2 ntflow dash --size 10x2 --screen x.screen 2>err &&
	grep "^ntflow: --size .10x2.: expected COLSxROWS, like 100x30" err &&
	test_expect_code 2 ntflow dash --max-frames 0 2>err &&
	grep "^ntflow: --max-frames .0.: expected a number of frames from 1" err &&
	test_expect_code 1 ntflow dash </dev/null >out 2>err &&
	grep "^ntflow: the dashboard needs a terminal (or --screen FILE)" err &&
	test_expect_code 1 ntflow dash --screen no/such/dir/x 2>err &&
	grep "^ntflow: cannot open .no/such/dir/x." err &&
	test_expect_code 2 ntflow run examples/hello.dag --size 5 2>err &&
	grep "^ntflow: --size .5.: expected COLSxROWS" err
'

test_done
