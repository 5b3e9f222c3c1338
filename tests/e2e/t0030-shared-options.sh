#!/bin/sh
# t0030-shared-options.sh: the options every command shares, parsed once (src/cmd.c):
# --state DIR and --json where a command's usage shows them and nowhere else, and the
# RUN operand of show, logs, why, dash and audit show --run: a run id, `last`, or -N,
# the Nth run counting back from the last.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: three runs of a one-stage pipeline' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	}

	stage "a" {
	  run = "echo run $NTFLOW_RUN_ID"
	}
	EOF
	for i in 1 2 3; do
		ntflow run --no-tui --no-cache p.dag >/dev/null || return 1
	done &&
	ntflow runs >runs &&
	test_line_count = 4 runs
'

test_expect_success 'show -1 and show last are the last run, -2 the one before' '
	ntflow show 3 >expect &&
	ntflow show -1 >actual &&
	test_cmp expect actual &&
	ntflow show last >actual &&
	test_cmp expect actual &&
	ntflow show 2 >expect &&
	ntflow show -2 >actual &&
	test_cmp expect actual &&
	ntflow show --json -3 >actual.json &&
	test "$(json_get actual.json .run.id)" = 1
'

test_expect_success '-N is the RUN wherever it stands among the options and operands' '
	echo "run 2" >expect &&
	ntflow logs -2 a >actual &&
	test_cmp expect actual &&
	ntflow logs a -2 >actual &&
	test_cmp expect actual &&
	ntflow logs --state .ntflow -2 a >actual &&
	test_cmp expect actual &&
	ntflow why -3 a >why.out &&
	grep "^a" why.out &&
	ntflow show -- -1 >actual &&
	ntflow show 3 >expect &&
	test_cmp expect actual
'

test_expect_success 'audit show --run takes last and -N too' '
	ntflow audit show --run 2 --json >expect &&
	ntflow audit show --run -2 --json >actual &&
	test_cmp expect actual &&
	ntflow audit show --run 3 >expect &&
	ntflow audit show --run last >actual &&
	test_cmp expect actual
'

test_expect_success 'an option value that looks like -N stays the option value' '
	test_expect_code 2 ntflow logs --attempt -1 a 2>err &&
	grep "attempt needs a positive number, not .-1." err
'

test_expect_success '-N past the first run: exit 1, saying how many runs there are' '
	test_expect_code 1 ntflow show -4 2>err &&
	grep "no run -4: there are only 3 runs" err &&
	test_expect_code 1 ntflow logs -9 a 2>err &&
	grep "no run -9" err
'

test_expect_success 'two RUN operands are one too many; a bad RUN is a usage error' '
	test_expect_code 2 ntflow show -1 -2 2>err &&
	grep "unexpected argument" err &&
	test_expect_code 2 ntflow show -0 2>err &&
	grep "is not a run id" err &&
	test_expect_code 2 ntflow show lastt 2>err
'

test_expect_success 'a command with no RUN operand still rejects -1 as an option' '
	test_expect_code 2 ntflow runs -1 2>err &&
	grep "unknown option .-1." err
'

test_expect_success '--state and --json: accepted exactly where the usage shows them' '
	ntflow --help | sed -n "s/^  \([a-z]*\)  .*/\1/p" >commands &&
	test_line_count -gt 10 commands &&
	while read c; do
		ntflow help $c >help.out || return 1
		usage=$(sed -n "1,/^$/p" help.out)
		for o in state json; do
			arg=; test $o = state && arg=$PWD/.ntflow
			case $usage in
			*"--$o"*) ntflow $c --$o $arg --help >/dev/null 2>err || { echo "$c --$o refused"; cat err; return 1; } ;;
			*) test_expect_code 2 ntflow $c --$o $arg --help >/dev/null 2>err ||
				{ echo "$c --$o accepted"; return 1; } ;;
			esac
		done
	done <commands
'

test_expect_success 'the help of a command with a RUN says what a RUN is' '
	for c in show logs why dash; do
		ntflow help $c | grep "^RUN is a run id, last" || return 1
	done &&
	ntflow help runs >out &&
	! grep "^RUN is" out
'

test_expect_success '--state=DIR and --json given twice work as before' '
	ntflow show --state=.ntflow --json --json -1 >actual.json &&
	test "$(json_get actual.json .run.id)" = 3
'

test_done
