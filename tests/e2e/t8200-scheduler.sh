#!/bin/sh
# t8200-scheduler.sh: `ntflow scheduler` under the test clock (NTFLOW_TEST_NOW, a file the
# test sets): a weekly pipeline over 5 simulated weeks fires 5 runs for the right
# intervals; a 3-week outage gives 1 run with catchup = false and 3 in order with true; a
# due run waits while another run of the pipeline holds the workspace, a second scheduler
# is refused and a killed one's lock is taken over; start_deadline records a late interval
# missed, and one whose run waited for the workspace lock past it; a restart, clean or after SIGKILL, neither loses nor repeats a run; a high alert
# triggers exactly one run and the cooldown suppresses the next; a DAG file edited while
# the daemon runs is reloaded, and a broken edit keeps the last good version; a file removed
# is unscheduled after a minute; a run that died with the machine (a reboot) is started
# again once; --status.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_need_hooks

set_now() { printf '%s\n' "$1" >now.tmp && mv now.tmp now; }

# start_daemon STATE [ARGS]: a scheduler on STATE's workspace, logging to STATE.log; waits
# until it has started (the Nth "started" line of the log).
start_daemon() {
	sd_state=$1
	shift
	sd_n=$(grep -c "scheduler: started" "$sd_state.log" 2>/dev/null || true)
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --state "$sd_state" --log "$sd_state.log" "$@" &
	echo $! >"$sd_state.pid"
	test_when_finished "kill -KILL $! 2>/dev/null || :"
	wait_until "test \$(grep -c 'scheduler: started' $sd_state.log 2>/dev/null || echo 0) -gt ${sd_n:-0}"
}
stop_daemon() {  # stop_daemon STATE: SIGTERM, and its exit status must be 0
	kill -TERM "$(cat "$1.pid")" &&
	wait "$(cat "$1.pid")"
}
kill_daemon() {  # SIGKILL, as a crash or an OOM kill would
	kill -KILL "$(cat "$1.pid")"
	wait "$(cat "$1.pid")" 2>/dev/null
	return 0
}
# alive PID: the process exists and is not a zombie (an orphan's, where init does not reap).
alive() {
	s_=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $s_ in Z*) return 1 ;; esac
}
# ended STATE N: N runs the daemon started have ended
ended() { test "$(grep -c ': run [0-9]* ended' "$1.log" 2>/dev/null || echo 0)" -ge "$2"; }
sched_runs() { ntflow runs --state "$1" | awk -v t="$2" '$3 == t' | wc -l; }

# weekly FILE NAME [ATTRS...]: Mondays 00:00 UTC; its stage appends the run's interval to
# NAME.dates (the logical date, the interval's end).
weekly() {
	f=$1 n=$2
	shift 2
	{
		printf 'pipeline "%s" {\n  schedule = "0 0 * * MON"\n' "$n"
		for a in "$@"; do printf '  %s\n' "$a"; done
		printf '}\n\nstage "a" {\n'
		printf '  run   = "echo ${run.date} ${run.interval_end} ${run.trigger} >> %s.dates"\n' "$n"
		printf '  cache = false\n}\n'
	} >"$f"
}

# holding FILE NAME: appends to FILE a stage "hold" after "a" that touches NAME.started and
# waits for ./release: a run that goes on until the test lets it end.
holding() {
	cat >>"$1" <<-EOF

	stage "hold" {
	  needs = ["a"]
	  run   = "touch $2.started; while ! [ -e release ]; do sleep 0.05; done"
	  cache = false
	}
	EOF
}

test_expect_success 'setup' '
	printf "*.log\n*.pid\n*.dates\nnow*\nst*/\nrelease\n*.json*\n" >.gitignore &&
	weekly wk.dag wk &&
	weekly off.dag off &&
	weekly on.dag on "catchup = true" &&
	git add . && git commit -q -m pipelines
'

test_expect_success 'five simulated weeks fire five runs, each for the week before its fire time' '
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st1 wk.dag &&
	grep "wk: registered: 0 0 \* \* MON (UTC) from wk.dag" st1.log &&
	n=0 &&
	for monday in 02 09 16 23 30; do
		set_now 2026-11-${monday}T00:00:30Z &&
		n=$((n + 1)) &&
		wait_until "ended st1 $n" || return 1
	done &&
	stop_daemon st1 &&
	cat >expect <<-\EOF &&
	2026-10-26 2026-11-02T00:00:00Z schedule
	2026-11-02 2026-11-09T00:00:00Z schedule
	2026-11-09 2026-11-16T00:00:00Z schedule
	2026-11-16 2026-11-23T00:00:00Z schedule
	2026-11-23 2026-11-30T00:00:00Z schedule
	EOF
	test_cmp expect wk.dates &&
	test "$(sched_runs st1 schedule)" = 5 &&
	test "$(grep -c "wk: fired 2026-" st1.log)" = 5 &&
	grep "scheduler: stopped" st1.log
