#!/bin/sh
# t0000-cli.sh: the command line every command shares: --version, --help, help CMD,
# "did you mean" for a mistyped command, usage errors (exit 2) and option syntax.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: a small valid pipeline' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  description = "cli test"
	}

	stage "a" {
	  run = "true"
	}

	stage "b" {
	  needs = ["a"]
	  run   = "true"
	}
	EOF
	cp p.dag ./-x.dag
'

test_expect_success '--version prints the version configure.ac declares' '
	sed -n "s/^AC_INIT(\[ntflow\], *\[\([^]]*\)\].*/ntflow \1/p" \
		"$NTFLOW_SRC_DIR/configure.ac" >expect &&
	test -s expect &&
	ntflow --version >out &&
	sed -n 1p out >actual &&
	test_cmp expect actual
'

test_expect_success '--help lists the commands, on stdout, exit 0' '
	ntflow --help >out 2>err &&
	test_must_be_empty err &&
	grep "^usage: ntflow " out &&
	for c in validate graph fmt run runs show logs help; do
		grep "^  $c  *[A-Z]" out || return 1
	done
'

test_expect_success '-h and help with no command are --help' '
	ntflow --help >expect &&
	ntflow -h >actual &&
	test_cmp expect actual &&
	ntflow help >actual &&
	test_cmp expect actual
'

test_expect_success 'no command: usage on stderr, exit 2' '
	test_expect_code 2 ntflow >out 2>err &&
	test_must_be_empty out &&
	grep "^usage: ntflow " err
'

test_expect_success 'help CMD shows the command usage and equals CMD --help' '
	for c in validate graph fmt run runs show logs; do
		ntflow help $c >help.out &&
		head -n 1 help.out >actual &&
		grep "^usage: ntflow $c\( \|$\)" actual &&
		ntflow $c --help >help2.out &&
		test_cmp help.out help2.out || return 1
	done
'

test_expect_success 'help of an unknown command exits 2' '
	test_expect_code 2 ntflow help nosuch 2>err &&
	grep "nosuch" err
'

test_expect_success 'a mistyped command gets "did you mean", exit 2' '
	echo "ntflow: '\''valdate'\'' is not an ntflow command; did you mean '\''validate'\''?" >expect &&
	test_expect_code 2 ntflow valdate p.dag >out 2>actual &&
	test_must_be_empty out &&
	test_cmp expect actual &&
	test_expect_code 2 ntflow grpah p.dag 2>err &&
	grep "did you mean '\''graph'\''?" err
'

test_expect_success 'a command nothing resembles: no suggestion, exit 2' '
	test_expect_code 2 ntflow xyzzyplugh 2>err &&
	grep "^ntflow: '\''xyzzyplugh'\'' is not an ntflow command" err &&
	! grep "did you mean" err
'

test_expect_success 'an unknown global option: usage, exit 2' '
	test_expect_code 2 ntflow --bogus 2>err &&
	grep "bogus" err &&
	grep "^usage: ntflow " err
'

test_expect_success 'an unknown command option: message and the command usage, exit 2' '
	test_expect_code 2 ntflow validate --bogus p.dag >out 2>err &&
	test_must_be_empty out &&
	grep "^ntflow validate: unknown option '\''--bogus'\''" err &&
	grep "^usage: ntflow validate" err &&
	test_expect_code 2 ntflow graph -Z p.dag 2>err &&
	grep "^ntflow graph: unknown option '\''-Z'\''" err &&
	grep "^usage: ntflow graph" err
'

test_expect_success 'an option without its value: exit 2' '
	test_expect_code 2 ntflow graph p.dag --format 2>err &&
	grep "format" err &&
	grep "^usage: ntflow graph" err
'

test_expect_success 'validate is silent on success' '
	ntflow validate p.dag >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err
'

test_expect_success '--opt=value and --opt value are the same' '
	for f in text dot json; do
		ntflow graph --format=$f p.dag >eq.out &&
		ntflow graph --format $f p.dag >sp.out &&
		test_cmp eq.out sp.out &&
		test -s eq.out || return 1
	done
'

test_expect_success 'options may follow the operands' '
	ntflow graph --format dot p.dag >before &&
	ntflow graph p.dag --format dot >after &&
	test_cmp before after
'

test_expect_success 'an option missing its value is named as written: --force, not its letter' '
	test_expect_code 2 ntflow run p.dag --force 2>err &&
	grep "^ntflow run: option .--force. needs a value" err &&
	test_expect_code 2 ntflow run p.dag -j 2>err &&
	grep "^ntflow run: option .-j. needs a value" err
'

test_expect_success '-- ends the options' '
	test_expect_code 2 ntflow validate -x.dag 2>err &&
	grep "unknown option" err &&
	ntflow validate -- -x.dag &&
	ntflow graph --format=dot -- p.dag >expect &&
	ntflow graph --format dot -- -x.dag >actual &&
	test_cmp expect actual
'

test -w /dev/full && test_set_prereq DEV_FULL

test_expect_success DEV_FULL 'output lost to a full disk is an error, exit 1' '
	for c in "--help" "--version" "help run" "graph p.dag" "graph --format json p.dag"; do
		test_expect_code 1 ntflow $c >/dev/full 2>err &&
		grep -x "ntflow: cannot write to standard output\(: No space left on device\)\{0,1\}" err &&
		test_line_count = 1 err || return 1
	done
'

test_expect_success 'output lost to a closed stdout is an error; nothing to print is not' '
	test_expect_code 1 ntflow graph p.dag >&- 2>err &&
	grep "^ntflow: cannot write to standard output" err &&
	ntflow validate p.dag >&- 2>err &&
	test_must_be_empty err
'

test_expect_success DEV_FULL 'the reading commands check their output too (runs, show)' '
	ntflow run --no-tui p.dag >/dev/null 2>&1 &&
	ntflow runs >/dev/null &&
	test_expect_code 1 ntflow runs >/dev/full 2>err &&
	grep "^ntflow: cannot write to standard output" err &&
	test_expect_code 1 ntflow show >/dev/full 2>err &&
	grep "^ntflow: cannot write to standard output" err &&
	# A closed stdout is not handed to the database or a log as their descriptor.
	test_expect_code 1 ntflow run --no-tui p.dag >&- 2>err &&
	test_expect_code 1 ntflow runs >&- 2>err &&
	ntflow runs >out &&
	test_line_count = 3 out &&
	sqlite3 .ntflow/state.db "PRAGMA integrity_check" >out &&
	echo ok >expect &&
	test_cmp expect out
'

test_expect_success DEV_FULL 'a usage error keeps its own status when its output is lost' '
	test_expect_code 2 ntflow graph --format nope p.dag >/dev/full 2>err
'

test_done
