#!/bin/sh
# t0050-store-owns-sql.sh: every SQL statement lives under src/store/, behind typed
# functions: no other C file of src/ or include/ holds SQL text, names sqlite3 (its header,
# its types, its sqlite3_* calls) or reaches for the raw handle, and the public header no
# longer declares nf_store_db. A layering check on the sources, not on a run.
. "$(dirname "$0")/lib.sh"

src=$NTFLOW_SRC_DIR

# A statement's shape inside a C string literal: the verbs with what must follow them (so
# "COMMIT" in a table heading or "PRAGMA integrity_check: ok" in a message is no SQL; a bare
# "COMMIT" statement cannot be told from the heading), and the clauses of a statement
# continued over several literals.
sql_re='"([^"\\]|\\.)*\b(SELECT [a-z_*(]|INSERT (OR [A-Z]+ )?INTO|UPDATE [a-z_]+ SET|DELETE FROM|REPLACE INTO|(CREATE|DROP) (TEMP |UNIQUE )?(TABLE|INDEX|VIEW|TRIGGER)|ALTER TABLE|(SAVEPOINT|RELEASE|ROLLBACK TO) [a-z_]+"|BEGIN (IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION)|(FROM|JOIN) [a-z_]+( [a-z]\b|"| WHERE| ON| ORDER| GROUP|,)|WHERE [a-z_.]+ *(=|<|>|IS |IN |LIKE ))|"PRAGMA [a-z_.]+ *(=|"|\()|^[ \t]*"[ \t]+(FROM|WHERE|AND|OR|ORDER BY|GROUP BY|LIMIT|JOIN|LEFT JOIN|ON CONFLICT|VALUES) '

c_files() {
	find "$src/src" "$src/include" -name '*.[ch]' | sort
}

test_expect_success 'the SQL pattern finds the statements of src/store/' '
	# The check below is only as good as its pattern: it must see the store'"'"'s own SQL.
	for f in store.c schedules.c; do
		grep -qE "$sql_re" "$src/src/store/$f" || { echo "no SQL seen in src/store/$f"; return 1; }
	done &&
	n=$(cat "$src"/src/store/*.c | grep -cE "$sql_re") &&
	test "$n" -ge 100 &&
	printf "%s\n" "\"SELECT 1\"" >probe.c &&
	! grep -qE "$sql_re" probe.c &&
	printf "%s\n" "q = \"SELECT id FROM runs WHERE id = ?\";" \
		"  \" FROM nodes n WHERE n.run_id = ?\"" \
		"\"INSERT OR REPLACE INTO t (a) VALUES (?)\"" "\"UPDATE t SET a = 1\"" \
		"\"RELEASE sp\"" "\"BEGIN IMMEDIATE\"" "\"PRAGMA user_version\"" >probe.c &&
	test "$(grep -cE "$sql_re" probe.c)" = 7 &&
	printf "%s\n" "{ \"KEY\", \"COMMIT\", \"CREATED\" }" "\"PRAGMA integrity_check: ok\"" \
		"\"run the pipeline as it was at COMMIT, in a\"" "\"--from STAGE\"" >probe.c &&
	! grep -qE "$sql_re" probe.c
'

test_expect_success 'no SQL text outside src/store/' '
	c_files | grep -v "^$src/src/store/" | xargs grep -nE "$sql_re" >found || :
	sed "s|^$src/||" found >actual &&
	test_must_be_empty actual
'

test_expect_success 'no sqlite3 outside src/store/ (header, types, calls)' '
	c_files | grep -v "^$src/src/store/" | xargs grep -nw -e "sqlite3" -e "sqlite3_[a-z0-9_]*" \
		-e "SQLITE_[A-Z_]*" >found || :
	sed "s|^$src/||" found >actual &&
	test_must_be_empty actual
'

test_expect_success 'nf_store_db is gone: not declared, defined or called' '
	c_files | xargs grep -nw "nf_store_db" >found || :
	sed "s|^$src/||" found >actual &&
	test_must_be_empty actual
'

test_done
