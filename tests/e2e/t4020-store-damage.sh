#!/bin/sh
# t4020-store-damage.sh: a damaged store is refused, never taken for a new workspace. A
# workspace that has held runs is marked (.ntflow/WORKSPACE: the store's id and the audit
# head), so an emptied, deleted or swapped state.db is an error (exit 4) for every command,
# and a run does not start afresh; a garbled page stops a run before any promotion (no
# deploy, no new version), the run recorded failed with SQLite's message, and so does damage
# met by the registry's own statements; `ntflow doctor` finds the damage, records lost since
# the marker saw them, an edited audit record and a corrupt cache object, and says ok on a
# sound workspace.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

# garble_table TABLE: overwrites the root page of TABLE in .ntflow/state.db with 'x's.
garble_table() {
	page=$(sqlite3 .ntflow/state.db "SELECT rootpage FROM sqlite_master WHERE name = '$1'") &&
	size=$(sqlite3 .ntflow/state.db "PRAGMA page_size") &&
	rm -f .ntflow/state.db-wal .ntflow/state.db-shm &&
	head -c "$size" /dev/zero | tr '\0' x |
		dd of=.ntflow/state.db bs="$size" seek=$((page - 1)) conv=notrunc status=none
}

test_expect_success 'setup: a gated model and a deploy stage' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    acc = 0.9
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo weights ${params.acc} >build/model.txt"
	  outputs = ["build/model.txt"]
	}

	stage "evaluate" {
	  needs   = ["train"]
	  run     = "mkdir -p build/eval && echo {\\\"accuracy\\\": ${params.acc}} >build/eval/metrics.json"
	  outputs = ["build/eval/"]
	  metrics = "build/eval/metrics.json"
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["accuracy >= 0.85"]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  gate     = "promote"
	}

	stage "deploy" {
	  needs = ["promote"]
	  run   = "mkdir -p deployed && cp build/model.txt deployed/ && date +%s%N >>deployed/times"
	  cache = false
	}
	EOF
	printf "/.ntflow/\n/build/\n/models/\n/deployed/\n*.db\n*.json\nout\nerr\nexpect\nruns\n/elsewhere/\n/g/\n/g2/\n" >.gitignore &&
	git add . && git commit -q -m pipeline
'

test_expect_success SQLITE3 'the first run marks the workspace with the store id and the audit head' '
	test_path_is_missing .ntflow/WORKSPACE &&
	ntflow run p.dag >out 2>err &&
	test_path_is_file .ntflow/WORKSPACE &&
	id=$(sqlite3 .ntflow/state.db "SELECT value FROM meta WHERE key = '\''store_id'\''") &&
	echo "$id" | grep -Ex "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}" &&
	grep -x "store $id" .ntflow/WORKSPACE &&
	head=$(sqlite3 .ntflow/state.db "SELECT seq || '\'' '\'' || hash FROM audit ORDER BY seq DESC LIMIT 1") &&
	grep -x "audit-seq ${head% *}" .ntflow/WORKSPACE &&
	grep -x "audit-hash ${head#* }" .ntflow/WORKSPACE &&
	cp .ntflow/state.db run1.db
'

test_expect_success 'ntflow doctor says ok on a sound workspace' '
	ntflow doctor >out 2>err &&
	test_must_be_empty err &&
	grep "^database  ok    PRAGMA integrity_check: ok$" out &&
	grep "^marker    ok    store " out &&
	grep "^audit     ok    " out &&
	grep "^registry  ok    1 version: every copy as recorded$" out &&
	grep "^cache     ok    " out &&
	test "$(tail -n 1 out)" = "no problems found"
'

test_expect_success 'an emptied state.db is an error for every command (exit 4), not a fresh start' '
	root=$(pwd -P) &&
	ntflow run p.dag -p acc=0.91 >out 2>err &&
	seq=$(sed -n "s/^audit-seq //p" .ntflow/WORKSPACE) &&
	cp .ntflow/state.db good.db &&
	rm -f .ntflow/state.db-wal .ntflow/state.db-shm &&
	: >.ntflow/state.db &&
	cat >expect <<-EOF &&
	ntflow: '\''$root/.ntflow/state.db'\'' is missing or empty, but this workspace has held runs (store $(sed -n "s/^store //p" .ntflow/WORKSPACE | cut -c1-8), last audit record $seq); restore it from a backup, or remove '\''$root/.ntflow/WORKSPACE'\'' to start afresh
	EOF
	for cmd in runs show "audit verify" "registry list" "cache ls" doctor "logs train"; do
		test_expect_code 4 ntflow $cmd >out 2>err &&
		test_must_be_empty out &&
		test_cmp expect err || return 1
	done &&
	test_expect_code 4 ntflow run p.dag >out 2>err &&
	test_cmp expect err &&
	test_must_be_empty .ntflow/state.db
'

test_expect_success 'a deleted state.db is an error too' '
	rm .ntflow/state.db &&
	test_expect_code 4 ntflow runs 2>err &&
	grep "state.db'\'' is missing or empty, but this workspace has held runs" err &&
	test_expect_code 4 ntflow run p.dag 2>err &&
	grep "state.db'\'' is missing or empty, but this workspace has held runs" err &&
	test_path_is_missing .ntflow/state.db
