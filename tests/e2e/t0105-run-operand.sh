#!/bin/sh
# t0105-run-operand.sh: a RUN operand is a number, last or -N in every command that takes
# one: show, why, logs, diff, report, audit show --run and metrics --run (issue 19).
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: two runs with different metrics' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    auc = 0.6
	  }
	}
	stage "s" {
	  run     = "echo {\\\"auc\\\": ${params.auc}} >m.json"
	  metrics = "m.json"
	}
	EOF
	ntflow run p.dag --no-tui >/dev/null &&
	ntflow run p.dag --no-tui -p auc=0.7 >/dev/null
'

test_expect_success 'metrics --run: a number, last and -N name the same runs' '
	ntflow metrics --run 1 >one &&
	grep "0.6" one && ! grep "0.7" one &&
	ntflow metrics --run -2 >back &&
	test_cmp one back &&
	ntflow metrics --run=last >last &&
	ntflow metrics --run -1 >minus1 &&
	ntflow metrics --run 2 >two &&
	test_cmp two last &&
	test_cmp two minus1 &&
	grep "0.7" two &&
	test_expect_code 1 ntflow metrics --run -3 2>err &&
	grep "no run -3: there are only 2 runs" err &&
	test_expect_code 2 ntflow metrics --run nope 2>err &&
	grep "not a run id" err
'

test_expect_success 'audit show --run: a number, last and -N' '
	ntflow audit show --run 1 --json >one &&
	ntflow audit show --run -2 --json >back &&
	test_cmp one back &&
	ntflow audit show --run last --json >last &&
	ntflow audit show --run -1 --json >minus1 &&
	test_cmp last minus1 &&
	! test_cmp one last >/dev/null
'

test_expect_success 'show, why, logs, diff and report take -N and last' '
	ntflow show 1 --json >a && ntflow show -2 --json >b && test_cmp a b &&
	ntflow show last --json >a && ntflow show -1 --json >b && test_cmp a b &&
	ntflow why 1 s >a && ntflow why -2 s >b && test_cmp a b &&
	ntflow logs last s >a 2>&1 && ntflow logs -1 s >b 2>&1 && test_cmp a b &&
	ntflow diff 1 2 --json >a && ntflow diff -2 last --json >b && test_cmp a b &&
	ntflow report -2 --html r.html && test_path_is_file r.html
'

test_done
