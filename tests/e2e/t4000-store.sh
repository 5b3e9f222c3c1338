#!/bin/sh
# t4000-store.sh: the state database seen from the commands that read it (runs, show,
# logs): where the workspace is, "no runs yet", damaged or newer databases refused with a
# clear message, usage errors; then, after real runs: the runs table and JSON, show's record
# of every node (attempts, exit codes, signals, metrics, logs), logs of a stage, an instance
# or an attempt, logs -f following a live stage across a retry, and a crashed run.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

test_expect_success 'runs lists nothing (exit 0, [] with --json); show and logs say there are no runs yet (exit 1)' '
	root=$(pwd -P) &&
	echo "ntflow: no runs yet in $root/.ntflow" >expect &&
	test_expect_code 0 ntflow runs >out 2>err &&
	test_must_be_empty out &&
	test_cmp expect err &&
	test_expect_code 0 ntflow runs --json >out 2>err &&
	echo "[]" >expect.json && test_cmp expect.json out &&
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
	(cd deep/er && test_expect_code 0 ntflow runs 2>../../err) &&
	test_cmp expect err
'

test_expect_success 'outside any git repository it is ./.ntflow' '
	mkdir -p "$TRASH_DIRECTORY/../t4000-nogit.$$" &&
	test_when_finished "rm -rf \"$TRASH_DIRECTORY/../t4000-nogit.$$\"" &&
	(
		cd "$TRASH_DIRECTORY/../t4000-nogit.$$" &&
		here=$(pwd -P) &&
		# The build tree itself may sit in a git checkout: then its root is the answer.
		top=$(env -u GIT_CEILING_DIRECTORIES git rev-parse --show-toplevel 2>/dev/null || echo "$here") &&
		echo "ntflow: no runs yet in $top/.ntflow" >expect &&
		test_expect_code 0 ntflow runs 2>err &&
		test_cmp expect err
	)
'

test_expect_success '--state DIR and NTFLOW_STATE choose the state directory' '
	echo "ntflow: no runs yet in elsewhere" >expect &&
	test_expect_code 0 ntflow runs --state elsewhere 2>err &&
	test_cmp expect err &&
	test_expect_code 1 ntflow show --state=elsewhere 2>err &&
	test_cmp expect err &&
	test_expect_code 1 ntflow logs a --state elsewhere 2>err &&
	test_cmp expect err &&
	echo "ntflow: no runs yet in /nonexistent/st" >expect &&
	NTFLOW_STATE=/nonexistent/st test_expect_code 0 ntflow runs 2>err &&
	test_cmp expect err &&
	echo "ntflow: no runs yet in given" >expect &&
	NTFLOW_STATE=/nonexistent/st test_expect_code 0 ntflow runs --state given 2>err &&
	test_cmp expect err &&
	test_path_is_missing elsewhere &&
	test_path_is_missing given
'

test_expect_success 'a state.db that is not a database is refused, naming it (exit 4)' '
	root=$(pwd -P) &&
	mkdir -p bad &&
	for i in 1 2 3 4 5 6 7 8; do
		echo "this is not a database but a text file, line $i" || return 1
	done >bad/state.db &&
	cp bad/state.db bad/before &&
	echo "ntflow: '\''bad/state.db'\'' is not an ntflow state database (file is not a database)" >expect &&
	for cmd in runs show "logs a"; do
		test_expect_code 4 ntflow $cmd --state bad >out 2>err &&
		test_must_be_empty out &&
		test_cmp expect err || return 1
	done &&
	test_cmp bad/before bad/state.db
'

test_expect_success 'a truncated database file is refused too, not a crash' '
	mkdir -p trunc &&
	head -c 100 /dev/urandom >trunc/state.db &&
	test_expect_code 4 ntflow runs --state trunc 2>err &&
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
	test_expect_code 0 ntflow runs --state empty 2>err &&
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

# ---- with real runs ----

cat >p.dag <<\EOF
pipeline "p" {
  params {
    seed = 7
  }
}

stage "a" {
  run = "echo hello from a; echo to stderr >&2"
}