'

test_expect_success 'the decisions are in the audit chain, which still verifies' '
	ntflow audit verify --state st1 &&
	ntflow audit export - --state st1 >audit.jsonl &&
	test "$(grep "\"kind\":\"schedule\"" audit.jsonl | grep -c "fired")" = 5
'

test_expect_success 'a restart neither loses nor repeats: nothing due, nothing runs' '
	start_daemon st1 wk.dag &&
	stop_daemon st1 &&
	test "$(sched_runs st1 schedule)" = 5 &&
	test_line_count = 5 wk.dates
'

test_expect_success 'a restart after SIGKILL runs the interval due while it was down, once' '
	start_daemon st1 wk.dag &&
	kill_daemon st1 &&
	set_now 2026-12-07T00:00:30Z &&
	start_daemon st1 wk.dag &&
	wait_until "ended st1 6" &&
	stop_daemon st1 &&
	test "$(sched_runs st1 schedule)" = 6 &&
	tail -n 1 wk.dates >last &&
	echo "2026-11-30 2026-12-07T00:00:00Z schedule" >expect &&
	test_cmp expect last &&
	grep "wk: caught-up 2026-11-30T00:00:00Z..2026-12-07T00:00:00Z" st1.log
'

test_expect_success 'a 3-week outage with catchup = false: one run, for the latest interval' '
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st2 off.dag &&
	stop_daemon st2 &&
	set_now 2026-11-22T00:00:00Z &&
	start_daemon st2 off.dag &&
	wait_until "ended st2 1" &&
	stop_daemon st2 &&
	echo "2026-11-09 2026-11-16T00:00:00Z schedule" >expect &&
	test_cmp expect off.dates &&
	grep "off: skipped 2026-10-26T00:00:00Z..2026-11-09T00:00:00Z: 2 intervals not run (catchup = false)" st2.log &&
	grep "off: caught-up 2026-11-09T00:00:00Z..2026-11-16T00:00:00Z" st2.log
'

test_expect_success 'the same outage with catchup = true: three runs, oldest first' '
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st3 on.dag &&
	stop_daemon st3 &&
	set_now 2026-11-22T00:00:00Z &&
	start_daemon st3 on.dag &&
	wait_until "ended st3 3" &&
	stop_daemon st3 &&
	cat >expect <<-\EOF &&
	2026-10-26 2026-11-02T00:00:00Z schedule
	2026-11-02 2026-11-09T00:00:00Z schedule
	2026-11-09 2026-11-16T00:00:00Z schedule
	EOF
	test_cmp expect on.dates &&
	test "$(grep -c "on: caught-up" st3.log)" = 3
'

test_expect_success '--status: last run, next fire time, what a miss does, no daemon' '
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st3 >status &&
	cat status &&
	grep "^scheduler: not running" status &&
	grep "^on .*0 0 \* \* MON .*2026-11-09T00:00:00Z caught-up: run 3 succeeded .*2026-11-23T00:00:00Z .*catch up every interval" status &&
	ntflow scheduler --status --state st3 --json >status.json &&
	test "$(json_get status.json .pipelines[0].last.run_id)" = 3 &&
	test "$(json_get status.json .running)" = false
'

test_expect_success 'an overlapping due run waits while a run of the pipeline holds the workspace' '
	weekly ov.dag ov &&
	cat >>ov.dag <<-\EOF &&

	stage "hold" {
	  needs = ["a"]
	  run   = "if [ ${run.trigger} = manual ]; then while ! [ -e release ]; do sleep 0.05; done; fi"
	  cache = false
	}
	EOF
	set_now 2026-11-01T12:00:00Z &&
	ntflow run ov.dag --state st4 --no-tui >manual.out 2>&1 &
	echo $! >manual.pid &&
	wait_until "grep -q manual ov.dates" &&
	start_daemon st4 ov.dag &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "grep -q \"ov: interval 2026-10-26T00:00:00Z..2026-11-02T00:00:00Z waits: max_active_runs 1 reached: 1 going (run 1)\" st4.log" &&
	test "$(sched_runs st4 schedule)" = 0 &&
	status=$(NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st4) &&
	echo "$status" | grep "^scheduler: running (pid $(cat st4.pid)" &&
	: >release &&
	wait "$(cat manual.pid)" &&
	wait_until "ended st4 1" &&
	test "$(sched_runs st4 schedule)" = 1 &&
	grep "ov: fired 2026-10-26T00:00:00Z..2026-11-02T00:00:00Z" st4.log
