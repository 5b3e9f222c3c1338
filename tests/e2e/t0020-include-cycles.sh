#!/bin/sh
# t0020-include-cycles.sh: the layering of src/, read from the #include lines by
# scripts/check-includes.sh: no include cycle between modules, and no module including
# another's private header. The checker is tried on small trees first, so that it is
# seen to fail, then on ntflow itself.
. "$(dirname "$0")/lib.sh"

check=$NTFLOW_SRC_DIR/scripts/check-includes.sh
# ntflow's own known exceptions are no files of the small trees
CHECK_INCLUDES_KNOWN=
export CHECK_INCLUDES_KNOWN

# mktree DIR: a tree with modules util <- dag <- graph, as ntflow has them.
mktree() {
	mkdir -p "$1/include/ntflow" "$1/src/util" "$1/src/dag" "$1/src/graph" &&
	printf '#include <stdio.h>\n' >"$1/include/ntflow/util.h" &&
	printf '#include "ntflow/util.h"\n' >"$1/include/ntflow/dag.h" &&
	printf '#include "ntflow/dag.h"\n' >"$1/include/ntflow/graph.h" &&
	printf '#include "config.h"\n#include "ntflow/util.h"\n' >"$1/src/util/a.c" &&
	printf '#include "ntflow/dag.h"\n#include "lex.h"\n' >"$1/src/dag/parse.c" &&
	printf '#include "ntflow/util.h"\n' >"$1/src/dag/lex.h" &&
	printf '#include "ntflow/graph.h"\n' >"$1/src/graph/graph.c" &&
	printf '#include "ntflow/graph.h"\n#include "ntflow/dag.h"\n' >"$1/src/main.c"
}

test_expect_success 'a tree whose modules include downwards only passes' '
	mktree ok &&
	sh "$check" "$PWD/ok" >out 2>&1 &&
	test_must_be_empty out
'

test_expect_success 'a module including one above it is a cycle, named with the file' '
	mktree cyc &&
	printf "#include \"ntflow/graph.h\"\n" >cyc/src/dag/load.c &&
	test_expect_code 1 sh "$check" "$PWD/cyc" >out 2>&1 &&
	grep "include cycle between modules:.*dag" out &&
	grep "dag -> graph: src/dag/load.c includes include/ntflow/graph.h" out &&
	grep "graph -> dag: include/ntflow/graph.h includes include/ntflow/dag.h" out
'

test_expect_success 'a longer cycle through a public header is found too' '
	mktree cyc3 &&
	printf "#include \"ntflow/dag.h\"\n" >>cyc3/include/ntflow/util.h &&
	test_expect_code 1 sh "$check" "$PWD/cyc3" >out 2>&1 &&
	grep "include cycle between modules:" out >cycles &&
	test_line_count = 1 cycles &&
	grep "util -> dag: include/ntflow/util.h" out
'

test_expect_success 'a private header included from another module fails' '
	mktree priv &&
	printf "#include \"../dag/lex.h\"\n" >priv/src/graph/tok.c &&
	test_expect_code 1 sh "$check" "$PWD/priv" >out 2>&1 &&
	grep "src/graph/tok.c includes src/dag/lex.h, private to src/dag" out
'

test_expect_success 'a known exception is let through, and reported once it is gone' '
	CHECK_INCLUDES_KNOWN="src/graph/tok.c src/dag/lex.h" sh "$check" "$PWD/priv" >out 2>&1 &&
	test_must_be_empty out &&
	CHECK_INCLUDES_KNOWN="src/graph/tok.c src/dag/lex.h" \
		test_expect_code 1 sh "$check" "$PWD/ok" >out 2>&1 &&
	grep "known exception \"src/graph/tok.c src/dag/lex.h\" no longer occurs" out
'

test_expect_success 'the store does not need the executor: store.h does not include exec.h' '
	grep "^#include" "$NTFLOW_SRC_DIR/include/ntflow/store.h" >includes &&
	! grep "ntflow/exec.h" includes
'

test_expect_success 'the sources of ntflow have no include cycle' '
	unset CHECK_INCLUDES_KNOWN &&
	sh "$check" >out 2>&1 || { cat out; false; }
'

test_done