stage "flaky" {
  needs   = ["a"]
  retries = 2
  backoff = "10ms"
  run     = "n=$(cat flaky.n 2>/dev/null || echo 0); n=$((n + 1)); echo $n >flaky.n; echo attempt $n; test $n -ge 2"
}

stage "tune" {
  needs = ["a"]
  matrix {
    lr = [1, 2]
  }
  run     = "echo lr ${matrix.lr}; echo '{\"score\": '${matrix.lr}'}' >\"$NTFLOW_METRICS_FILE\""
  metrics = "m-${matrix.id}.json"
}
EOF

cat >bad.dag <<\EOF
pipeline "bad" {}

stage "three" {
  run = "exit 3"
}

stage "term" {
  run = "kill -TERM $$"
}
EOF

cat >follow.dag <<\EOF
pipeline "follow" {}

stage "first" {
  run = "while ! test -f go; do sleep 0.05; done"
}

stage "slow" {
  needs   = ["first"]
  retries = 1
  backoff = "10ms"
  run     = "if test -f slow.once; then echo second one; sleep 0.3; echo second two; else touch slow.once; echo first one; sleep 0.3; echo first two; exit 1; fi"
}
EOF

cat >crash.dag <<\EOF
pipeline "crash" {}

stage "hang" {
  run = "echo $$ >hang.pgid; sleep 405.5 & touch hang.ready; sleep 405.5"
}
EOF

test_expect_success 'setup: run a pipeline with a retry, a matrix and metrics' '
	rm -rf .ntflow &&
	ntflow run p.dag --no-tui >out 2>err &&
	cat out err
'

test_expect_success 'runs: one line per run under a header' '
	ntflow runs >runs &&
	cat runs &&
	test_line_count = 2 runs &&
	head -n 1 runs | grep -E "^ID  PIPELINE  TRIGGER  DATE +COMMIT +STATUS +STARTED +DURATION$" &&
	tail -n 1 runs | grep -E "^ 1  p +manual  +[0-9]{4}-[0-9]{2}-[0-9]{2}  +([0-9a-f]{7}(\+dirty)?|-) +succeeded  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  [0-9.]+m?s$"
'

test_expect_success 'runs --json' '
	ntflow runs --json >runs.json &&
	test "$(json_get runs.json "[0].id")" = 1 &&
	test "$(json_get runs.json "[0].pipeline")" = p &&
	test "$(json_get runs.json "[0].file")" = p.dag &&
	test "$(json_get runs.json "[0].status")" = succeeded &&
	test "$(json_get runs.json "[0].trigger")" = manual &&
	test "$(json_get runs.json "[0].nodes")" = 4 &&
	test "$(json_get runs.json "[0].done")" = 4 &&
	json_get runs.json "[0].started" | grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$" &&
	json_get runs.json "[0].duration_ms" | grep -E "^[0-9]+$"
'

test_expect_success 'show --json: the run and every node' '
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.id)" = 1 &&
	test "$(json_get show.json .run.pipeline)" = p &&
	test "$(json_get show.json .run.status)" = succeeded &&
	test "$(json_get show.json .run.params.seed)" = 7 &&
	json_get show.json .run.dirty | grep -E "^(true|false)$" &&
	json_get show.json .run.finished | grep -E "Z$" &&
	test "$(json_get show.json ".stages[0].name")" = a &&
	test "$(json_get show.json ".stages[0].kind")" = stage &&
	test "$(json_get show.json ".stages[0].instance")" = null &&
	test "$(json_get show.json ".stages[0].exit_code")" = 0 &&
	test "$(json_get show.json ".stages[0].signal")" = null &&
	test "$(json_get show.json ".stages[0].reason")" = null &&
	json_get show.json ".stages[0].wall_ms" | grep -E "^[0-9]+$" &&
	json_get show.json ".stages[0].cpu_ms" | grep -E "^[0-9]+$" &&
	json_get show.json ".stages[0].max_rss_kb" | grep -E "^[1-9][0-9]*$" &&
	test_path_is_file "$(json_get show.json ".stages[0].log")" &&
	test "$(stage_field show.json flaky state)" = succeeded &&
	test "$(stage_field show.json flaky attempts)" = 2 &&
	test "$(stage_field show.json "tune[lr=2]" stage)" = tune &&
	test "$(stage_field show.json "tune[lr=2]" metrics)" = "{\"score\": 2}" &&
	test "$(stage_field show.json "tune[lr=1]" metrics)" = "{\"score\": 1}" &&
	test "$(stage_field show.json a metrics)" = "{}"
