# tests/e2e/lib-slurm.sh: the Slurm executor's tests (t91xx-slurm-*.sh), sourced after
# lib.sh and lib-run.sh: a private single-node cluster of this script's own
# (tests/slurm/cluster.sh, in a folder of its own, with free ports, so two test files may
# run at once), stopped when the script exits, and an sbatch on PATH that logs each call.
#	slurm_start            start the cluster, or skip the whole script (exit 77) saying why
#	sbatch_calls           how many times sbatch was called so far
#	squeue_names           the job names the cluster knows in a live state

slurm_dir_=
slurm_stop_() {
	test -n "$slurm_dir_" && "$NTFLOW_SRC_DIR/tests/slurm/cluster.sh" stop "$slurm_dir_" >/dev/null 2>&1
	test -n "$slurm_dir_" && rm -rf "$slurm_dir_"
	test_cleanup_
}

slurm_start() {
	slurm_dir_=$(mktemp -d "${TMPDIR:-/tmp}/ntflow-slurm.$this_test.XXXXXX") ||
		test_skip_all "skipped: cannot make a folder for the Slurm cluster"
	trap 'slurm_stop_' EXIT
	if ! out=$("$NTFLOW_SRC_DIR/tests/slurm/cluster.sh" start "$slurm_dir_" 2>&1); then
		# Whatever it started goes, before its folder does.
		"$NTFLOW_SRC_DIR/tests/slurm/cluster.sh" stop "$slurm_dir_" >/dev/null 2>&1
		rm -rf "$slurm_dir_"
		slurm_dir_=
		why=$(printf '%s\n' "$out" | grep '^skipped:' | sed 's/^skipped: //' | tail -1)
		test -n "$why" || why="tests/slurm/cluster.sh start failed: $(printf '%s\n' "$out" | tail -3 | tr '\n' ' ')"
		test_skip_all "skipped: no Slurm cluster: $why"
	fi
	SLURM_CONF=$slurm_dir_/slurm.conf
	export SLURM_CONF
	# sbatch through a wrapper that logs each call, so tests count submissions.
	real_sbatch=$(command -v sbatch) || test_skip_all "skipped: no sbatch"
	mkdir -p "$TRASH_DIRECTORY/.bin"
	cat >"$TRASH_DIRECTORY/.bin/sbatch" <<WRAP
#!/bin/sh
echo "\$*" >>"$TRASH_DIRECTORY/.sbatch-calls"
exec "$real_sbatch" "\$@"
WRAP
	chmod +x "$TRASH_DIRECTORY/.bin/sbatch"
	PATH=$TRASH_DIRECTORY/.bin:$PATH
	export PATH
	: >"$TRASH_DIRECTORY/.sbatch-calls"
	printf '.bin/\n.sbatch-calls\n.ntflow/\nbuild/\n' >"$TRASH_DIRECTORY/.gitignore"
}

sbatch_calls() { wc -l <"$TRASH_DIRECTORY/.sbatch-calls" | tr -d ' '; }

squeue_names() { squeue -h -t pending,running,configuring,completing -o '%j'; }
