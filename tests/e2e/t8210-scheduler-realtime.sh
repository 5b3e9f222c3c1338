#!/bin/sh
# t8210-scheduler-realtime.sh: the scheduler on the real clock: a "* * * * *" pipeline
# fires once at the next minute boundary, its stage starting within 2 seconds of it (the
# timer is set for the fire time, not polled); then SIGTERM stops the daemon, exit 0. An
# interval waiting on a run started by hand starts soon after that run is killed, which no
# event tells the scheduler (it looks each minute; here, NTFLOW_TEST_RECHECK_S, each 2 s).
# Takes up to two minutes: it waits for the boundaries.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_expect_success 'setup' '
	cat >rt.dag <<-\EOF &&
	pipeline "rt" {
	  schedule = "* * * * *"
	}

	stage "a" {
	  run   = "echo $(date +%s.%N) ${run.interval_end} >> fired.txt"
	  cache = false
	}
	EOF
	printf "fired.txt\nrt.log\n" >.gitignore &&
	git add . && git commit -q -m rt
'

test_expect_success 'a minutely pipeline fires within 2 seconds of the minute boundary' '
	ntflow scheduler rt.dag --log rt.log &
	pid=$! &&
	test_when_finished "kill -KILL $pid 2>/dev/null || :" &&
	wait_until "grep -q \"scheduler: started (pid $pid, system clock)\" rt.log" &&
	wait_until "grep -q \": run 1 ended (exit 0)\" rt.log" 750 &&
	kill -TERM $pid &&
	wait $pid &&
	grep "rt: fired " rt.log &&
	grep "scheduler: stopped" rt.log &&
	head -n 1 fired.txt >first &&
	read started end <first &&
	boundary=$(date -u -d "$end" +%s) &&
	awk -v s="$started" -v b="$boundary" "BEGIN { d = s - b; print \"started\", d, \"s after the boundary\"; exit !(d >= 0 && d < 2) }"
'

# A run started by hand holds max_active_runs and is killed with its group (SIGKILL, an OOM
# kill, a session that ended): its end
# makes no event the scheduler hears (its lock.holder stays; a lock let go tells inotify
# nothing), and on the real clock the waiting interval waited for ever.
test_expect_success 'a waiting interval starts once the manual run it waits on is killed' '
	test_need_hooks &&
	cat >kw.dag <<-\EOF &&
	pipeline "kw" {
	  schedule = "* * * * *"
	}

	stage "hold" {
	  run   = "if [ ${run.trigger} = manual ]; then touch manual.started; while ! [ -e release ]; do sleep 0.05; done; fi; echo ${run.trigger} >>kw.runs"
	  cache = false
	}
	EOF
	printf "kw.runs\nkw.log\nmanual.*\nrelease\n" >>.gitignore &&
	git add . && git commit -q -m kw &&
	# its output not in the pipeline'"'"'s folder: written there as it dies, it would wake the
	# scheduler, which watches that folder for edits
	setsid ntflow run kw.dag --no-tui >/dev/null 2>&1 </dev/null &
	echo $! >manual.pid &&
	wait_for_file manual.started &&
	NTFLOW_TEST_RECHECK_S=2 ntflow-test scheduler kw.dag --log kw.log &
	pid=$! &&
	test_when_finished "kill -KILL $pid -$(cat manual.pid) 2>/dev/null || :" &&
	wait_until "grep -q \"kw: interval .* waits: max_active_runs 1 reached: 1 going (run [0-9]*)\" kw.log" 750 &&
	sleep 1 &&
	kill -KILL -"$(cat manual.pid)" &&
	{ wait "$(cat manual.pid)" 2>/dev/null; true; } &&
	wait_until "grep -q \": run [0-9]* ended (exit 0)\" kw.log" 150 &&
	kill -TERM $pid &&
	wait $pid &&
	cat kw.log &&
	grep -x schedule kw.runs
'

test_done