'

test_expect_success 'show: the header, a table of nodes and the metrics' '
	ntflow show 1 >show.txt &&
	cat show.txt &&
	grep -x "run       1" show.txt &&
	grep -x "pipeline  p (p.dag)" show.txt &&
	grep -x "status    succeeded" show.txt &&
	grep -x "params    seed=7" show.txt &&
	grep -E "^STAGE +STATE +ATTEMPTS +EXIT +WALL +CPU +MAXRSS +LOG +CACHE$" show.txt &&
	grep -E "^flaky +succeeded +2 +0 +[0-9.]+m?s +[0-9.]+m?s +[0-9.]+[KMG] +\.ntflow/logs/1/flaky\.2\.log +not cached: no declared outputs$" show.txt &&
	grep -E "^  tune\[lr=2\]  score  2$" show.txt
'

test_expect_success 'logs: a stage, an attempt, an instance' '
	printf "hello from a\nto stderr\n" >expect &&
	ntflow logs a >actual &&
	test_cmp expect actual &&
	ntflow logs 1 a >actual &&
	test_cmp expect actual &&
	echo "attempt 2" >expect &&
	ntflow logs flaky >actual &&
	test_cmp expect actual &&
	echo "attempt 1" >expect &&
	ntflow logs flaky --attempt 1 >actual &&
	test_cmp expect actual &&
	echo "lr 2" >expect &&
	ntflow logs "tune[lr=2]" >actual &&
	test_cmp expect actual
'

test_expect_success 'logs: a matrix stage needs its instance; a typo gets a suggestion' '
	test_expect_code 1 ntflow logs tune >out 2>err &&
	test_must_be_empty out &&
	echo "ntflow: stage '\''tune'\'' has 2 instances; name one of: tune[lr=1], tune[lr=2]" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow logs flakey 2>err &&
	echo "ntflow: run 1 has no stage '\''flakey'\''; did you mean '\''flaky'\''?" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow logs flaky --attempt 3 2>err &&
	echo "ntflow: flaky in run 1 has no attempt 3" >expect &&
	test_cmp expect err
'

test_expect_success 'a failed run: exit codes and signals recorded, newest run listed first' '
	test_expect_code 1 ntflow run bad.dag --no-tui -j 2 >out 2>err &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.id)" = 2 &&
	test "$(json_get show.json .run.status)" = failed &&
	test "$(stage_field show.json three state)" = failed &&
	test "$(stage_field show.json three exit_code)" = 3 &&
	test "$(stage_field show.json three reason)" = "exit 3" &&
	test "$(stage_field show.json term exit_code)" = null &&
	test "$(stage_field show.json term signal)" = SIGTERM &&
	ntflow show >show.txt &&
	grep -E "^term +failed +1 +SIGTERM " show.txt &&
	ntflow runs --limit 1 >runs &&
	test_line_count = 2 runs &&
	tail -n 1 runs | grep -E "^ 2  bad .* failed  " &&
	ntflow runs >runs &&
	test_line_count = 3 runs &&
	ntflow show 1 --json >show1.json &&
	test "$(json_get show1.json .run.status)" = succeeded
'

test_expect_success 'logs -f follows a stage from before it starts, across its retry, to its end' '
	rm -f go slow.once &&
	ntflow run follow.dag --no-tui >run.out 2>run.err &
	echo $! >run.pid &&
	test_when_finished "kill \$(cat run.pid) 2>/dev/null; true" &&
	wait_until "ntflow show --json >s.json && test \"\$(json_get s.json .run.pipeline)\" = follow" &&
	ntflow logs -f slow >followed 2>follow.err &
	echo $! >follow.pid &&
	# logs -f is waiting for the stage once it has the state database open
	wait_until "ls -l /proc/\$(cat follow.pid)/fd 2>/dev/null | grep -q state.db" &&
	touch go &&
	wait $(cat follow.pid) &&
	{ wait $(cat run.pid); true; } &&
	printf "first one\nfirst two\nsecond one\nsecond two\n" >expect &&
	test_cmp expect followed &&
	grep "^ntflow: attempt 2 of slow$" follow.err &&
	ntflow logs -f slow >again &&
	printf "second one\nsecond two\n" >expect &&
	test_cmp expect again
