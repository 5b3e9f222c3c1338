#!/bin/sh
# t0100-empty-results.sh: a command that finds nothing exits 0 with an empty list ([] with
# --json) and a note on stderr: runs and metrics in a new workspace and with a filter
# nothing matches; a pipeline file that cannot be read is a usage/DAG error (2) in run as
# in validate (issue 19, one CLI grammar).
. "$(dirname "$0")/lib.sh"

test_expect_success 'runs in a new workspace: [] with --json, exit 0' '
	ntflow runs --json >out 2>err &&
	echo "[]" >expect &&
	test_cmp expect out &&
	grep "^ntflow: no runs yet in" err &&
	ntflow runs >out 2>err &&
	test_must_be_empty out &&
	ntflow runs --csv >out &&
	test_line_count = 1 out &&
	test_path_is_missing .ntflow
'

test_expect_success 'metrics in a new workspace: [] with --json, exit 0' '
	ntflow metrics --json >out 2>err &&
	echo "[]" >expect &&
	test_cmp expect out &&
	ntflow metrics >out 2>err &&
	test_must_be_empty out
'

test_expect_success 'run and validate of a missing pipeline file both exit 2' '
	test_expect_code 2 ntflow validate nosuch.dag 2>err &&
	test_expect_code 2 ntflow run nosuch.dag --no-tui 2>err &&
	grep "cannot open .nosuch.dag." err &&
	test_path_is_missing .ntflow
'

test_expect_success 'after a run, a filter nothing matches is still exit 0' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}
	stage "s" {
	  run     = "echo {\\\"auc\\\": 0.7} >m.json"
	  metrics = "m.json"
	}
	EOF
	ntflow run p.dag --no-tui >/dev/null &&
	ntflow runs --pipeline nope --json >out 2>err &&
	test_cmp expect out &&
	grep "no runs of pipeline .nope." err &&
	ntflow metrics --name acu --json >out 2>err &&
	test_cmp expect out &&
	grep "did you mean .auc." err
'

test_done