'

test_expect_success 'a second scheduler on the workspace is refused (exit 75), naming the first' '
	start_daemon st4 ov.dag &&
	test_expect_code 75 env NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --state st4 ov.dag 2>err &&
	grep "another scheduler (pid $(cat st4.pid)) already runs for the workspace" err &&
	stop_daemon st4
'

test_expect_success 'a killed scheduler leaves no lock behind: the next one starts' '
	start_daemon st4 ov.dag &&
	kill_daemon st4 &&
	start_daemon st4 ov.dag &&
	stop_daemon st4
'

test_expect_success 'start_deadline: an interval that could not start in time is recorded missed' '
	weekly late.dag late "start_deadline = \"6h\"" &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st5 late.dag &&
	stop_daemon st5 &&
	set_now 2026-11-02T07:00:00Z &&
	start_daemon st5 late.dag &&
	wait_until "grep -q \"late: missed 2026-10-26T00:00:00Z..2026-11-02T00:00:00Z\" st5.log" &&
	set_now 2026-11-09T05:00:00Z &&
	wait_until "ended st5 1" &&
	stop_daemon st5 &&
	echo "2026-11-02 2026-11-09T00:00:00Z schedule" >expect &&
	test_cmp expect late.dates
'

# Another pipeline's run holds the workspace lock (it does not count against
# max_active_runs): the scheduled run waits for the lock only until start_deadline, then
# the interval is recorded missed rather than run late.
test_expect_success 'start_deadline: a run still waiting for the workspace lock then is recorded missed' '
	weekly dl.dag dl "start_deadline = \"2s\"" &&
	cat >hold.dag <<-\EOF &&
	pipeline "hold" {
	}

	stage "h" {
	  run   = "touch holding && while ! [ -e release2 ]; do sleep 0.05; done"
	  cache = false
	}
	EOF
	git add dl.dag hold.dag && git commit -q -m deadline &&
	set_now 2026-11-01T12:00:00Z &&
	ntflow run hold.dag --state st21 --no-tui >hold.out 2>&1 &
	echo $! >hold.pid &&
	test_when_finished ": >release2" &&
	wait_until "test -e holding" &&
	start_daemon st21 dl.dag &&
	set_now 2026-11-02T00:00:01Z &&
	wait_until "grep -q \"dl: missed: could not start within start_deadline of the interval.s end: the workspace lock was held\" st21.log" &&
	: >release2 &&
	wait "$(cat hold.pid)" &&
	stop_daemon st21 &&
	test_path_is_missing dl.dates &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st21 >status &&
	cat status &&
	grep "missed" status
'

# A file being replaced (an editor's rename, a checkout) is missing for a moment and keeps
# its pipeline; one removed for good was run every week from its last good version.
test_expect_success 'a DAG file named by its path and removed is unscheduled after a minute, not run for ever' '
	weekly gone.dag gone &&
	git add gone.dag && git commit -q -m gone &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st22 gone.dag &&
	git rm -q gone.dag && git commit -q -m "gone" &&
	wait_until "grep -q \"gone.dag: cannot be read\" st22.log" &&
	! grep "gone: no longer scheduled" st22.log &&
	set_now 2026-11-01T12:01:01Z &&
	wait_until "grep -q \"gone: no longer scheduled (gone.dag is gone or has no schedule)\" st22.log" &&
	set_now 2026-11-02T00:00:30Z &&
	sleep 1 &&
	stop_daemon st22 &&
	cat st22.log &&
	test_path_is_missing gone.dates &&
	! grep "last good version" st22.log
'

test_expect_success 'a folder given as dags/ (as the systemd unit does): its files are named dags/NAME.dag' '
	mkdir -p folder &&
	weekly folder/fw.dag fw &&
	git add folder && git commit -q -m folder &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st23 folder/ &&
	stop_daemon st23 &&
	grep "fw: registered: 0 0 \* \* MON (UTC) from folder/fw.dag" st23.log &&
	! grep "folder//" st23.log
'

# Taken out of a watched folder, then put back weeks later: with catchup = true the weeks
# it was away are run, and logged caught-up (they were fired while it was not scheduled).
test_expect_success 'a pipeline put back with catchup = true: the intervals it missed are caught up' '
	mkdir -p cu &&
	weekly cu/back.dag back "catchup = true" &&
	git add cu && git commit -q -m back &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st24 cu/ &&
	mv cu/back.dag back.away &&
	wait_until "grep -q \"back: no longer scheduled\" st24.log" &&
	set_now 2026-11-17T12:00:00Z &&
	mv back.away cu/back.dag &&
	wait_until "grep -q \"back: scheduled again\" st24.log" &&
	wait_until "test \$(grep -c \": run [0-9]* ended\" st24.log) -ge 3" &&
	stop_daemon st24 &&
	cat st24.log &&
	test "$(grep -c "back: caught-up" st24.log)" = 3 &&
	! grep "back: fired" st24.log