'

test_expect_success 'a run left running by a killed ntflow is crashed, its stages kept, its group killed' '
	rm -f hang.* &&
	ntflow run crash.dag --no-tui >run.out 2>run.err &
	echo $! >run.pid &&
	wait_for_file hang.ready &&
	test_when_finished "kill -9 -\$(cat hang.pgid) 2>/dev/null; true" &&
	wait_until "ntflow show --json >s.json && test \"\$(stage_field s.json hang state)\" = running" &&
	kill -9 $(cat run.pid) &&
	{ wait $(cat run.pid); true; } &&
	ntflow runs >runs 2>err &&
	cat runs err &&
	id=$(json_get s.json .run.id) &&
	grep -x "ntflow: run $id had crashed: its ntflow process is gone" err &&
	grep -x "ntflow: run $id had crashed: killed leftover process group $(cat hang.pgid)" err &&
	grep -E "^ *$id  crash .* crashed  .*  -$" runs &&
	wait_until "test \$(procs_in_group $(cat hang.pgid)) = 0" 30 &&
	ntflow show $id --json >s.json 2>err &&
	test_must_be_empty err &&
	test "$(json_get s.json .run.status)" = crashed &&
	test "$(stage_field s.json hang state)" = running
'

# killed_on_other_host: a run of crash.dag killed -9 while its stage runs, its row then
# rewritten as begun on host old-container; its id in $id.
killed_on_other_host() {
	rm -f hang.* &&
	ntflow run crash.dag --no-tui >run.out 2>run.err &
	echo $! >run.pid &&
	wait_for_file hang.ready &&
	test_when_finished "kill -9 -\$(cat hang.pgid) 2>/dev/null; true" &&
	wait_until "ntflow show --json >s.json && test \"\$(json_get s.json .run.status)\" = running &&
		test \"\$(stage_field s.json hang state)\" = running" &&
	id=$(json_get s.json .run.id) &&
	kill -9 $(cat run.pid) &&
	{ wait $(cat run.pid); true; } &&
	sqlite3 .ntflow/state.db "UPDATE runs SET host = 'old-container' WHERE id = $id"
}

# A container re-created under another name (its host name the container's id) finds the
# run its old self was killed in recorded on another host: that pid says nothing here, but
# no run holds the workspace's lock, so the run is over. It stayed "running" for ever, and
# a scheduler with max_active_runs = 1 never started another.
test_expect_success SQLITE3 'a run another host left running is crashed once no run holds the lock; its group is not this host'"'"'s to kill' '
	killed_on_other_host &&
	ntflow runs >runs 2>err &&
	cat runs err &&
	grep -x "ntflow: run $id had crashed: it ran on host old-container, and no run holds the workspace'"'"'s lock any more" err &&
	! grep "killed leftover" err &&
	grep -E "^ *$id  crash .* crashed  .*  -$" runs
'

# The next run crashes it itself: it holds the workspace's lock when it opens the store, and
# took its own lock for another run's, so the row stayed "running" for as long as runs
# followed runs (only another command, or a restarted scheduler, recovered it).
test_expect_success SQLITE3 'the next run crashes a run another host left running, holding the lock itself' '
	cat >quick.dag <<-\EOF &&
	pipeline "quick" {}
	stage "one" {
	  run     = "echo one > one.out"
	  outputs = ["one.out"]
	}
	EOF
	killed_on_other_host &&
	ntflow run quick.dag --no-tui >quick.out 2>err &&
	cat err &&
	grep -x "ntflow: warning: run $id had crashed: it ran on host old-container, and no run holds the workspace'"'"'s lock any more" err &&
	test "$(sqlite3 .ntflow/state.db "SELECT status FROM runs WHERE id = $id")" = crashed
'

test_done
