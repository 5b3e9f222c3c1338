#!/bin/sh
# t0120-typos.sh: a typo gets a suggestion everywhere: an unknown command, the command of
# help, a subcommand, an unknown long option of every command, a model, a stage in why and
# logs, a metric name (issue 19).
. "$(dirname "$0")/lib.sh"

test_expect_success 'an unknown long option of every command: did you mean' '
	ntflow --help | awk "/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print \$1 } f && /^\$/ { exit }" >cmds &&
	test "$(wc -l <cmds)" -gt 10 &&
	: >problems &&
	while read c; do
		case $c in help|complete) continue ;; esac
		o=$(ntflow help "$c" | grep -o -- "--[a-z][a-z-]*" | grep -v "^--help$" | awk "length(\$0) >= 6" | head -n 1) &&
		test -n "$o" || { echo "$c: no long option in its help" >>problems; continue; }
		typo=$(printf "%s" "$o" | sed "s/^\\(--..\\)/\\1x/") &&
		test_expect_code 2 ntflow "$c" "$typo" >out 2>err </dev/null
		grep -q "^ntflow $c: unknown option .$typo.; did you mean .$o.?" err ||
			{ echo "$c $typo:"; cat err; } >>problems
	done <cmds &&
	cat problems &&
	test_must_be_empty problems
'

test_expect_success 'an unknown command, help topic and subcommand' '
	test_expect_code 2 ntflow regstry 2>err &&
	grep "did you mean .registry.?" err &&
	test_expect_code 2 ntflow help regstry 2>err &&
	grep "did you mean .registry.?" err &&
	test_expect_code 2 ntflow registry shwo 2>err &&
	grep "did you mean .show.?" err &&
	test_expect_code 2 ntflow audit shw 2>err &&
	grep "did you mean .show.?" err &&
	test_expect_code 2 ntflow cache lss 2>err &&
	grep "did you mean .ls.?" err
'

test_expect_success 'an unknown stage in why and logs, a metric name' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}
	stage "train" {
	  run     = "echo {\\\"auc\\\": 0.7} >m.json"
	  metrics = "m.json"
	}
	EOF
	ntflow run p.dag --no-tui >/dev/null &&
	test_expect_code 1 ntflow why trian 2>err &&
	grep "did you mean .train.?" err &&
	test_expect_code 1 ntflow logs trian 2>err &&
	grep "did you mean .train.?" err &&
	ntflow metrics --name acu 2>err &&
	grep "did you mean .auc.?" err
'

test_done
