#!/bin/sh
# t0128-table-width.sh: listings fit $COLUMNS (else the terminal's width), the widest column
# cut with an ellipsis, the others whole; on a pipe or in a file, without COLUMNS, whole
# lines (issue 19).
. "$(dirname "$0")/lib.sh"

long=a-pipeline-whose-name-is-much-too-long-for-the-width-of-a-terminal

test_expect_success 'setup: a run of a pipeline with a long name' '
	write_dag p.dag <<-EOF &&
	pipeline "$long" {}
	stage "s" {
	  run = "true"
	}
	EOF
	ntflow run p.dag --no-tui >/dev/null
'

test_expect_success 'without COLUMNS a pipe gets whole lines' '
	ntflow runs >out &&
	grep -F " $long " out &&
	! grep "…" out
'

test_expect_success 'COLUMNS=100: the pipeline column is cut, the others whole' '
	COLUMNS=100 ntflow runs >out &&
	cat out &&
	sed "s/…/./g" out | awk "length(\$0) > 100 { print \"too wide: \" \$0; bad = 1 } END { exit bad }" &&
	sed -n 2p out | grep -E "^ *1  a-pipeline-[a-z-]*…  manual +[0-9-]+  .*succeeded  [0-9-]+ [0-9:]+ " &&
	COLUMNS=300 ntflow runs >wide &&
	ntflow runs >whole &&
	test_cmp whole wide
'

test_expect_success 'COLUMNS that is not a number is ignored' '
	COLUMNS=wide ntflow runs >out &&
	test_cmp whole out
'

test_done
