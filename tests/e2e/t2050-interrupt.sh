#!/bin/sh
# t2050-interrupt.sh: SIGINT/SIGTERM to ntflow: stages' process groups are stopped, the run
# is recorded cancelled, exit 130, and no process of the run outlives ntflow (stages spawn
# background grandchildren); a second SIGINT kills at once; after a kill -9 of ntflow the
# direct children die, and the next run reports the crashed run and kills what it left; a
# SIGINT during a pass of cached stages stops it before the next stage.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_need_hooks
# stopped PID: the process is stopped (SIGSTOP).
stopped() {
	s_=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $s_ in T*) return 0 ;; esac
	return 1
}

# two_stages SLEEP [GRACE]: two parallel stages p1 and p2; each records its shell's pid and
# process group, starts a background grandchild, marks itself ready and sleeps. SLEEP is a
# unique duration so that `ps` finds exactly this scenario's processes.
two_stages() {
	for s in p1 p2; do
		cat <<EOF
stage "$s" {
  grace = "${2:-5s}"
  run   = "echo \$\$ >$s.pid; ps -o pgid= -p \$\$ | tr -d ' ' >$s.pgid; sleep $1 & touch $s.ready; sleep $1"
}

EOF
	done
}
two_stages 301.5 >int.dag
two_stages 302.5 >term.dag
two_stages 303.5 >crash.dag
# Stages whose shell traps SIGTERM (noting it) and whose grandchild ignores it: only a
# SIGKILL stops them, and the grace is long, so only a second SIGINT ends the run early.
for s in p1 p2; do
	cat <<EOF
stage "$s" {
  grace = "60s"
  run   = "echo \$\$ >$s.pid; ps -o pgid= -p \$\$ | tr -d ' ' >$s.pgid; trap 'touch $s.term' TERM; (trap '' TERM; exec sleep 304.5) & touch $s.ready; while :; do wait; done"
}

EOF
done >stubborn.dag
write_dag ok.dag <<\EOF
stage "ok" {
  run = "touch ok.ran"
}
EOF

# start_run DAG: starts ntflow in the background (SIGINT back to default: a non-interactive
# shell starts background jobs with it ignored), its pid in ntflow.pid, output in out/err.
start_run() {
	rm -f p1.* p2.* out err
	env --default-signal=INT ntflow run "$1" --no-tui -j 2 >out 2>err &
	echo $! >ntflow.pid
}

# wait_ntflow: waits for the background ntflow; its exit status in $rc.
wait_ntflow() {
	rc=0
	wait "$(cat ntflow.pid)" || rc=$?
	echo "ntflow exited $rc"
}

# wait_sleepers N SLEEP: until exactly N `sleep SLEEP` processes are alive (the ready marker
# is written just before the foreground sleep starts).
wait_sleepers() { wait_until "test \$(procs_with_args 'sleep $2') = $1" 50; }

# When a test fails half-way, nothing it started may linger. (dash's kill takes no "--".)
cleanup_run() {
	kill -9 "$(cat ntflow.pid 2>/dev/null)" 2>/dev/null
	for f in p1.pgid p2.pgid; do
		test -s "$f" && kill -9 "-$(cat "$f")" 2>/dev/null
	done
	return 0
}

# alive PID: the process exists and is not a zombie.
alive() {
	st=$(ps -o stat= -p "$1") || return 1
	case $st in Z*) return 1 ;; esac
	return 0
}

# nothing_left SLEEP: no process of the stages' groups and no `sleep SLEEP` is alive. The
# signals were sent before ntflow returned; a process may need a moment to be scheduled
# and die, so poll (2s at most).
nothing_left() {
	wait_until "test \$(procs_in_group $(cat p1.pgid)) = 0 && test \$(procs_in_group $(cat p2.pgid)) = 0" 20 &&
	wait_until "test \$(procs_with_args 'sleep $1') = 0" 20 || {
		ps -eo pid,pgid,stat,args >&2
		return 1
	}
}

for sig in INT TERM; do
	case $sig in INT) dag=int.dag sleep=301.5 ;; TERM) dag=term.dag sleep=302.5 ;; esac
	test_expect_success "SIG$sig: exit 130, no process of the run left" "
		test_when_finished cleanup_run &&
		start_run $dag &&
		wait_for_file p1.ready &&
		wait_for_file p2.ready &&
		wait_sleepers 4 $sleep &&
		kill -$sig \$(cat ntflow.pid) &&
		wait_ntflow &&
		cat out err &&
		test \$rc = 130 &&
		nothing_left $sleep
	"

	test_expect_success "SIG$sig: the run and its stages are recorded cancelled" '
		ntflow show --json >show.json &&
		test "$(json_get show.json .run.status)" = cancelled &&
		test "$(stage_field show.json p1 state)" = cancelled &&
		test "$(stage_field show.json p2 state)" = cancelled &&
		run=$(json_get show.json .run.id) &&
		ntflow runs >runs &&
		cat runs &&
		grep -E "(^|[^0-9])$run([^0-9]|$).*cancelled" runs &&
		grep -E "^run $run cancelled" out
	'