'

# A folder and a folder inside it, both given: the inner one's pipeline is the inner path's
# only, so its removal is seen (the outer folder, there still, vouched for it for ever).
test_expect_success 'folder/ and folder/sub/ given: sub removed, its pipeline is unscheduled after a minute' '
	mkdir -p nest/sub &&
	weekly nest/sub/ns.dag ns &&
	git add nest && git commit -q -m nest &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st25 nest/ nest/sub/ &&
	mv nest/sub sub.away &&
	wait_until "grep -q \"nest/sub/: cannot be read\" st25.log" &&
	set_now 2026-11-01T12:01:05Z &&
	wait_until "grep -q \"ns: no longer scheduled (nest/sub/ns.dag is gone or has no schedule)\" st25.log" &&
	stop_daemon st25
'

test_expect_success 'a high alert triggers exactly one run; the cooldown suppresses the next' '
	cat >drift.dag <<-\EOF &&
	pipeline "drift" {
	  schedule       = "0 0 * * MON"
	  alert_cooldown = "30d"
	}

	stage "a" {
	  run   = "echo ${run.date} ${run.trigger} >> drift.dates"
	  cache = false
	}

	monitor "m" {
	  needs    = ["a"]
	  run      = "printf \"{\\\"psi\\\": %s}\" $(cat psi) > m.json"
	  metrics  = "m.json"
	  cache    = false
	  on_alert = "high"
	  alert "shift" {
	    when     = "psi > 0.25"
	    severity = "high"
	  }
	  alert "extreme" {
	    when     = "psi > 0.9"
	    severity = "high"
	  }
	}
	EOF
	echo 0.3 >psi &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st6 drift.dag &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "ended st6 2" &&
	grep "drift: triggered by high alert 1 of run 1" st6.log &&
	test "$(sched_runs st6 alert)" = 1 &&
	echo 0.95 >psi &&
	set_now 2026-11-09T00:00:30Z &&
	wait_until "grep -q \"drift: suppressed high alert\" st6.log" &&
	wait_until "ended st6 3" &&
	stop_daemon st6 &&
	test "$(sched_runs st6 alert)" = 1 &&
	test "$(sched_runs st6 schedule)" = 2 &&
	grep "within alert_cooldown (until 2026-12-02T00:00:30Z)" st6.log
'

test_expect_success 'an edited DAG file is reloaded; a broken edit keeps the last good version' '
	weekly ed.dag ed &&
	mkdir -p eddir && mv ed.dag eddir/ &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st7 eddir &&
	sed "s/0 0 \* \* MON/0 6 * * MON/" eddir/ed.dag >eddir/ed.tmp && mv eddir/ed.tmp eddir/ed.dag &&
	wait_until "grep -q \"ed: schedule changed to 0 6 \* \* MON (UTC)\" st7.log" &&
	echo "this is not a dag" >>eddir/ed.dag &&
	wait_until "grep -q \"eddir/ed.dag: has errors; its last good version stays scheduled\" st7.log" &&
	set_now 2026-11-02T06:00:30Z &&
	wait_until "ended st7 1" &&
	grep "ed: fired 2026-10-26T06:00:00Z..2026-11-02T06:00:00Z" st7.log &&
	grep "ed: eddir/ed.dag has changed since its last good version: running that version (eddir/.ed.last-good)" st7.log &&
	test_path_is_missing eddir/.ed.last-good &&
	grep "^2026-10-26 " ed.dates &&
	stop_daemon st7
'

test_expect_success 'a watched folder replaced by another of its name (a deploy by rename) is watched again' '
	mkdir -p swap && weekly swap/sw.dag sw &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st10 swap/ &&
	cp -R swap swap.new && mv swap swap.old && mv swap.new swap &&
	sed "s/0 0 \* \* MON/0 7 * * MON/" swap/sw.dag >swap/sw.tmp && mv swap/sw.tmp swap/sw.dag &&
	wait_until "grep -q \"sw: schedule changed to 0 7 \* \* MON (UTC)\" st10.log" &&
	sed "s/0 7 \* \* MON/0 8 * * MON/" swap/sw.dag >swap/sw.tmp && mv swap/sw.tmp swap/sw.dag &&
	wait_until "grep -q \"sw: schedule changed to 0 8 \* \* MON (UTC)\" st10.log" &&
	! grep "sw: no longer scheduled" st10.log &&
	stop_daemon st10
'

