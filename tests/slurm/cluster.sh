#!/bin/sh
# tests/slurm/cluster.sh: a private single-node Slurm cluster on localhost for the Slurm
# executor's tests (tests/e2e/t9xxx-slurm*.sh), started by hand (no systemd) and stopped by
# the PIDs it started.
#
#	cluster.sh start DIR    install the packages when missing (root), start munged,
#	                        slurmctld and slurmd with DIR as their state, wait for an idle
#	                        node, then print "SLURM_CONF=DIR/slurm.conf"; exit 77 with
#	                        "skipped: REASON" on stderr when it cannot (not root, packages
#	                        not installable, a daemon that does not come up)
#	cluster.sh stop DIR     stop the daemons this DIR's start started (by their PIDs)
#	cluster.sh status DIR   "up" (exit 0) or "down" (exit 1)
#
# Everything is private to DIR: its own munge key and socket (munged --socket, slurm.conf
# AuthInfo=socket=...), ports chosen free at start, its own spool and state. Two clusters in
# two DIRs never meet, so two test files may run at once (make check -j2).
set -u

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }

skip() { echo "skipped: $*" >&2; exit 77; }

# A TCP port nobody listens on (from /proc/net/tcp*), above 20000, not in $1.
free_port() {
	used=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 { split($2, a, ":"); print a[2] }')
	while :; do
		p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 30000) + 20000 ))
		hex=$(printf '%04X' "$p")
		case " $used $1 " in *" $hex "*|*" $p "*) continue ;; esac
		echo "$p"
		return
	done
}

install_packages() {
	missing=
	for b in munged slurmctld slurmd sbatch; do
		command -v "$b" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$b" >/dev/null 2>&1 || missing=t
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || skip "Slurm is not installed and installing it needs root"
	command -v apt-get >/dev/null 2>&1 || skip "Slurm is not installed and there is no apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		slurmctld slurmd slurm-client munge >"$dir/apt.log" 2>&1 ||
		skip "cannot install slurmctld slurmd slurm-client munge (see $dir/apt.log)"
}

# Waits up to $2 tenths of a second for command $1 to succeed.
wait_for() {
	i=0
	while ! eval "$1" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge "$2" ] && return 1
		sleep 0.1
	done
}

# Stops the daemons named in DIR/pids (their PIDs, as start wrote them), newest first.
stop() {
	[ -f "$dir/pids" ] || return 0
	# Jobs first, so no slurmstepd outlives its slurmd (when the controller still runs).
	ctld=$(awk '/^slurmctld /{ print $2 }' "$dir/pids")
	[ -n "$ctld" ] && kill -0 "$ctld" 2>/dev/null &&
		SLURM_CONF="$dir/slurm.conf" scancel --quiet --user="$(id -un)" 2>/dev/null &&
		wait_for "test -z \"\$(SLURM_CONF='$dir/slurm.conf' squeue -h -t running,completing 2>/dev/null)\"" 100
	for pid in $(tac "$dir/pids" 2>/dev/null | awk '{ print $2 }'); do
		kill "$pid" 2>/dev/null
	done
	for pid in $(awk '{ print $2 }' "$dir/pids"); do
		wait_for "! kill -0 $pid" 50 || kill -9 "$pid" 2>/dev/null
	done
	rm -f "$dir/pids"
}

