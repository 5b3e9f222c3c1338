#!/bin/sh
# t9000-audit.sh: the audit log: runs leave their start, node outcomes (with cache keys; the
# cached nodes of a run together in a "nodes" record) and end in a hash chain with a Merkle root per run; `audit verify` says ok, then names the
# record a test edited, deleted or inserted with the sqlite3 shell (exit 1); `audit show`
# and `audit export` (checked here by an independent script that follows ntflow(1)); with
# NTFLOW_AUDIT_KEY the records are HMACs, and recomputing the plain SHA-256 chain after an
# edit still fails verification.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || test_skip_all 'the sqlite3 shell is needed to tamper with the log'
test -x /usr/bin/python3 || test_skip_all '/usr/bin/python3 is needed to recompute hashes'

write_dag p.dag <<-\EOF
	pipeline "p" {
	}

	stage "prep" {
	  run     = "echo data > prep.txt"
	  outputs = ["prep.txt"]
	}

	stage "train" {
	  needs   = ["prep"]
	  run     = "echo '{\"auc\": 0.9}' > m.json"
	  metrics = "m.json"
	}
	EOF

# db SQL: runs SQL on the state database.
db() { sqlite3 .ntflow/state.db "$1"; }

# save / restore: the database as it was (ntflow leaves no WAL behind when it exits).
save() { cp .ntflow/state.db saved.db; }
restore() { rm -f .ntflow/state.db-wal .ntflow/state.db-shm && cp saved.db .ntflow/state.db; }

test_expect_success 'an empty log verifies' '
	ntflow run p.dag --no-tui --only prep >/dev/null &&
	db "DELETE FROM audit; DELETE FROM audit_roots" &&
	ntflow audit verify >out &&
	echo "ok 0 records" >expect &&
	test_cmp expect out
'

test_expect_success 'two runs: start, the cached nodes, each node that ran, end; audit verify says ok' '
	ntflow run p.dag --no-tui >/dev/null &&
	ntflow run p.dag --no-tui >/dev/null &&
	ntflow audit verify >out &&
	echo "ok 7 records" >expect &&
	test_cmp expect out &&
	test "$(db "SELECT group_concat(kind, \",\") FROM (SELECT kind FROM audit ORDER BY seq)")" = \
		"run-start,nodes,node,run-end,run-start,nodes,run-end"
'

test_expect_success 'node records carry their cache keys (and the run they reused); the run-end its Merkle root' '
	ntflow audit show --run 2 --json >a.json &&
	test "$(json_get a.json ".records[1].kind")" = nodes &&
	test "$(json_get a.json ".records[1].payload.nodes[0].node")" = prep &&
	test "$(json_get a.json ".records[1].payload.nodes[0].state")" = cached &&
	test "$(json_get a.json ".records[1].payload.nodes[0].reused_run")" = 1 &&
	test "$(json_get a.json ".records[2].kind")" = node &&
	test "$(json_get a.json ".records[2].payload.node")" = train &&
	test "$(json_get a.json ".records[2].payload.state")" = succeeded &&
	test "$(json_get a.json ".records[2].payload.exit_code")" = 0 &&
	json_get a.json ".records[2].payload.cache_key" | grep -E "^[0-9a-f]{64}$" &&
	test "$(json_get a.json ".records[3].payload.status")" = succeeded &&
	test "$(json_get a.json ".records[3].payload.records")" = 3 &&
	test "$(json_get a.json ".records[3].payload.merkle_root")" = "$(json_get a.json ".roots[0].root")" &&
	ntflow audit show --run 3 --json >b.json &&
	test "$(json_get b.json ".records[1].payload.nodes[1].node")" = train &&
	test "$(json_get b.json ".records[1].payload.nodes[1].state")" = cached &&
	test "$(json_get b.json ".records[1].payload.nodes[1].reused_run")" = 2 &&
	test "$(json_get b.json ".records[1].payload.nodes[1].cache_key")" = "$(json_get a.json ".records[2].payload.cache_key")"
'

