#!/bin/sh
# t4010-lock.sh: one writer per workspace. While a run holds the workspace lock a second
# `ntflow run` of the same pipeline (another seed) waits, naming the holder's run and pid,
# then runs, and both runs' outputs and cache entries are byte-identical to the same two
# runs one after the other in a clone; with --no-wait it exits 75 at once, and
# --wait-timeout gives up. Reading commands answer while a run holds the lock;
# registry promote/rollback/verify and cache gc/verify wait or refuse as a run does; an
# interrupted wait writes nothing (130); a SIGKILLed holder frees the lock for the next
# run; a stage cannot wait for its own run's lock; two clones never wait for each other;
# on a terminal the waiting message shows before the dashboard.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test -x /usr/bin/python3 || test_skip_all '/usr/bin/python3 is needed to compare cache entries'
command -v tmux >/dev/null 2>&1 && test_set_prereq TMUX

# gen writes its CSV in two steps with a pause between them that lasts until hold/go
# exists: a second run writing the same file meanwhile would mix the two seeds.
write_dag p.dag <<\EOF
pipeline "p" {
  params {
    seed = 1
  }
}

stage "gen" {
  run     = "mkdir -p data && echo seed,${params.seed} >data/in.csv && touch gen.started && while ! test -e hold/go; do sleep 0.05; done && echo row,${params.seed} >>data/in.csv"
  outputs = ["data/in.csv"]
}

stage "train" {
  needs   = ["gen"]
  run     = "mkdir -p build && cp data/in.csv build/model.txt && echo trained >>build/model.txt"
  outputs = ["build/model.txt"]
}
EOF

# h.dag holds the workspace until hold/h exists; q.dag is over at once.
write_dag h.dag <<\EOF
stage "h" {
  run   = "touch hold/h.started && while ! test -e hold/h; do sleep 0.05; done"
  cache = false
}
EOF
write_dag q.dag <<\EOF
stage "q" {
  run   = "true"
  cache = false
}
EOF

# hold_start: runs h.dag in the background until hold_end (or the end of the test); sets
# $holder (its pid) and $held (the run id it holds the lock as).
hold_start() {
	rm -f hold/h hold/h.started &&
	{ ntflow run h.dag --no-tui >hold.out 2>hold.err & } &&
	holder=$! &&
	test_when_finished "touch hold/h; wait" &&
	wait_for_file hold/h.started &&
	held=$(sed -n "s/^run //p" .ntflow/lock.holder) &&
	test -n "$held"
}
hold_end() { touch hold/h && wait "$holder"; }

# cache_entries: the workspace's cache entries without their times: node, key, run, commit,
# and each output's path and digest, sorted.
cache_entries() {
	ntflow cache ls --json | /usr/bin/python3 -c '
import json, sys
for e in sorted(json.load(sys.stdin), key=lambda e: (e["node"], e["key"])):
    outs = " ".join("%s=%s" % (o["path"], o["digest"]) for o in e["outputs"])
    print(e["node"], e["key"], e["run_id"], e["commit"], outs)
'
}

test_expect_success 'setup: the pipelines committed; a clone of them' '
	mkdir hold &&
	git add p.dag h.dag q.dag &&
	git commit -q -m pipelines &&
	git clone -q . clone &&
	mkdir clone/hold
'

test_expect_success 'a second run waits for the first, naming its run and pid, then runs' '
	root=$(pwd -P) &&
	{ ntflow run p.dag --no-tui -p seed=1 >run1.out 2>run1.err & } &&
	pid1=$! &&
	test_when_finished "touch hold/go; wait" &&
	wait_for_file gen.started &&
	{ ntflow run p.dag --no-tui -p seed=2 >run2.out 2>run2.err & } &&
	pid2=$! &&
	wait_until "grep -q \"^ntflow: waiting for run 1 (pid $pid1, started \" run2.err" &&
	grep "^run 1\$" .ntflow/lock.holder &&
	grep "^pid $pid1\$" .ntflow/lock.holder &&
	grep "^what ntflow run p.dag\$" .ntflow/lock.holder &&
	grep "^ntflow: waiting for run 1 (pid $pid1, started [-0-9]* [:0-9]*) to release the workspace lock in $root/.ntflow\$" run2.err &&
	test_line_count = 1 run2.err &&
	test_must_be_empty run2.out &&
	# the waiting run has written nothing: no run of its own yet
	ntflow runs >runs &&
	test_line_count = 2 runs &&
	grep "^ *1  *p .* running " runs &&
	touch hold/go &&
	wait $pid1 &&
	wait $pid2 &&
	grep "^run 1 succeeded" run1.out &&
	grep "^run 2 of p: 2 nodes" run2.out &&
	grep "^run 2 succeeded" run2.out &&
	test_must_be_empty run1.err &&
	test_path_is_missing .ntflow/lock.holder &&
	test_path_is_file .ntflow/lock
