#!/bin/sh
# t0115-short-flags.sh: a short option letter means one thing in every command (-n
# --dry-run, -f --follow, as make/ninja and tail have it), read from every command's help;
# the old meanings (runs -n, schedule -n/-f, graph -f, init/import -f) still work for one
# release with a deprecation message on stderr (issue 19).
. "$(dirname "$0")/lib.sh"

test_expect_success 'every short option letter has one long option in all the helps' '
	ntflow --help | awk "/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print \$1 } f && /^\$/ { exit }" >cmds &&
	test "$(wc -l <cmds)" -gt 10 &&
	while read c; do
		ntflow help "$c" | sed -n "s/^ *\\(-[a-zA-Z0-9]\\), \\(--[a-z][a-z-]*\\).*/\\1 \\2 $c/p"
	done <cmds >pairs &&
	test "$(wc -l <pairs)" -gt 5 &&
	awk "{ if (\$1 in long && long[\$1] != \$2) print \$1 \": \" long[\$1] \" (\" cmd[\$1] \") and \" \$2 \" (\" \$3 \")\"; long[\$1] = \$2; cmd[\$1] = \$3 }" pairs >problems &&
	cat problems &&
	test_must_be_empty problems &&
	grep "^-n --dry-run run" pairs &&
	grep "^-f --follow logs" pairs
'

test_expect_success 'the old spellings work with a deprecation message' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  schedule = "0 3 * * 1"
	}
	stage "s" {
	  run = "true"
	}
	EOF
	ntflow run p.dag --no-tui >/dev/null &&
	ntflow run p.dag --no-tui >/dev/null &&
	ntflow runs -n 1 >out 2>err &&
	test_line_count = 2 out &&
	grep "^ntflow runs: -n is deprecated.*use --limit" err &&
	ntflow runs --limit 1 >out2 2>err &&
	test_cmp out out2 && test_must_be_empty err &&
	ntflow graph -f json p.dag >out 2>err &&
	grep "^ntflow graph: -f is deprecated.*--format" err &&
	ntflow graph -F json p.dag >out2 2>err &&
	test_cmp out out2 && test_must_be_empty err &&
	ntflow schedule -n 2 p.dag >out 2>err &&
	test_line_count = 2 out &&
	grep "^ntflow schedule: -n is deprecated" err
'

test_done