test_expect_success 'a file with errors at start: the scheduler waits for the fix, and says so' '
	mkdir -p bad && weekly bad/bd.dag bd && cp bad/bd.dag bd.good &&
	echo "this is not a dag" >>bad/bd.dag &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st11 bad &&
	grep "bad/bd.dag: has errors; nothing of it is scheduled until it loads" st11.log &&
	grep "scheduler: waiting for the 1 file with errors to be fixed" st11.log &&
	! grep "last good version" st11.log &&
	cp bd.good bad/bd.dag &&
	wait_until "grep -q \"bd: registered: 0 0 \* \* MON\" st11.log" &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "ended st11 1" &&
	stop_daemon st11
'

test_expect_success '--status shows the schedule in force: changed, then its file gone' '
	mkdir -p stat && weekly stat/stx.dag stx &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st13 stat &&
	sed "s/0 0 \* \* MON/0 6 * * TUE/" stat/stx.dag >stat/stx.tmp && mv stat/stx.tmp stat/stx.dag &&
	wait_until "grep -q \"stx: schedule changed to 0 6 \* \* TUE (UTC)\" st13.log" &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st13 >status &&
	grep "^stx .*0 6 \* \* TUE .*2026-11-03T06:00:00Z" status &&
	rm stat/stx.dag &&
	wait_until "grep -q \"stx: no longer scheduled\" st13.log" &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st13 >status &&
	grep "^stx .*- (not scheduled)" status &&
	stop_daemon st13 &&
	# restored while no scheduler ran, then the scheduler started again: scheduled
	weekly stat/stx.dag stx &&
	start_daemon st13 stat &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st13 >status &&
	cat status &&
	grep "^stx .*0 0 \* \* MON" status &&
	! grep "not scheduled" status &&
	stop_daemon st13
'

test_expect_success '--status after the scheduler and its run were killed: the run as recorded' '
	weekly kl.dag kl &&
	holding kl.dag kl &&
	rm -f release kl.started &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st14 kl.dag &&
	set_now 2026-11-02T00:00:30Z &&
	wait_for_file kl.started &&
	run_pid=$(sed -n "s/^pid //p" st14/lock.holder) &&
	test -n "$run_pid" &&
	kill -KILL "$(cat st14.pid)" "$run_pid" &&
	{ wait "$(cat st14.pid)" 2>/dev/null; : ; } &&
	wait_until "! alive $run_pid" &&
	ntflow runs --state st14 >/dev/null 2>&1 &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st14 >status &&
	cat status &&
	grep "^kl .*fired: run 1 crashed" status
'

# A reboot kills the scheduler, its run and the run's stages at once, and the next boot
# has another boot id (NTFLOW_TEST_BOOT_ID stands for it): the next scheduler starts that
# interval again, once ("refired"); a refired run that dies too is left crashed. A run
# killed with its scheduler while the machine stays up is not refired.
# killall_sched STATE: the scheduler and the run process holding STATE's workspace, by SIGKILL
killall_sched() {
	ka_run=$(sed -n "s/^pid //p" "$1/lock.holder") &&
	test -n "$ka_run" &&
	kill -KILL "$(cat "$1.pid")" "$ka_run" &&
	{ wait "$(cat "$1.pid")" 2>/dev/null; : ; } &&
	wait_until "! alive $ka_run"
}
# fire_and_kill STATE NAME: under boot id boot-1, a scheduler on NAME.dag fires the
# interval 2026-10-26..11-02; its run starts holding, and the scheduler and the run are
# killed together.
fire_and_kill() {
	rm -f release "$2.started" "$2.dates" &&
	export NTFLOW_TEST_BOOT_ID=boot-1 &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon "$1" "$2.dag" &&
	set_now 2026-11-02T00:00:30Z &&
	wait_for_file "$2.started" &&
	killall_sched "$1"
}
test_expect_success 'a run that died with the machine (a reboot) is started again once, then left; one killed with its scheduler is not' '
	weekly rb.dag rb &&
	holding rb.dag rb &&
	test_when_finished "touch release; unset NTFLOW_TEST_BOOT_ID" &&
	fire_and_kill st26 rb &&
	rm -f rb.started &&
	start_daemon st26 rb.dag &&
	stop_daemon st26 &&
	! grep "refired" st26.log &&
	export NTFLOW_TEST_BOOT_ID=boot-2 &&
	start_daemon st26 rb.dag &&
	stop_daemon st26 &&
	! grep "refired" st26.log &&
	set_now 2026-11-09T00:00:30Z &&
	start_daemon st26 rb.dag &&
	wait_for_file rb.started &&
	killall_sched st26 &&
	rm -f rb.started &&
	export NTFLOW_TEST_BOOT_ID=boot-3 &&
	start_daemon st26 rb.dag &&
	wait_until "grep -q \"rb: refired 2026-11-02T00:00:00Z..2026-11-09T00:00:00Z: run 2 died with the machine (a reboot); started again, once\" st26.log" &&
	wait_for_file rb.started &&
	killall_sched st26 &&
	export NTFLOW_TEST_BOOT_ID=boot-4 &&
	start_daemon st26 rb.dag &&
	touch release &&
	stop_daemon st26 &&
	test "$(grep -c "rb: refired" st26.log)" = 1 &&
	ntflow runs --state st26 >runs &&
	cat runs &&
	test "$(awk "\$3 == \"schedule\"" runs | wc -l)" = 3 &&
	test "$(awk "\$6 == \"crashed\"" runs | wc -l)" = 3 &&
	printf "2026-10-26 2026-11-02T00:00:00Z schedule\n2026-11-02 2026-11-09T00:00:00Z schedule\n2026-11-02 2026-11-09T00:00:00Z schedule\n" >expect &&
	test_cmp expect rb.dates &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --state st26 >status &&
	cat status &&
	grep "^rb .*refired: run 3 crashed" status &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --status --json --state st26 >status.json &&
	test "$(json_get status.json ".pipelines[0].last.run_id")" = 3