'

test_expect_success 'both runs wrote what the same two runs write one after the other' '
	(
		cd clone &&
		touch hold/go &&
		ntflow run p.dag --no-tui -p seed=1 >/dev/null &&
		ntflow run p.dag --no-tui -p seed=2 >/dev/null &&
		cache_entries >../entries.sequential
	) &&
	cache_entries >entries.concurrent &&
	test_line_count = 4 entries.concurrent &&
	test_cmp entries.sequential entries.concurrent &&
	diff -r clone/.ntflow/cache/objects .ntflow/cache/objects &&
	test_cmp clone/data/in.csv data/in.csv &&
	test_cmp clone/build/model.txt build/model.txt &&
	printf "seed,2\nrow,2\n" >expect &&
	test_cmp expect data/in.csv &&
	# each seed restores its own data, not the other one'\''s
	ntflow run p.dag --no-tui -p seed=1 >out &&
	grep "gen cached: reused run 1" out &&
	printf "seed,1\nrow,1\n" >expect &&
	test_cmp expect data/in.csv
'

test_expect_success 'with --no-wait a second run exits 75 at once, naming the holder' '
	root=$(pwd -P) &&
	hold_start &&
	test_expect_code 75 ntflow run q.dag --no-tui --no-wait >out 2>err &&
	test_must_be_empty out &&
	echo "ntflow: run $held (pid $holder, started DATE) holds the workspace lock in $root/.ntflow; not waiting for it" >expect &&
	sed "s/started [-0-9]* [:0-9]*)/started DATE)/" err >actual &&
	test_cmp expect actual &&
	test_expect_code 75 ntflow run q.dag --no-tui --wait-timeout 200ms >out 2>err &&
	test_must_be_empty out &&
	grep "^ntflow: waiting for run $held (pid $holder, " err &&
	grep "^ntflow: run $held (pid $holder, .*; gave up after waiting 200ms\$" err &&
	ntflow runs >runs &&
	test "$(grep -c . runs)" = $((held + 1)) &&
	hold_end
'

test_expect_success 'reading commands answer while a run holds the lock' '
	hold_start &&
	ntflow runs >out &&
	grep "^ *$held  *h.dag .* running " out &&
	ntflow runs --json >/dev/null &&
	ntflow show >out &&
	ntflow show $held --json >/dev/null &&
	ntflow logs h >/dev/null &&
	ntflow why 1 gen >/dev/null &&
	test_expect_code 0 ntflow metrics 2>err &&
	grep "no metrics recorded yet" err &&
	ntflow alerts >/dev/null &&
	ntflow audit verify >/dev/null &&
	ntflow registry list >/dev/null &&
	ntflow cache ls >/dev/null &&
	ntflow dash --screen screen --max-frames 2 &&
	grep "run $held" screen &&
	hold_end
'

test_expect_success 'promote, rollback, registry verify, cache gc and cache verify wait or refuse' '
	hold_start &&
	for cmd in "registry promote m 1" "registry rollback m" "registry verify" "cache gc" "cache verify"; do
		test_expect_code 75 ntflow $cmd --no-wait >out 2>err &&
		test_must_be_empty out &&
		grep "^ntflow: run $held (pid $holder, .*) holds the workspace lock in " err || return 1
	done &&
	test_expect_code 75 ntflow registry rollback m --wait-timeout 100ms 2>err &&
	grep "gave up after waiting 100ms" err &&
	{ ntflow cache gc >gc.out 2>gc.err & } &&
	gc=$! &&
	wait_until "grep -q \"^ntflow: waiting for run $held (pid $holder, \" gc.err" &&
	test_must_be_empty gc.out &&
	hold_end &&
	wait $gc &&
	grep "^dropped 0 of 4 cache entries" gc.out &&
	# the lock is free: they go through (the model does not exist)
	test_expect_code 1 ntflow registry promote m 1 --no-wait 2>err &&
	! grep "workspace lock" err