test_expect_success 'audit show: one line per record, then the roots' '
	ntflow audit show >out &&
	head -n 1 out | grep -E "^SEQ +TIME +RUN +KIND +HASH +PAYLOAD$" &&
	grep -E "^  1  [0-9-]{10} [0-9:]{8}     2  run-start  [0-9a-f]{12}  \{\"commit\":" out &&
	grep -E "^run 2: Merkle root [0-9a-f]{64} over 3 records$" out &&
	grep -E "^run 3: Merkle root [0-9a-f]{64} over 2 records$" out &&
	ntflow audit show --run 3 >out &&
	test_line_count = 5 out
'

test_expect_success 'audit export: JSON lines an independent script verifies' '
	ntflow audit export log.jsonl >out &&
	echo "7 records and 2 roots written to log.jsonl" >expect &&
	test_cmp expect out &&
	test_line_count = 9 log.jsonl &&
	/usr/bin/python3 - log.jsonl <<-\PY
	# The definitions of ntflow(1): hash = SHA-256("SEQ|TIME_MS|RUN_ID|KIND|PAYLOAD|PREV_HASH"),
	# a Merkle parent = SHA-256(left || right), an odd last node moves up unchanged.
	import hashlib, json, sys
	recs, roots = [], []
	for line in open(sys.argv[1]):
	    o = json.loads(line)
	    (recs if o["type"] == "record" else roots).append(o)
	prev = "0" * 64
	for r in recs:
	    msg = "%d|%d|%d|%s|%s|%s" % (r["seq"], r["time_ms"], r["run_id"] or 0, r["kind"], r["payload"], prev)
	    assert r["prev_hash"] == prev and hashlib.sha256(msg.encode()).hexdigest() == r["hash"], r["seq"]
	    prev = r["hash"]
	def merkle(hs):
	    level = [bytes.fromhex(h) for h in hs]
	    while len(level) > 1:
	        level = [hashlib.sha256(level[i] + level[i + 1]).digest() if i + 1 < len(level) else level[i]
	                 for i in range(0, len(level), 2)]
	    return level[0].hex()
	for root in roots:
	    hs = [r["hash"] for r in recs if r["run_id"] == root["run_id"] and r["seq"] <= root["last_seq"]]
	    assert len(hs) == root["count"] and merkle(hs) == root["root"], root
	PY
'

test_expect_success 'an edited payload: verify names the record (exit 1)' '
	save &&
	db "UPDATE audit SET payload = replace(payload, \"succeeded\", \"failed\") WHERE seq = 3" &&
	test_expect_code 1 ntflow audit verify >out 2>err &&
	test_must_be_empty out &&
	echo "ntflow: audit: record 3 was edited (its hash does not match its contents)" >expect &&
	test_cmp expect err &&
	restore && ntflow audit verify
'

test_expect_success 'a deleted record: verify names it' '
	db "DELETE FROM audit WHERE seq = 6" &&
	test_expect_code 1 ntflow audit verify 2>err &&
	echo "ntflow: audit: record 6 was deleted (the chain goes from 5 to 7)" >expect &&
	test_cmp expect err &&
	restore
'

test_expect_success 'the last record of a run deleted: its Merkle root catches it' '
	db "DELETE FROM audit WHERE seq = 7" &&
	test_expect_code 1 ntflow audit verify 2>err &&
	echo "ntflow: audit: run 3: it has a Merkle root but no run-end record" >expect &&
	test_cmp expect err &&
	restore &&
	db "DELETE FROM audit WHERE seq = 6" &&
	test_expect_code 1 ntflow audit verify 2>err &&
	grep "record 6 was deleted" err &&
	restore
'

test_expect_success 'an inserted record (the rest renumbered): verify names it' '
	db "UPDATE audit SET seq = -seq WHERE seq >= 3; UPDATE audit SET seq = 1 - seq WHERE seq < 0" &&
	db "INSERT INTO audit VALUES (3, 1, 2, \"node\", \"{}\", \"0\", \"0\", \"plain\")" &&
	test_expect_code 1 ntflow audit verify 2>err &&
	echo "ntflow: audit: record 3 was inserted (record 4 follows record 2)" >expect &&
	test_cmp expect err &&
	restore
'