'

test_expect_success 'a run that outlived its scheduler and was then killed alone is not refired after a reboot' '
	weekly rd.dag rd &&
	holding rd.dag rd &&
	test_when_finished "touch release; unset NTFLOW_TEST_BOOT_ID" &&
	rm -f release rd.started &&
	export NTFLOW_TEST_BOOT_ID=boot-1 &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st29 rd.dag &&
	set_now 2026-11-02T00:00:30Z &&
	wait_for_file rd.started &&
	run_pid=$(sed -n "s/^pid //p" st29/lock.holder) &&
	kill_daemon st29 &&
	start_daemon st29 rd.dag &&
	kill -KILL "$run_pid" &&
	wait_until "! alive $run_pid" &&
	set_now 2026-11-02T00:02:00Z &&
	wait_until "grep -q \"rd: fired 2026-10-26T00:00:00Z..2026-11-02T00:00:00Z: run 1 ended without the scheduler that started it; not to be started again\" st29.log" &&
	kill_daemon st29 &&
	export NTFLOW_TEST_BOOT_ID=boot-2 &&
	start_daemon st29 rd.dag &&
	stop_daemon st29 &&
	! grep "refired" st29.log
'

test_expect_success 'with catchup = false, a run that died with the machine weeks ago is not refired: the newest interval runs' '
	sed "s/rb\./rc./g; s/\"rb\"/\"rc\"/" rb.dag >rc.dag &&
	test_when_finished "unset NTFLOW_TEST_BOOT_ID" &&
	fire_and_kill st27 rc &&
	touch release &&
	export NTFLOW_TEST_BOOT_ID=boot-2 &&
	set_now 2026-11-16T00:00:30Z &&
	start_daemon st27 rc.dag &&
	wait_until "ended st27 1" &&
	stop_daemon st27 &&
	cat st27.log rc.dates &&
	! grep "refired" st27.log &&
	grep "rc: caught-up 2026-11-09T00:00:00Z..2026-11-16T00:00:00Z" st27.log &&
	printf "2026-10-26 2026-11-02T00:00:00Z schedule\n2026-11-09 2026-11-16T00:00:00Z schedule\n" >expect &&
	test_cmp expect rc.dates
'

# A weekly retraining whose scheduler is gone is a problem the doctor names, unless each
# interval due has its run all the same (from cron, or a backfill).
test_expect_success 'doctor: a due interval with no run and no scheduler is a problem; a scheduler or its run is not' '
	weekly dr.dag dr &&
	git add dr.dag && git commit -q -m dr &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st28 dr.dag &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test doctor --state st28 >doc &&
	grep "^schedule  ok    1 pipeline scheduled; a scheduler runs (pid $(cat st28.pid))$" doc &&
	stop_daemon st28 &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test doctor --state st28 >doc &&
	grep "^schedule  ok    1 pipeline scheduled; no scheduler runs, and every interval due has its run$" doc &&
	set_now 2026-11-02T00:30:00Z &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test doctor --state st28 >doc &&
	grep "^schedule  ok    1 pipeline scheduled; no scheduler runs, and every interval due has its run$" doc &&
	set_now 2026-11-02T01:00:30Z &&
	test_expect_code 1 env NTFLOW_TEST_NOW=$PWD/now ntflow-test doctor --state st28 >doc &&
	cat doc &&
	grep "^schedule  FAIL  dr: the interval 2026-10-26T00:00:00Z..2026-11-02T00:00:00Z is due since 2026-11-02T00:00:00Z and has no run, and no scheduler runs for this workspace (start one: ntflow scheduler --state st28 dr.dag; or from cron: NTFLOW_STATE=st28 ntflow schedule dr.dag --crontab)$" doc &&
	grep "^1 problem found$" doc &&
	mv dr.dag dr.moved &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test doctor --state st28 >doc &&
	grep "^schedule  ok    no pipeline is scheduled here$" doc &&
	mv dr.moved dr.dag &&
	ntflow run dr.dag --state st28 --trigger schedule --date 2026-10-26 --interval-end 2026-11-02T00:00:00Z --no-tui >/dev/null &&
	NTFLOW_TEST_NOW=$PWD/now ntflow-test doctor --state st28 >doc &&
	grep "^schedule  ok    1 pipeline scheduled; no scheduler runs, and every interval due has its run$" doc