done

test_expect_success 'a second SIGINT kills at once, without waiting for the grace' '
	test_when_finished cleanup_run &&
	start_run stubborn.dag &&
	wait_for_file p1.ready &&
	wait_for_file p2.ready &&
	kill -INT $(cat ntflow.pid) &&
	wait_for_file p1.term &&
	wait_for_file p2.term &&
	alive $(cat ntflow.pid) &&
	wait_sleepers 2 304.5 &&
	start=$(now) &&
	kill -INT $(cat ntflow.pid) &&
	wait_ntflow &&
	took=$(seconds_since "$start") &&
	echo "took $took s after the second SIGINT" &&
	test $rc = 130 &&
	num_lt "$took" 5 &&
	nothing_left 304.5 &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = cancelled
'

# A rerun whose stages are all cached restores their outputs without a turn of the event
# loop: a SIGINT there (the run held after its first hit by a fault point) still stops it
# before the next stage.
for i in 1 2 3 4 5; do
	printf "stage \"c%d\" {\n  run     = \"echo %d >c%d.out\"\n  outputs = [\"c%d.out\"]\n}\n\n" $i $i $i $i
done >cached.dag

test_expect_success 'SIGINT during a pass of cached stages cancels the run before the next' '
	git add cached.dag && git commit -q -m cached &&
	ntflow run cached.dag --no-tui -j 1 >out 2>err &&
	{ NTFLOW_FAULT=run-stop-after-cached ntflow-test run cached.dag --no-tui -j 1 >out 2>err & } &&
	pid=$! &&
	test_when_finished "kill -9 $pid 2>/dev/null; true" &&
	wait_until "stopped $pid" &&
	kill -INT $pid && kill -CONT $pid &&
	# a run that went on would stop again at each hit: it is let go on, to fail below
	{
		(
			i=0
			while test $i -lt 100 && kill -CONT $pid 2>/dev/null; do
				sleep 0.1
				i=$((i + 1))
			done
		) &
	} &&
	{ wait $pid; rc=$?; } &&
	cat out err &&
	test $rc = 130 &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = cancelled &&
	test "$(grep -c "^\[[0-9]/5\] c[0-9] cached" out)" = 1 &&
	test "$(grep -c "^\[[0-9]/5\] c[0-9] cancelled" out)" = 4
'

test_expect_success 'kill -9 of ntflow: the stages (its direct children) die' '
	test_when_finished "kill -9 \$(cat ntflow.pid) 2>/dev/null; true" &&
	start_run crash.dag &&
	wait_for_file p1.ready &&
	wait_for_file p2.ready &&
	cp p1.pgid crash-p1.pgid &&
	cp p2.pgid crash-p2.pgid &&
	wait_sleepers 4 303.5 &&
	kill -9 $(cat ntflow.pid) &&
	wait_ntflow &&
	test $rc = 137 &&
	wait_until "! alive $(cat p1.pid) && ! alive $(cat p2.pid)" 30
'

test_expect_success 'the next run reports the crashed run, kills its leftovers and succeeds' '
	test_when_finished "kill -9 -\$(cat crash-p1.pgid) -\$(cat crash-p2.pgid) 2>/dev/null; true" &&
	ntflow run ok.dag --no-tui >out2 2>err2 &&
	cat out2 err2 &&
	test_path_is_file ok.ran &&
	grep -i "warning.*crashed" err2 &&
	wait_until "test \$(procs_with_args \"sleep 303.5\") = 0" 30 &&
	test "$(procs_in_group $(cat crash-p1.pgid))" = 0 &&
	test "$(procs_in_group $(cat crash-p2.pgid))" = 0
'

test_expect_success 'ntflow runs shows the old run as crashed, the new one succeeded' '
	ntflow runs >runs &&
	cat runs &&
	grep -E "crash.*crashed|crashed.*crash" runs &&
	grep -E "ok.*succeeded|succeeded.*ok" runs &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = succeeded &&
	crashed=$(($(json_get show.json .run.id) - 1)) &&
	ntflow show $crashed --json >old.json &&
	test "$(json_get old.json .run.status)" = crashed &&
	# its stages were left running: a wall time nobody recorded, not one that grows
	ntflow show $crashed >old.txt &&
	grep -E "^p1 +running +1 +- +- " old.txt &&
	grep -E "^p2 +running +1 +- +- " old.txt
'

test_done