start() {
	PATH=$PATH:/usr/sbin:/sbin
	export PATH
	[ "$(id -u)" = 0 ] || skip "a private Slurm cluster needs root (slurmd runs jobs as their user)"
	mkdir -p "$dir" || skip "cannot create $dir"
	dir=$(cd "$dir" && pwd -P)
	install_packages
	host=$(hostname -s 2>/dev/null || hostname)
	[ -n "$host" ] || skip "no host name"
	# slurmctld and slurmd find each other by the short host name.
	getent hosts "$host" >/dev/null 2>&1 || skip "host name '$host' does not resolve (add it to /etc/hosts)"
	stop
	mkdir -p "$dir/sock" "$dir/ctld" "$dir/spool" "$dir/log"
	# munged wants every folder up to its socket searchable by all and the key private.
	chmod 711 "$dir"
	chmod 755 "$dir/sock"
	rm -f "$dir/munge.key"
	mungekey --create --keyfile="$dir/munge.key" >/dev/null 2>&1 ||
		dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 2>/dev/null
	chmod 600 "$dir/munge.key"
	: >"$dir/pids"
	# A start that fails halfway (a skip, a signal) leaves no daemon behind.
	trap 'rc=$?; [ $rc = 0 ] || stop; exit $rc' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	munged --socket="$dir/sock/munge.sock" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
		--log-file="$dir/log/munged.log" --seed-file="$dir/munged.seed" >"$dir/log/munged.out" 2>&1 ||
		skip "munged does not start: $(tail -1 "$dir/log/munged.out")"
	wait_for "test -s '$dir/munged.pid'" 50 || skip "munged wrote no pid file"
	echo "munged $(cat "$dir/munged.pid")" >>"$dir/pids"
	export SLURM_CONF="$dir/slurm.conf"
	# Ports are chosen free, but another cluster starting at the same moment may take one
	# first: a daemon that dies is started again on other ports, at most 3 times.
	for attempt in 1 2 3; do
		if daemons; then
			trap - EXIT TERM INT
			echo "SLURM_CONF=$dir/slurm.conf"
			return 0
		fi
	done
	why=$(tail -2 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" 2>/dev/null | tr '\n' ' ')
	stop
	skip "the Slurm node did not become idle (3 tries of 30 s): $why"
}

# Whether process $1 runs: a child of ours that exited stays a zombie until waited for, and
# kill -0 still reaches that.
alive() {
	case $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) in
	''|Z|X) return 1 ;;
	esac
	return 0
}

# Writes slurm.conf with two free ports, starts slurmctld and slurmd and waits up to 30 s for
# the node to be idle; each probe is bounded (a sinfo that reaches no controller retries for
# a long time) and a daemon that died ends the wait at once. 1 when it failed (the two
# daemons are stopped then).
daemons() {
	ctld_port=$(free_port "")
	d_port=$(free_port "$ctld_port")
	cat >"$dir/slurm.conf" <<EOF
# A private single-node cluster for ntflow's tests (tests/slurm/cluster.sh).
ClusterName=ntflowtest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/sock/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# The node advertises more CPUs than the machine has, so several jobs run at once.
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Without accounting, sacct -c reads finished jobs from this completion log.
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
MinJobAge=300
KillWait=5
InactiveLimit=0
ReturnToService=2
MpiDefault=none
# About 1 s from submission to start instead of about 3 s.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
DependencyParameters=kill_invalid_depend
NodeName=$host CPUs=64 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
	# -D: in the foreground, so the PID we start is the daemon's; setsid + stdin closed so
	# that it outlives this script and no test's terminal.
	setsid slurmctld -D -i </dev/null >"$dir/log/slurmctld.out" 2>&1 &
	ctld=$!
	echo "slurmctld $ctld" >>"$dir/pids"
	setsid slurmd -D -N "$host" </dev/null >"$dir/log/slurmd.out" 2>&1 &
	sd=$!
	echo "slurmd $sd" >>"$dir/pids"
	end=$(( $(date +%s) + 30 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		alive "$ctld" && alive "$sd" || break
		timeout 5 sinfo -h -o %T 2>/dev/null | grep -q idle && return 0
		sleep 0.2
	done
	for pid in $sd $ctld; do
		kill "$pid" 2>/dev/null
		wait_for "! alive $pid" 50 || kill -9 "$pid" 2>/dev/null
	done
	grep -v "^slurm" "$dir/pids" >"$dir/pids.tmp"; mv "$dir/pids.tmp" "$dir/pids"
	return 1
}

case $cmd in
start) start ;;
stop) stop ;;
status)
	SLURM_CONF="$dir/slurm.conf" sinfo -h -o %T 2>/dev/null | grep -q idle && { echo up; exit 0; }
	echo down
	exit 1 ;;
*) echo "usage: $0 start|stop|status DIR" >&2; exit 2 ;;
esac