'

test_expect_success 'a changed schedule: the next interval begins where the last one ended' '
	mkdir -p chg && weekly chg/cg.dag cg &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st15 chg &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "ended st15 1" &&
	sed "s/0 0 \* \* MON/0 0 * * SUN/" chg/cg.dag >chg/cg.tmp && mv chg/cg.tmp chg/cg.dag &&
	wait_until "grep -q \"cg: schedule changed to 0 0 \* \* SUN (UTC)\" st15.log" &&
	set_now 2026-11-08T00:00:30Z &&
	wait_until "ended st15 2" &&
	stop_daemon st15 &&
	grep "cg: fired 2026-10-26T00:00:00Z..2026-11-02T00:00:00Z" st15.log &&
	grep "cg: fired 2026-11-02T00:00:00Z..2026-11-08T00:00:00Z" st15.log &&
	cat >expect <<-\EOF &&
	2026-10-26 2026-11-02T00:00:00Z schedule
	2026-11-02 2026-11-08T00:00:00Z schedule
	EOF
	test_cmp expect cg.dates
'

# A path that names nothing is given the minute a replaced file or folder takes to come
# back (a deploy by rename as the scheduler starts), then is the error it is: a typo.
test_expect_success 'a path that names nothing is an error (exit 2) after a minute' '
	set_now 2026-11-01T12:00:00Z &&
	{ NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --state st16 nosuchdir/ 2>err & } &&
	echo $! >st16.pid &&
	test_when_finished "kill -KILL $(cat st16.pid) 2>/dev/null || :" &&
	wait_until "grep -q \"scheduler: waiting for the 1 path that cannot be read to come back\" err" &&
	set_now 2026-11-01T12:01:01Z &&
	test_expect_code 2 wait "$(cat st16.pid)" &&
	grep "no scheduled pipeline in nosuchdir/ after 60 s of waiting for what could not be read" err
'

test_expect_success 'a DAG file with errors given by its path is reported once, whatever reloads' '
	mkdir -p bad2 && weekly bad2/ok2.dag ok2 && echo "this is not a dag" >bad2/b2.dag &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st17 bad2/b2.dag bad2/ok2.dag &&
	touch bad2/ok2.dag && kill -HUP "$(cat st17.pid)" &&
	wait_until "grep -q \"scheduler: SIGHUP: reloading\" st17.log" &&
	touch bad2/ok2.dag && sleep 0.5 &&
	stop_daemon st17 &&
	test "$(grep -c "bad2/b2.dag: has errors" st17.log)" = 1 &&
	! grep "can be read again" st17.log
'

test_expect_success 'SIGHUP opens --log again: a log moved away by logrotate is not written on' '
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st12 wk.dag &&
	mv st12.log st12.log.1 &&
	kill -HUP "$(cat st12.pid)" &&
	wait_until "grep -q \"scheduler: SIGHUP: reloading\" st12.log" &&
	! grep "SIGHUP" st12.log.1 &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "ended st12 1" &&
	stop_daemon st12 &&
	grep "scheduler: stopped" st12.log
'

test_expect_success 'SIGTERM lets the running run finish; --cancel-on-exit cancels it; SIGHUP reloads' '
	weekly slow.dag slow &&
	cat >>slow.dag <<-\EOF &&

	stage "hold" {
	  needs = ["a"]
	  run   = "while ! [ -e release ]; do sleep 0.05; done"
	  cache = false
	}
	EOF
	rm -f release &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st9 slow.dag &&
	kill -HUP "$(cat st9.pid)" &&
	wait_until "grep -q \"scheduler: SIGHUP: reloading\" st9.log" &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "grep -q \"^2026-10-26 .* schedule\" slow.dates" &&
	kill -TERM "$(cat st9.pid)" &&
	wait_until "grep -q \"scheduler: stopping: waiting for 1 run to finish\" st9.log" &&
	kill -0 "$(cat st9.pid)" &&
	: >release &&
	wait "$(cat st9.pid)" &&
	grep ": run 1 ended (exit 0)" st9.log &&
	rm -f release &&
	set_now 2026-11-09T00:00:30Z &&
	start_daemon st9 slow.dag --cancel-on-exit &&
	wait_until "grep -q \"^2026-11-02 .* schedule\" slow.dates" &&
	kill -TERM "$(cat st9.pid)" &&
	wait "$(cat st9.pid)" &&
	grep "scheduler: stopping: cancelling 1 run" st9.log &&
	grep ": run 2 ended (exit 130)" st9.log &&
	ntflow show 2 --state st9 | grep -E "^status +cancelled"
