#!/bin/sh
# t2090-orphans.sh: no stage process outlives its run. ntflow killed: its spawner kills each
# stage's process group at once. A crash of both between the start of a
# stage's process and the commit of its process group (a fault point freezes ntflow there,
# the test kills it): the next run's recovery still finds the group, through the procs
# record the child wrote before it ran its command, and kills what the stage left. A process
# that left its stage's process group with setsid is killed at the end of the run, and after
# a crash by the next command's recovery (both through the NTFLOW_RUNNER mark in its
# environment); show says how processes are held. A run killed right after its end was
# recorded leaves no process record.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_need_hooks
command -v setsid >/dev/null 2>&1 && test_set_prereq SETSID

# alive PID: the process exists and is not a zombie.
alive() {
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $s in Z*) return 1 ;; esac
}
# stopped PID: the process is stopped (SIGSTOP).
stopped() {
	s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $s in T*) return 0 ;; esac
	return 1
}

# A stage whose shell leaves a child in its process group: the child writes its pid, then
# sleeps for good (the shell waits for it). Only a kill of the group ends it.
write_dag hang.dag <<\EOF
pipeline "orphans" {}

stage "spawner" {
  run = "sh -c 'echo $$ >orphan.tmp && mv orphan.tmp orphan.pid && exec sleep 3000' & wait"
}
EOF

write_dag quick.dag <<\EOF
pipeline "quick" {}

stage "q" {
  run   = "echo q"
  cache = false
}
EOF

test_expect_success 'setup' '
	printf ".ntflow/\n*.pid\n*.tmp\n" >.gitignore &&
	git add . && git commit -q -m one
'

test_expect_success 'a crash between spawn and commit leaves no process alive after the next run starts' '
	NTFLOW_FAULT=run-stop-after-spawn ntflow-test run hang.dag --no-tui >run1.out 2>&1 &
	pid=$! &&
	test_when_finished "kill -9 $pid 2>/dev/null; test -s orphan.pid && kill -9 \$(cat orphan.pid) 2>/dev/null; true" &&
	wait_for_file orphan.pid &&
	orphan=$(cat orphan.pid) &&
	# ntflow is frozen after the start, before its group was committed; its spawner is
	# killed with it (alone it would kill the stage'"'"'s group: the next test)
	wait_until "stopped $pid" &&
	spawner=$(pgrep -P $pid -x ntflow-spawn) &&
	kill -9 $spawner $pid &&
	{ wait $pid; test $? = 137; } &&
	alive $orphan &&
	ntflow run quick.dag --no-tui >run2.out 2>run2.err &&
	cat run2.out run2.err &&
	grep -x "ntflow: warning: run 1 had crashed: its ntflow process is gone" run2.err &&
	grep -x "ntflow: warning: run 1 had crashed: killed leftover process group [0-9]*" run2.err &&
	wait_until "! alive $orphan" &&
	test_path_is_missing .ntflow/procs/1 &&
	test_path_is_missing .ntflow/procs/2
'

test_expect_success 'ntflow killed: its spawner kills each stage'"'"'s group before any command runs' '
	rm -f orphan.pid &&
	{ ntflow run hang.dag --no-tui >run3.out 2>&1 & } &&
	pid=$! &&
	test_when_finished "kill -9 $pid 2>/dev/null; test -s orphan.pid && kill -9 \$(cat orphan.pid) 2>/dev/null; true" &&
	wait_for_file orphan.pid &&
	orphan=$(cat orphan.pid) &&
	alive $orphan &&
	kill -9 $pid &&
	{ wait $pid; test $? = 137; } &&
	wait_until "! alive $orphan" &&
	ntflow runs >runs.out 2>runs.err &&
	grep "had crashed: its ntflow process is gone" runs.err
'

write_dag daemon.dag <<\EOF
pipeline "daemon" {}

stage "daemon" {
  run   = "setsid sh -c 'echo $$ >daemon.tmp && mv daemon.tmp daemon.pid && exec sleep 3000' & while ! test -e daemon.pid; do sleep 0.01; done"
  cache = false
}
EOF

test_expect_success SETSID 'a process that left its process group (setsid) is killed at the end of the run' '
	rm -f daemon.pid &&
	test_when_finished "test -s daemon.pid && kill -9 \$(cat daemon.pid) 2>/dev/null; true" &&
	ntflow run daemon.dag --no-tui >out 2>err &&
	cat out err &&
	daemon=$(cat daemon.pid) &&
	grep -x "ntflow: warning: killed 1 process that had left its stage.s process group (setsid): $daemon" err &&
	wait_until "! alive $daemon"
'

test_expect_success 'show says processes are held by process group, without a cgroup' '
	ntflow show >show.txt &&
	grep -x "processes by process group, no cgroup: one that calls setsid outlives its stage.s timeout" show.txt &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.cgroup)" = false
'

write_dag crashd.dag <<\EOF
pipeline "crashd" {}

stage "daemon" {
  run   = "setsid sh -c 'echo $$ >crashd.tmp && mv crashd.tmp crashd.pid && exec sleep 3000' & sleep 3000"
  cache = false
}
EOF

test_expect_success SETSID 'after a crash, the next command kills a process that left its group' '
	ntflow run crashd.dag --no-tui >out 2>&1 &
	pid=$! &&
	test_when_finished "kill -9 $pid 2>/dev/null; test -s crashd.pid && kill -9 \$(cat crashd.pid) 2>/dev/null; true" &&
	wait_for_file crashd.pid &&
	daemon=$(cat crashd.pid) &&
	kill -9 $pid &&
	{ wait $pid; test $? = 137; } &&
	alive $daemon &&
	ntflow runs >runs.out 2>runs.err &&
	cat runs.err &&
	grep -x "ntflow: run [0-9]* had crashed: killed process $daemon, which had left its stage.s process group" runs.err &&
	wait_until "! alive $daemon"
'

test_expect_success 'a run killed once its end is recorded leaves no process record behind' '
	test_expect_code 137 env NTFLOW_FAULT=run-after-end ntflow-test run quick.dag --no-tui >out 2>&1 &&
	ntflow runs --json >runs.json &&
	test "$(json_get runs.json "[0].status")" = succeeded &&
	ntflow run quick.dag --no-tui >out 2>err &&
	cat err &&
	ls -A .ntflow/procs >left &&
	test_must_be_empty left
'

test_done
