#!/bin/sh
# t9040-audit-cached-batch.sh: a fully cached rerun audits its cached nodes together, up to
# 256 in one "nodes" record (each listed with the fields of a node record) instead of one
# record per node; `audit verify` checks the chain and the run's Merkle root over them, and
# names the record when one node inside it was changed.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || test_skip_all 'the sqlite3 shell is needed to tamper with the log'

N=600   # ceil(600 / 256) = 3 records: 256, 256 and 88 nodes

# db SQL: runs SQL on the state database.
db() { sqlite3 .ntflow/state.db "$1"; }

test_expect_success 'setup: a stage of 600 matrix instances, run once' '
	printf ".ntflow/\nout/\n" >.gitignore &&
	{
		echo "pipeline \"batch\" {}" &&
		echo "stage \"t\" {" &&
		echo "  matrix {" &&
		printf "    i = [%s]\n" "$(seq -s ", " 1 $N)" &&
		echo "  }" &&
		echo "  run     = \"mkdir -p out && touch out/\${matrix.i}\"" &&
		echo "  outputs = [\"out/\${matrix.i}\"]" &&
		echo "}"
	} >p.dag &&
	git add . && git commit -q -m one &&
	ntflow run p.dag --no-tui >out1 &&
	grep "^run 1 succeeded" out1 &&
	test "$(db "SELECT count(*) FROM audit WHERE run_id = 1 AND kind = \"node\"")" = $N
'

test_expect_success 'the cached rerun: ceil(N/256) "nodes" records listing every node once' '
	ntflow run p.dag --no-tui >out2 &&
	grep "^run 2 succeeded" out2 &&
	test "$(grep -c " cached: reused run 1" out2)" = $N &&
	test "$(db "SELECT group_concat(kind, \",\") FROM (SELECT kind FROM audit WHERE run_id = 2 ORDER BY seq)")" = \
		"run-start,nodes,nodes,nodes,run-end" &&
	ntflow audit show --run 2 --json >a.json &&
	test "$(json_get a.json ".records[1].payload.nodes[0].state")" = cached &&
	test "$(json_get a.json ".records[1].payload.nodes[0].reused_run")" = 1 &&
	test "$(json_get a.json ".records[1].payload.nodes[0].kind")" = stage &&
	test "$(json_get a.json ".records[1].payload.nodes[0].attempt")" = 1 &&
	json_get a.json ".records[1].payload.nodes[0].cache_key" | grep -E "^[0-9a-f]{64}$" &&
	test "$(json_get a.json ".records[4].payload.records")" = 4 &&
	for r in 1 2 3; do
		json_get a.json ".records[$r].payload.nodes" | grep -o "\"node\": *\"t\[i=[0-9]*\]\"" || return 1
	done | sed "s/.*\[i=\([0-9]*\)\].*/\1/" | sort -n >names &&
	seq 1 $N >expect &&
	test_cmp expect names &&
	ntflow audit verify >verify &&
	echo "ok $((N + 2 + 5)) records" >expect &&
	test_cmp expect verify
'

test_expect_success 'one node inside a "nodes" record changed: verify names the record (exit 1)' '
	cp .ntflow/state.db saved.db &&
	seq=$(db "SELECT seq FROM audit WHERE run_id = 2 AND kind = \"nodes\" ORDER BY seq LIMIT 1 OFFSET 1") &&
	db "UPDATE audit SET payload = replace(payload, \"[i=300]\", \"[i=301]\") WHERE seq = $seq" &&
	test "$(db "SELECT instr(payload, \"[i=300]\") FROM audit WHERE seq = $seq")" = 0 &&
	test_expect_code 1 ntflow audit verify >verify 2>err &&
	test_must_be_empty verify &&
	echo "ntflow: audit: record $seq was edited (its hash does not match its contents)" >expect &&
	test_cmp expect err &&
	rm -f .ntflow/state.db-wal .ntflow/state.db-shm && cp saved.db .ntflow/state.db &&
	ntflow audit verify
'

test_done