'

test_expect_success 'SIGINT or SIGTERM while waiting: exit 130, nothing written' '
	hold_start &&
	ntflow runs | awk "{ print \$1, \$2, \$6 }" >before &&
	{ ntflow run q.dag --no-tui >w.out 2>w.err & } &&
	waiter=$! &&
	wait_until "grep -q \"^ntflow: waiting for run $held \" w.err" &&
	kill -INT $waiter &&
	test_expect_code 130 wait $waiter &&
	grep "^ntflow: interrupted while waiting for the workspace lock in " w.err &&
	test_must_be_empty w.out &&
	# Files of its own: the first waiter message must not be taken for this one.
	{ ntflow cache gc >w2.out 2>w2.err & } &&
	waiter=$! &&
	wait_until "grep -q \"^ntflow: waiting for run $held \" w2.err" &&
	kill -TERM $waiter &&
	test_expect_code 130 wait $waiter &&
	test_must_be_empty w2.out &&
	ntflow runs | awk "{ print \$1, \$2, \$6 }" >after &&
	test_cmp before after &&
	hold_end
'

test_expect_success 'a SIGKILLed holder frees the lock: the next run goes at once' '
	hold_start &&
	group=$(ps -o pgid= -p $(pgrep -P $holder) | tr -d " ") &&
	kill -KILL $holder &&
	{ wait $holder || :; } &&
	ntflow run q.dag --no-tui --no-wait >out 2>err &&
	grep "run $held had crashed" err &&
	test "$(procs_in_group $group)" = 0 &&
	grep "succeeded" out &&
	ntflow runs >runs &&
	grep "^ *$held  *h.dag .* crashed " runs
'

test_expect_success 'a stage cannot wait for the lock its own run holds: it fails at once' '
	write_dag nest.dag <<-\EOF &&
	stage "nest" {
	  run   = "ntflow run q.dag --no-tui"
	  cache = false
	}
	stage "apart" {
	  run   = "ntflow run q.dag --no-tui --state apart.state"
	  cache = false
	}
	EOF
	test_expect_code 1 ntflow run nest.dag --no-tui --keep-going >out 2>err &&
	grep "nest failed .*: exit 75" out &&
	grep "apart succeeded" out &&
	id=$(ntflow runs --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"id\"])") &&
	grep "^ntflow: run $id (pid [0-9]*, started .*) holds the workspace lock in .*, and this process runs inside it" .ntflow/logs/$id/nest.1.log
'

test_expect_success 'two clones (and two state directories) never wait for each other' '
	hold_start &&
	(
		cd clone &&
		ntflow run q.dag --no-tui --no-wait >out 2>err &&
		test_must_be_empty err &&
		grep "succeeded" out &&
		test_path_is_file .ntflow/lock
	) &&
	ntflow run q.dag --no-tui --no-wait --state other.state >out &&
	grep "succeeded" out &&
	NTFLOW_STATE=other.state ntflow cache gc --no-wait >out &&
	hold_end
'

test_expect_success 'option errors exit 2' '
	test_expect_code 2 ntflow run q.dag --wait-timeout soon 2>err &&
	grep "^ntflow run: --wait-timeout '\''soon'\'': expected a duration" err &&
	test_expect_code 2 ntflow run q.dag --wait-timeout 0s 2>err &&
	test_expect_code 2 ntflow registry list --no-wait 2>err &&
	grep "are for promote, rollback and verify" err &&
	test_expect_code 2 ntflow cache ls --no-wait 2>err &&
	grep "go with .cache gc. and .cache verify." err &&
	ntflow run q.dag --no-tui --no-wait --wait >/dev/null
'

test_expect_success TMUX 'on a terminal the waiting message shows before the dashboard' '
	. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh" &&
	hold_start &&
	tui_start 100 30 &&
	tui_type "ntflow run q.dag" &&
	tui_wait "^ntflow: waiting for run $held (pid $holder, " &&
	! tui_screen | grep "| run " &&
	hold_end &&
	tui_wait "finished - q to exit" &&
	tui_keys q &&
	tui_wait "^tui\\$ *\$"
'

test_done
