#!/bin/sh
# t0040-help-man.sh: `ntflow help CMD` and man/ntflow.1 describe the same commands and
# options: every command of `ntflow --help` has an entry in the manual's COMMANDS (or its
# SYNOPSIS line), every long option its help lists is in that entry (or is one the
# COMMANDS preamble gives every command), and every command the manual's COMMANDS
# describes exists.
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