'

test_expect_success SQLITE3 'another workspace'\''s state.db is refused, naming both stores' '
	mkdir -p elsewhere &&
	ntflow runs --state elsewhere 2>/dev/null;
	cp p.dag elsewhere/ &&
	(cd elsewhere && git init -q . && ntflow run p.dag >/dev/null 2>&1) &&
	cp elsewhere/.ntflow/state.db .ntflow/state.db &&
	test_expect_code 4 ntflow runs 2>err &&
	grep "is not this workspace'\''s state database: it is store .*, but '\''.*/WORKSPACE'\'' names store " err &&
	test_expect_code 4 ntflow run p.dag 2>err &&
	grep "is not this workspace'\''s state database" err
'

test_expect_success 'the backup put back is accepted; removing WORKSPACE starts afresh' '
	cp good.db .ntflow/state.db &&
	ntflow runs >out &&
	test_line_count = 3 out &&
	mv .ntflow/state.db saved.db &&
	mv .ntflow/WORKSPACE saved.marker &&
	test_expect_code 0 ntflow runs 2>err &&
	grep "^ntflow: no runs yet in " err &&
	mv saved.db .ntflow/state.db &&
	mv saved.marker .ntflow/WORKSPACE
'

test_expect_success SQLITE3 'a garbled page stops the run before any promotion, recorded failed with SQLite'\''s message' '
	git clone -q . g && cd g &&
	ntflow run p.dag >out 2>err &&
	rm -rf deployed &&
	ntflow registry list --json >before.json &&
	garble_table attempts &&
	test_expect_code 4 ntflow run p.dag -p acc=0.97 >out 2>err &&
	grep "database disk image is malformed" err &&
	grep "^ntflow: run 2: stopped: '\''.*/state.db'\'' is damaged (database disk image is malformed)$" err &&
	test_path_is_missing deployed &&
	ntflow registry list --json >after.json &&
	test_cmp before.json after.json &&
	ntflow runs >runs &&
	grep -E "^ *2  p .* failed " runs &&
	! grep " running " runs
'

test_expect_success SQLITE3 'damage met by the registry'\''s own statements stops the run too' '
	git clone -q . g2 && cd g2 &&
	ntflow run p.dag >out 2>err &&
	rm -rf deployed &&
	garble_table model_versions &&
	# The run checks the registry against its audit chain before it begins (t9030), so the
	# damage stops it there: no run is recorded, nothing runs, nothing is deployed.
	test_expect_code 4 ntflow run p.dag -p acc=0.97 >out 2>err &&
	grep "the state database is damaged (database disk image is malformed)$" err &&
	test_path_is_missing deployed &&
	ntflow runs >runs &&
	! grep -E "^ *2  p " runs
'

test_expect_success 'ntflow doctor finds the damaged page (exit 4)' '
	cd g &&
	test_expect_code 4 ntflow doctor >out 2>err &&
	grep "^database  FAIL  PRAGMA integrity_check: " out &&
	grep "problems\{0,1\} found$" out
'

test_expect_success SQLITE3 'ntflow doctor: records lost since the marker saw them, an edited record (exit 1)' '
	cp run1.db .ntflow/state.db &&
	rm -f .ntflow/state.db-wal .ntflow/state.db-shm &&
	test_expect_code 1 ntflow doctor >out 2>err &&
	grep "^marker    FAIL  store .*: the audit chain ends at record [0-9]*, but the marker saw record [0-9]*: records are missing" out &&
	grep "^database  ok" out &&
	cp good.db .ntflow/state.db &&
	rm -f .ntflow/state.db-wal .ntflow/state.db-shm &&
	ntflow doctor >out &&
	sqlite3 .ntflow/state.db "UPDATE audit SET payload = replace(payload, '\''manual'\'', '\''schedule'\'') WHERE seq = 1" &&
	test_expect_code 1 ntflow doctor >out 2>err &&
	grep "^audit     FAIL  " out &&
	test "$(tail -n 1 out)" = "1 problem found"
'

test_expect_success 'ntflow doctor finds a corrupt cache object' '
	cp good.db .ntflow/state.db &&
	rm -f .ntflow/state.db-wal .ntflow/state.db-shm &&
	obj=$(find .ntflow/cache/objects -type f ! -path "*/tmp/*" | head -n 1) &&
	chmod u+w "$obj" &&
	echo garbage >"$obj" &&
	test_expect_code 1 ntflow doctor >out 2>err &&
	grep "^cache     FAIL  entry [0-9a-f]* (.*, run [0-9]*): an object it needs is missing or corrupt" out
'

test_expect_success 'doctor: usage and help' '
	test_expect_code 2 ntflow doctor extra 2>err &&
	grep "^ntflow doctor: unexpected argument '\''extra'\''$" err &&
	ntflow help doctor >out &&
	grep "^usage: ntflow doctor \[--state DIR\]$" out
'

test_done
