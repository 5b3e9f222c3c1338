#!/bin/sh
# t4000-store.sh: the state database seen from the commands that read it (runs, show,
# logs): where the workspace is, "no runs yet", damaged or newer databases refused with a
# clear message, usage errors.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

test_expect_success 'runs, show and logs say there are no runs yet (exit 1)' '
	root=$(pwd -P) &&
	echo "ntflow: no runs yet in $root/.ntflow" >expect &&
	test_expect_code 1 ntflow runs >out 2>err &&
	test_must_be_empty out &&
	test_cmp expect err &&
	test_expect_code 1 ntflow runs --json 2>err &&
	test_cmp expect err &&
	test_expect_code 1 ntflow show 2>err &&
	test_cmp expect err &&
	test_expect_code 1 ntflow logs a 2>err &&
	test_cmp expect err &&
	test_path_is_missing .ntflow
'

test_expect_success 'the workspace is at the root of the repository, from a subdirectory' '
	root=$(pwd -P) &&
	mkdir -p deep/er &&
	echo "ntflow: no runs yet in $root/.ntflow" >expect &&
	(cd deep/er && test_expect_code 1 ntflow runs 2>../../err) &&
	test_cmp expect err
'

test_expect_success 'outside any git repository it is ./.ntflow' '
	mkdir -p "$TRASH_DIRECTORY/../t4000-nogit.$$" &&
	test_when_finished "rm -rf \"$TRASH_DIRECTORY/../t4000-nogit.$$\"" &&
	(
		cd "$TRASH_DIRECTORY/../t4000-nogit.$$" &&
		here=$(pwd -P) &&
		# The build tree itself may sit in a git checkout: then its root is the answer.
		top=$(git rev-parse --show-toplevel 2>/dev/null || echo "$here") &&
		echo "ntflow: no runs yet in $top/.ntflow" >expect &&
		test_expect_code 1 ntflow runs 2>err &&
		test_cmp expect err
	)
'

test_expect_success '--state DIR and NTFLOW_STATE choose the state directory' '
	echo "ntflow: no runs yet in elsewhere" >expect &&
	test_expect_code 1 ntflow runs --state elsewhere 2>err &&
	test_cmp expect err &&
	test_expect_code 1 ntflow show --state=elsewhere 2>err &&
	test_cmp expect err &&
	test_expect_code 1 ntflow logs a --state elsewhere 2>err &&
	test_cmp expect err &&
	echo "ntflow: no runs yet in /nonexistent/st" >expect &&
	NTFLOW_STATE=/nonexistent/st test_expect_code 1 ntflow runs 2>err &&
	test_cmp expect err &&
	echo "ntflow: no runs yet in given" >expect &&
	NTFLOW_STATE=/nonexistent/st test_expect_code 1 ntflow runs --state given 2>err &&
	test_cmp expect err &&
	test_path_is_missing elsewhere &&
	test_path_is_missing given
'

test_expect_success 'a state.db that is not a database is refused, naming it' '
	root=$(pwd -P) &&
	mkdir -p bad &&
	for i in 1 2 3 4 5 6 7 8; do
		echo "this is not a database but a text file, line $i" || return 1
	done >bad/state.db &&
	cp bad/state.db bad/before &&
	echo "ntflow: '\''bad/state.db'\'' is not an ntflow state database (file is not a database)" >expect &&
	for cmd in runs show "logs a"; do
		test_expect_code 1 ntflow $cmd --state bad >out 2>err &&
		test_must_be_empty out &&
		test_cmp expect err || return 1
	done &&
	test_cmp bad/before bad/state.db
'

test_expect_success 'a truncated database file is refused too, not a crash' '
	mkdir -p trunc &&
	head -c 100 /dev/urandom >trunc/state.db &&
	test_expect_code 1 ntflow runs --state trunc 2>err &&
	grep "^ntflow: '\''trunc/state.db'\''" err
'

test_expect_success SQLITE3 'a database of a newer ntflow is refused' '
	mkdir -p newer &&
	sqlite3 newer/state.db "PRAGMA user_version = 999" &&
	test_expect_code 1 ntflow runs --state newer 2>err &&
	grep "^ntflow: '\''newer/state.db'\'' has schema version 999; this ntflow knows up to [0-9][0-9]*$" err &&
	test "$(sqlite3 newer/state.db "PRAGMA user_version")" = 999
'

test_expect_success SQLITE3 'an empty database is migrated and has no runs' '
	mkdir -p empty &&
	: >empty/state.db &&
	echo "ntflow: no runs yet in empty" >expect &&
	test_expect_code 1 ntflow runs --state empty 2>err &&
	test_cmp expect err &&
	test "$(sqlite3 empty/state.db "PRAGMA journal_mode")" = wal &&
	sqlite3 empty/state.db "SELECT name FROM sqlite_master WHERE type = '\''table'\'' ORDER BY name" >tables &&
	grep -x runs tables && grep -x nodes tables && grep -x attempts tables && grep -x metrics tables
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 ntflow runs --limit 0 2>err &&
	grep "^ntflow runs: --limit needs a positive number, not '\''0'\''" err &&
	test_expect_code 2 ntflow runs --limit x 2>err &&
	test_expect_code 2 ntflow runs extra 2>err &&
	grep "^ntflow runs: unexpected argument '\''extra'\''" err &&
	test_expect_code 2 ntflow runs --bogus 2>err &&
	test_expect_code 2 ntflow show 1 2 2>err &&
	test_expect_code 2 ntflow logs 2>err &&
	grep "^ntflow logs: which stage?" err &&
	test_expect_code 2 ntflow logs 1 a b 2>err &&
	test_expect_code 2 ntflow logs a --attempt 0 2>err &&
	grep "^ntflow logs: --attempt needs a positive number" err
'

test_expect_success SQLITE3 'a RUN that is not a number is a usage error; an unknown one is not found' '
	mkdir -p one &&
	: >one/state.db &&
	ntflow runs --state one 2>/dev/null;
	sqlite3 one/state.db "INSERT INTO runs (pipeline, started_ms, finished_ms, status) VALUES ('\''p'\'', 1000, 2000, '\''succeeded'\'')" &&
	test_expect_code 2 ntflow show abc --state one 2>err &&
	echo "ntflow show: '\''abc'\'' is not a run id" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow show 42 --state one 2>err &&
	echo "ntflow: no run 42 in one" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow logs 42 a --state one 2>err &&
	test_cmp expect err &&
	test_expect_code 1 ntflow logs a --state one 2>err &&
	echo "ntflow: run 1 has no stage '\''a'\''" >expect &&
	test_cmp expect err
'

test_expect_success 'help of each command' '
	ntflow runs --help >out && grep "^usage: ntflow runs" out &&
	ntflow show --help >out && grep "^usage: ntflow show" out &&
	ntflow logs --help >out && grep "^usage: ntflow logs" out
'

test_done
