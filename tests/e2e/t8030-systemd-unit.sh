#!/bin/sh
# t8030-systemd-unit.sh: examples/systemd/ntflow-scheduler.service runs `ntflow scheduler` on
# a project's dags/ as a user service, restarted on failure, stopped by a SIGTERM to the
# scheduler alone with time for the running runs to finish; says how to install it; and
# systemd-analyze verify finds nothing wrong in it (skipped when systemd-analyze is missing).
. "$(dirname "$0")/lib.sh"

unit=$NTFLOW_SRC_DIR/examples/systemd/ntflow-scheduler.service
command -v systemd-analyze >/dev/null 2>&1 && test_set_prereq SYSTEMD_ANALYZE ||
	say_ "# systemd-analyze is missing: the unit is checked without it"

# key SECTION NAME: the value of NAME= in [SECTION] (the last one, as systemd reads it).
key() {
	awk -v section="[$1]" -v name="$2" '
		/^\[/ { in_section = $0 == section; next }
		in_section && index($0, name "=") == 1 { value = substr($0, length(name) + 2) }
		END { if (value == "") exit 1; print value }' "$unit"
}

test_expect_success 'ExecStart runs ntflow scheduler on dags/, from the project root' '
	exec_start=$(key Service ExecStart) &&
	set -f && set -- $exec_start && set +f &&
	case $1 in /*) ;; *) echo "not absolute: $1"; false ;; esac &&
	test "${1##*/}" = ntflow &&
	test "$2" = scheduler &&
	test "$3" = dags/ &&
	test $# = 3 &&
	key Service WorkingDirectory | grep "^%h/"
'

test_expect_success 'restarted on failure; SIGTERM to the scheduler alone, with hours to let runs finish' '
	test "$(key Service Restart)" = on-failure &&
	test "$(key Service KillMode)" = mixed &&
	test "$(key Service KillSignal)" = SIGTERM &&
	timeout=$(key Service TimeoutStopSec) &&
	case $timeout in *h) test "${timeout%h}" -ge 1 ;; *) echo "TimeoutStopSec=$timeout: not hours"; false ;; esac &&
	key Service ExecReload | grep -- "-HUP \$MAINPID" &&
	test "$(key Install WantedBy)" = default.target
'

test_expect_success 'its comments say how to install it' '
	grep "^#.*~/.config/systemd/user/" "$unit" &&
	grep "^#.*systemctl --user enable --now ntflow-scheduler.service" "$unit" &&
	grep "^#.*loginctl enable-linger" "$unit" &&
	grep "^#.*journalctl --user -u ntflow-scheduler" "$unit"
'

# verify UNIT: systemd-analyze verify as the user manager would load UNIT, quiet when
# all is well (its warnings go to stderr, with status 0).
verify() {
	mkdir -p runtime home &&
	XDG_RUNTIME_DIR=$PWD/runtime HOME=$PWD/home \
		systemd-analyze --user verify --man=no "$1" >verify.out 2>&1
	rc=$?
	cat verify.out
	test $rc = 0 && test_must_be_empty verify.out
}

test_expect_success SYSTEMD_ANALYZE 'systemd-analyze verify: no error, no warning (ExecStart on the built ntflow)' '
	sed "s|^ExecStart=[^ ]*|ExecStart=$NTFLOW_BUILD_DIR/ntflow|" "$unit" >ntflow-scheduler.service &&
	grep "^ExecStart=$NTFLOW_BUILD_DIR/ntflow scheduler dags/$" ntflow-scheduler.service &&
	verify ntflow-scheduler.service &&
	# the check catches a mistake: an unknown key, a missing program
	sed "s/^KillMode=/KilMode=/" ntflow-scheduler.service >typo.service &&
	! verify typo.service &&
	grep "Unknown key .KilMode." verify.out &&
	sed "s|^ExecStart=[^ ]*|ExecStart=$PWD/missing/ntflow|" "$unit" >missing.service &&
	! verify missing.service &&
	grep "missing/ntflow is not executable" verify.out
'

test_done
