#!/bin/sh
# t0040-help-man.sh: `ntflow help CMD` and man/ntflow.1 describe the same commands and
# options: every command of `ntflow --help` has an entry in the manual's COMMANDS (or its
# SYNOPSIS line), every long option its help lists is in that entry (or is one the
# COMMANDS preamble gives every command), every short option its help pairs with a long
# one (-F, --format) is paired so in that entry, every subcommand (ntflow complete) has an
# entry of its own with the options completion offers for it, and every command the
# manual's COMMANDS describes exists.
. "$(dirname "$0")/lib.sh"

MAN=$NTFLOW_SRC_DIR/man/ntflow.1

test_expect_success 'every command and long option of the help is in the manual' '
	shared=$(awk "/^\\.SH COMMANDS/ { on = 1; next } on && /^\\.TP/ { exit } on" "$MAN" |
		grep -o -- "\\\\-\\\\-[a-z][a-z\\\\-]*" | sed "s/\\\\//g" | sort -u | tr "\\n" " ") &&
	test -n "$shared" &&
	ntflow --help | awk "/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print \$1 } f && /^\$/ { exit }" >cmds &&
	test "$(wc -l <cmds)" -gt 10 &&
	: >problems &&
	while read c; do
		test "$c" = help && continue
		awk -v c="$c" "
			/^\\.SH / { in_cmds = (\$0 == \".SH COMMANDS\"); syn = (\$0 == \".SH SYNOPSIS\"); next }
			syn && (\$0 == \".B ntflow \" c || index(\$0, \".B ntflow \" c \" \") == 1) { s = 1 }
			syn && s && /^\\.br/ { s = 0 }
			syn && s { print }
			!in_cmds { next }
			/^\\.RS/ { depth++ } /^\\.RE/ { depth-- }
			depth == 0 && prev == \".TP\" && /^\\.B / { on = (\$0 == \".B \" c || index(\$0, \".B \" c \" \") == 1) }
			on { print }
			{ prev = \$0 }
		" "$MAN" >"section.$c" &&
		if ! grep -q "^\\.B $c" "section.$c"; then
			echo "$c: no entry in COMMANDS" >>problems
			continue
		fi &&
		ntflow help "$c" | grep -o -- "--[a-z][a-z-]*" | sort -u >"opts.$c" &&
		while read o; do
			case " $shared " in *" $o "*) continue ;; esac
			esc=$(printf "%s" "$o" | sed "s/-/\\\\\\\\-/g")
			grep -q -- "$esc" "section.$c" || echo "$c: $o is in its help, not in its entry" >>problems
		done <"opts.$c"
	done <cmds &&
	cat problems &&
	test_must_be_empty problems
'

test_expect_success 'every short option of a help is paired with its long option in the manual' '
	ntflow --help | awk "/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print \$1 } f && /^\$/ { exit }" >cmds &&
	: >problems &&
	while read c; do
		test "$c" = help && continue
		ntflow help "$c" | sed -n "s/^ *\\(-[a-zA-Z0-9]\\), \\(--[a-z][a-z-]*\\).*/\\1 \\2/p" >pairs &&
		while read s l; do
			es=$(printf "%s" "$s" | sed "s/-/\\\\\\\\-/g") &&
			el=$(printf "%s" "$l" | sed "s/-/\\\\\\\\-/g") &&
			grep -- "$es" "section.$c" | grep -q -- "$el" ||
				echo "$c: $s, $l is not paired in its entry" >>problems
		done <pairs
	done <cmds &&
	cat problems &&
	test_must_be_empty problems
'

test_expect_success 'every subcommand has an entry with the options it takes' '
	: >problems &&
	while read c; do
		test "$c" = help && continue
		ntflow complete 2 ntflow "$c" "" | grep "^[a-z]" | grep -vx last >subs || continue
		while read sub; do
			awk -v e="$c $sub" "
				/^\\.SH / { in_cmds = (\$0 == \".SH COMMANDS\"); next }
				!in_cmds { next }
				/^\\.RS/ { depth++ } /^\\.RE/ { depth-- }
				depth == 0 && prev == \".TP\" && /^\\.B / { on = (\$0 == \".B \" e || index(\$0, \".B \" e \" \") == 1) }
				on { print }
				{ prev = \$0 }
			" "$MAN" >"entry.$c.$sub" &&
			if ! test -s "entry.$c.$sub"; then
				echo "$c $sub: no entry in COMMANDS" >>problems
				continue
			fi &&
			ntflow complete 3 ntflow "$c" "$sub" -- | grep "^--" | grep -v "^--help$\\|^--state$" >"opts.$c.$sub" &&
			while read o; do
				esc=$(printf "%s" "$o" | sed "s/-/\\\\\\\\-/g")
				grep -q -- "$esc\\($\\|[^a-z\\\\]\\)" "section.$c" || echo "$c $sub: $o is not in its entries" >>problems
			done <"opts.$c.$sub"
		done <subs
	done <cmds &&
	cat problems &&
	test_must_be_empty problems
'

test_expect_success 'every command the manual describes exists' '
	awk "/^\\.SH / { in_cmds = (\$0 == \".SH COMMANDS\"); next }
		!in_cmds { next }
		/^\\.RS/ { depth++ } /^\\.RE/ { depth-- }
		depth == 0 && prev == \".TP\" && /^\\.B / { print \$2 }
		{ prev = \$0 }" "$MAN" | sort -u >described &&
	test "$(wc -l <described)" -gt 10 &&
	while read c; do
		ntflow help "$c" >/dev/null 2>&1 || echo "$c is described but is no command"
	done <described >problems &&
	test_must_be_empty problems
'

test_done