test_expect_success 'an edit with the whole plain chain recomputed: the Merkle roots still differ' '
	cat >rehash.py <<-\PY &&
	# rehash.py DB FROM: recomputes the plain SHA-256 chain from record FROM on, the way
	# someone who can write the database but knows no key would.
	import hashlib, sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	rows = db.execute("SELECT seq, time_ms, run_id, kind, payload, prev_hash FROM audit ORDER BY seq").fetchall()
	prev = None
	for seq, t, run, kind, payload, old_prev in rows:
	    if seq < int(sys.argv[2]):
	        prev = db.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()[0]
	        continue
	    h = hashlib.sha256(("%d|%d|%d|%s|%s|%s" % (seq, t, run or 0, kind, payload, prev)).encode()).hexdigest()
	    db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
	    prev = h
	db.commit()
	PY
	db "UPDATE audit SET payload = replace(payload, \"succeeded\", \"failed\") WHERE seq = 3" &&
	/usr/bin/python3 rehash.py .ntflow/state.db 3 &&
	test_expect_code 1 ntflow audit verify 2>err &&
	echo "ntflow: audit: run 2: its Merkle root does not match its 3 records (a record or the root was edited)" >expect &&
	test_cmp expect err &&
	restore
'

test_expect_success 'with NTFLOW_AUDIT_KEY records are HMACs; verify needs the key' '
	mkdir keyed && (
		cd keyed && git init -q &&
		cp ../p.dag . &&
		head -c 32 /dev/urandom >../audit.key &&
		chmod 600 ../audit.key &&
		NTFLOW_AUDIT_KEY=../audit.key ntflow run p.dag --no-tui >/dev/null &&
		NTFLOW_AUDIT_KEY=../audit.key ntflow run p.dag --no-tui >/dev/null &&
		test "$(sqlite3 .ntflow/state.db "SELECT DISTINCT mac_kind FROM audit")" = hmac &&
		NTFLOW_AUDIT_KEY=../audit.key ntflow audit verify >out &&
		echo "ok 7 records" >expect &&
		test_cmp expect out &&
		ntflow audit show >out &&
		grep -E " run-start +[0-9a-f]{12}\* " out &&
		test_expect_code 1 ntflow audit verify 2>err &&
		echo "ntflow: audit: record 1 carries an HMAC: set NTFLOW_AUDIT_KEY to the key file to verify the audit log" >expect &&
		test_cmp expect err &&
		echo wrong >../wrong.key &&
		chmod 600 ../wrong.key &&
		NTFLOW_AUDIT_KEY=../wrong.key test_expect_code 1 ntflow audit verify 2>err &&
		grep "record 1 was edited (its HMAC does not match its contents)" err
	)
'

test_expect_success 'with the key: an edit with the plain SHA-256 chain recomputed still fails' '
	(
		cd keyed &&
		sqlite3 .ntflow/state.db "UPDATE audit SET payload = replace(payload, \"succeeded\", \"failed\") WHERE seq = 3" &&
		test "$(sqlite3 .ntflow/state.db "SELECT payload LIKE \"%failed%\" FROM audit WHERE seq = 3")" = 1 &&
		/usr/bin/python3 ../rehash.py .ntflow/state.db 3 &&
		NTFLOW_AUDIT_KEY=../audit.key test_expect_code 1 ntflow audit verify 2>err &&
		echo "ntflow: audit: record 3 was edited (its HMAC does not match its contents)" >expect &&
		test_cmp expect err &&
		sqlite3 .ntflow/state.db "UPDATE audit SET mac_kind = \"plain\" WHERE seq >= 3" &&
		NTFLOW_AUDIT_KEY=../audit.key test_expect_code 1 ntflow audit verify 2>err &&
		grep "record 3 is not authenticated" err
	)
'

test_expect_success 'an unreadable key fails the run at its start, saying why' '
	NTFLOW_AUDIT_KEY=/nonexistent/audit.key test_expect_code 1 ntflow run p.dag --no-tui >out 2>err &&
	grep -F "NTFLOW_AUDIT_KEY: cannot read the key file '"'"'/nonexistent/audit.key'"'"'" err
'

test_expect_success 'usage errors' '
	test_expect_code 2 ntflow audit 2>err &&
	grep "which subcommand" err &&
	test_expect_code 2 ntflow audit verfy 2>err &&
	grep "did you mean '"'"'verify'"'"'" err &&
	test_expect_code 2 ntflow audit export 2>err &&
	grep "to which file" err &&
	test_expect_code 2 ntflow audit verify --json 2>err &&
	test_expect_code 2 ntflow audit show --run x 2>err
'

test_done
