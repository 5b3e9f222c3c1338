#!/bin/sh
# t8210-scheduler-realtime.sh: the scheduler on the real clock: a "* * * * *" pipeline
# fires once at the next minute boundary, its stage starting within 2 seconds of it (the
# timer is set for the fire time, not polled); then SIGTERM stops the daemon, exit 0.
# Takes up to a minute: it waits for the boundary.
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

test_done