'

test_expect_success 'no scheduled pipeline: exit 2 with a message' '
	printf "stage \"a\" {\n  run = \"true\"\n}\n" >plain.dag &&
	test_expect_code 2 env NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --state st8 plain.dag 2>err &&
	grep "no scheduled pipeline in plain.dag" err
'

# A scheduler killed after it started a run's process but before it recorded that process
# with the decision: the process waits for the scheduler's word, so it exits without running,
# and the next scheduler starts the interval, once. The process ran, and the next scheduler,
# finding a decision with no process, ran the interval a second time.
test_expect_success 'a scheduler killed between starting a run and recording it: the interval runs once' '
	weekly ff.dag ff &&
	set_now 2026-11-01T12:00:00Z &&
	export NTFLOW_FAULT=scheduler-after-fork &&
	start_daemon st30 ff.dag &&
	unset NTFLOW_FAULT &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "! alive $(cat st30.pid)" &&
	{ wait "$(cat st30.pid)" 2>/dev/null; true; } &&
	start_daemon st30 ff.dag &&
	wait_until "grep -q \"started run process [0-9]* for fired, decided before the last scheduler stopped\" st30.log" &&
	wait_until "ended st30 1" &&
	stop_daemon st30 &&
	cat st30.log &&
	echo "2026-10-26 2026-11-02T00:00:00Z schedule" >expect &&
	test_cmp expect ff.dates &&
	test "$(sched_runs st30 schedule)" = 1
'

# The same for an alert's run: its trigger was consumed with the decision, so the run the
# killed scheduler never let go is started by the next one (it was lost: only scheduled
# intervals were taken up).
test_expect_success 'a scheduler killed between starting an alert run and recording it: the run happens once' '
	sed -e "s/drift/drift2/g" drift.dag >drift2.dag &&
	echo 0.3 >psi &&
	set_now 2026-11-01T12:00:00Z &&
	export NTFLOW_FAULT=scheduler-after-fork-alert &&
	start_daemon st31 drift2.dag &&
	unset NTFLOW_FAULT &&
	set_now 2026-11-02T00:00:30Z &&
	wait_until "! alive $(cat st31.pid)" &&
	{ wait "$(cat st31.pid)" 2>/dev/null; true; } &&
	test "$(sched_runs st31 alert)" = 0 &&
	start_daemon st31 drift2.dag &&
	wait_until "grep -q \"started run process [0-9]* for alert, decided before the last scheduler stopped\" st31.log" &&
	wait_until "ended st31 1" &&
	stop_daemon st31 &&
	cat st31.log &&
	test "$(sched_runs st31 alert)" = 1 &&
	test "$(sched_runs st31 schedule)" = 1
'

# At start: a folder named that is missing (a deploy replacing it as the scheduler starts)
# exited 2, which the systemd unit does not restart, so scheduling stopped for good; a
# damaged store exited 2 with "no scheduled pipeline". Now the first waits for the folder
# and schedules what it holds once it is back; the second exits 4 naming the damage.
test_expect_success 'a folder missing at start is waited for; a damaged store exits 4' '
	rm -rf late-dags &&
	set_now 2026-11-01T12:00:00Z &&
	start_daemon st33 late-dags/ &&
	grep "scheduler: waiting for the 1 path that cannot be read to come back" st33.log &&
	mkdir late-dags.new &&
	weekly late-dags.new/ld.dag ld &&
	mv late-dags.new late-dags &&
	wait_until "grep -q \"ld: registered: 0 0 \\* \\* MON (UTC) from late-dags/ld.dag\" st33.log" &&
	stop_daemon st33 &&
	mkdir -p st34 &&
	weekly dmg.dag dmg &&
	head -c 8192 /dev/urandom >st34/state.db &&
	test_expect_code 4 env NTFLOW_TEST_NOW=$PWD/now ntflow-test scheduler --state st34 dmg.dag 2>err &&
	grep "st34/state.db. is not an ntflow state database" err &&
	! grep "no scheduled pipeline" err
'

test_done
