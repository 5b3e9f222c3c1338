#!/bin/sh
# t4030-disk-full.sh: a full disk, for real, on a 20 MB tmpfs (needs root to mount it; the
# script is skipped, saying why, where it cannot). A run that fills the disk still writes
# its final state (failed, naming the file system, its log kept); every reading command
# works on the full disk; a run on it is refused, naming the file system; no stage starts
# with less than 1 MB free, nor after the cache's copies of the one before took the room;
# ENOSPC on a cache object names the file system; the database
# meeting the full disk during a run stops it and its final state is still written; and on
# a read-only workspace the reading commands work too.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test "$(id -u)" = 0 || test_skip_all "needs root to mount a 20 MB tmpfs"
MNT=$(mktemp -d "${TMPDIR:-/tmp}/ntflow-full.XXXXXX") || exit 99
if ! mount -t tmpfs -o size=20m,mode=0755 tmpfs "$MNT" 2>/dev/null; then
	rmdir "$MNT"
	test_skip_all "cannot mount a tmpfs here (mount -t tmpfs failed)"
fi
trap 'cd /; umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; rmdir "$MNT" 2>/dev/null; test_cleanup_' EXIT
P=$MNT/proj
T=$TRASH_DIRECTORY   # what the tests write besides the project, off the full disk

# fill_to KB: leaves about KB kilobytes free on the tmpfs (a file $MNT/filler takes the rest).
fill_to() {
	rm -f "$MNT/filler" &&
	avail=$(df -k --output=avail "$MNT" | tail -n 1) &&
	if test "$avail" -gt "$1"; then
		dd if=/dev/zero of="$MNT/filler" bs=1024 count=$((avail - $1)) status=none
	fi
}

# fill_up: no byte left.
fill_up() {
	dd if=/dev/zero of="$MNT/filler2" bs=4096 status=none 2>/dev/null
	test "$(df -k --output=avail "$MNT" | tail -n 1)" -eq 0
}

test_expect_success 'setup: a project on the tmpfs with a stage that fills it' '
	mkdir "$P" && cd "$P" &&
	git init -q -b main . &&
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}

	stage "small" {
	  run     = "mkdir -p build && echo hello >build/small.txt"
	  outputs = ["build/small.txt"]
	}

	stage "fill" {
	  needs   = ["small"]
	  run     = "echo start; dd if=/dev/zero of=build/big bs=65536 2>&1; echo dd ended"
	  outputs = ["build/big"]
	}

	stage "after" {
	  needs = ["fill"]
	  run   = "echo after"
	}
	EOF
	write_dag two.dag <<-\EOF &&
	pipeline "two" {}

	stage "two" {
	  run     = "mkdir -p out2 && head -c 2097152 /dev/urandom >out2/two.bin"
	  outputs = ["out2/two.bin"]
	}
	EOF
	printf "/.ntflow/\n/build/\n/out2/\n" >.gitignore &&
	git add . && git commit -q -m pipeline
'

test_expect_success 'a run that fills the disk ends failed: its final state written, the file system named' '
	cd "$P" &&
	test_expect_code 1 ntflow run p.dag >"$T/out" 2>"$T/err" &&
	# The attempt that ended on the full disk fails, or (when the database met the full disk
	# first) the run stops; either way the file system is named and the run is recorded.
	cat "$T/out" "$T/err" | grep "the file system at $MNT (tmpfs) has [0-9.]* [a-zA-Z]* free of 20 MB" &&
	grep "^\[[0-9]/3\] after \(skipped\|cancelled\)" "$T/out" &&
	grep "^run 1 failed in " "$T/out" &&
	ntflow runs >"$T/runs" 2>"$T/err" &&
	test_must_be_empty "$T/err" &&
	grep -E "^ *1  p .* failed " "$T/runs" &&
	ntflow show 1 --json >"$T/show.json" &&
	test "$(json_get "$T/show.json" .run.status)" = failed &&
	fill=$(stage_field "$T/show.json" fill state) &&
	case $fill in failed|cancelled) ;; *) false ;; esac &&
	test "$(stage_field "$T/show.json" small state)" = succeeded &&
	grep -x start .ntflow/logs/1/fill.1.log &&
	# dd says why it failed; a run stopped by the database first may kill it before it can
	if test "$fill" = failed; then
		grep "No space left on device" .ntflow/logs/1/fill.1.log
	fi
'

test_expect_success 'every reading command works on the full disk' '
	cd "$P" &&
	fill_up &&
	for cmd in runs "runs --json" "show 1" "show 1 --json" "logs 1 fill" "audit verify" "audit show" \
		   "registry list" "cache ls" "why 1 small" alerts doctor; do
		ntflow $cmd >"$T/out" 2>"$T/err" || { echo "ntflow $cmd failed: $(cat "$T/err")"; return 1; }
		test_must_be_empty "$T/err" || return 1
	done &&
	grep "^no problems found$" "$T/out" &&
	ntflow runs >"$T/runs" &&
	grep -E "^ *1  p .* failed " "$T/runs"
'

test_expect_success 'a run on the full disk is refused, naming the file system' '
	cd "$P" &&
	ntflow runs >"$T/before" &&
	test_expect_code 1 ntflow run p.dag >"$T/out" 2>"$T/err" &&
	grep "No space left on device (the file system at $MNT (tmpfs) has 0 bytes free of 20 MB)" "$T/err" &&
	ntflow runs >"$T/after" &&
	test_cmp "$T/before" "$T/after"
'

test_expect_success 'no stage starts with less than 1 MB free (besides the reserve)' '
	cd "$P" &&
	rm -rf build "$MNT/filler2" &&
	fill_to 1536 &&
	test_expect_code 1 ntflow run p.dag >"$T/out" 2>"$T/err" &&
	grep "^\[[12]/3\] [a-z]* failed: not started: the file system at $MNT (tmpfs) has .* free of 20 MB; no stage starts with less than 1 MB free there, so that the run can still be recorded" "$T/out" &&
	ntflow runs >"$T/runs" &&
	grep -E "^ *2  p .* failed " "$T/runs" &&
	test_path_is_missing .ntflow/reserve
'

test_expect_success 'ENOSPC on a cache object names the file system' '
	cd "$P" &&
	fill_to 4096 &&
	test_expect_code 1 ntflow run two.dag >"$T/out" 2>"$T/err" &&
	grep "two failed .*: cannot write '\''$P/.ntflow/cache/objects/tmp/[^'\'']*'\'': No space left on device (the file system at $MNT (tmpfs) has .* free of 20 MB)" "$T/out" &&
	ntflow runs >"$T/runs" &&
	grep -E "^ *3  two .* failed " "$T/runs" &&
	test -z "$(ls .ntflow/cache/objects/tmp)"
'

test_expect_success 'the database meeting the full disk stops the run; the final state is still written' '
	cd "$P" &&
	rm -rf build out2 "$MNT/filler" &&
	# fill fills the disk, then waits (at most 30 s) for the run to stop it; ticker ends
	# once the disk is full, so the run must then write to the database.
	write_dag q.dag <<-\EOF &&
	pipeline "q" {}

	stage "fill" {
	  run     = "mkdir -p build; dd if=/dev/zero of=build/big bs=65536 2>&1; touch build/full; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"
	  outputs = ["build/big"]
	}

	stage "ticker" {
	  run = "while ! test -e build/full; do sleep 0.02; done"
	}
	EOF
	test_expect_code 1 ntflow run q.dag >"$T/out" 2>"$T/err" &&
	grep "^ntflow: run 4: stopped: cannot commit to the state database: '\''$P/.ntflow/state.db'\'': database or disk is full (the file system at $MNT (tmpfs) has [0-9.]* [a-zA-Z]* free of 20 MB)$" "$T/err" &&
	grep "^\[[12]/2\] fill cancelled" "$T/out" &&
	ntflow runs >"$T/runs" &&
	grep -E "^ *4  q .* failed " "$T/runs" &&
	ntflow show 4 --json >"$T/show.json" &&
	test "$(stage_field "$T/show.json" fill state)" = cancelled &&
	test "$(stage_field "$T/show.json" ticker state)" = failed &&
	# the node records went with the batch the database refused: written again with the
	# states, and the run closed with its root
	ntflow audit show --run 4 --json >"$T/audit.json" &&
	/usr/bin/python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
recs = [r for r in d[\"records\"] if r[\"run_id\"] == 4]
kinds = [r[\"kind\"] for r in recs]
nodes = {r[\"payload\"][\"node\"]: r[\"payload\"][\"state\"] for r in recs if r[\"kind\"] == \"node\"}
for r in recs:
    if r[\"kind\"] == \"nodes\":
        nodes.update({n[\"node\"]: n[\"state\"] for n in r[\"payload\"][\"nodes\"]})
assert kinds[0] == \"run-start\" and kinds[-1] == \"run-end\", kinds
assert nodes == {\"fill\": \"cancelled\", \"ticker\": \"failed\"}, nodes
assert 4 in [r[\"run_id\"] for r in d[\"roots\"]], d[\"roots\"]
" "$T/audit.json" &&
	ntflow audit verify
'

# The check before a start may take the reading of the attempt that just ended, but not
# once the cache has stored that attempt's outputs: their copies took room since.
test_expect_success 'a stage whose outputs the cache stored leaves no room: the next does not start' '
	cd "$P" &&
	rm -rf build "$MNT/filler2" &&
	write_dag copy.dag <<-\EOF &&
	pipeline "copy" {}

	stage "big" {
	  run     = "mkdir -p build && head -c 2097152 /dev/zero >build/big2"
	  outputs = ["build/big2"]
	}

	stage "next" {
	  needs = ["big"]
	  run   = "echo next"
	}
	EOF
	fill_to 5632 &&
	test_expect_code 1 ntflow run copy.dag >"$T/out" 2>"$T/err" &&
	grep "^\[1/2\] big succeeded" "$T/out" &&
	grep "^\[2/2\] next failed: not started: the file system at $MNT (tmpfs) has .* free of 20 MB; no stage starts with less than 1 MB free there" "$T/out" &&
	rm -rf build
'

# A stage that waits for a slot is deferred (started by the spawner the moment a running
# one ends, before ntflow hears of that end) only with 1 GB free: here it waits, and its
# own check, after the cache stored the ended stage's outputs, refuses it.
test_expect_success 'a stage waiting for the slot on a nearly full disk is checked right before it starts' '
	cd "$P" &&
	rm -rf build "$MNT/filler2" &&
	write_dag wait.dag <<-\EOF &&
	pipeline "wait" {}

	stage "big" {
	  run     = "mkdir -p build && head -c 2097152 /dev/urandom >build/big3"
	  outputs = ["build/big3"]
	}

	stage "next" {
	  run   = "echo next"
	}
	EOF
	fill_to 5632 &&
	test_expect_code 1 ntflow run -j 1 wait.dag >"$T/out" 2>"$T/err" &&
	grep "^\[1/2\] big succeeded" "$T/out" &&
	grep "^\[2/2\] next failed: not started: the file system at $MNT (tmpfs) has .* free of 20 MB; no stage starts with less than 1 MB free there" "$T/out" &&
	rm -rf build
'

test_expect_success 'prune on a full disk: the logs of the runs it prunes go first, then their rows' '
	rm -f "$MNT/filler" "$MNT/filler2" &&
	mkdir "$MNT/logs" && cd "$MNT/logs" &&
	git init -q -b main . &&
	write_dag talk.dag <<-\EOF &&
	pipeline "talk" {
	  params {
	    n = 1
	  }
	}

	stage "talk" {
	  run = "head -c 1048576 /dev/zero | tr \"\\\\0\" x; echo ${params.n}"
	}
	EOF
	git add talk.dag && git commit -q -m talk &&
	for n in 1 2 3 4; do ntflow run talk.dag -p n=$n >/dev/null 2>&1 || return 1; done &&
	test "$(du -sk .ntflow/logs | cut -f1)" -ge 4000 &&
	fill_to 8 &&
	ntflow prune --keep-runs 1 >"$T/out" 2>"$T/err" &&
	cat "$T/out" "$T/err" &&
	grep "^pruned 3 runs: 3 stage rows and 3 log files (3.0 MB) removed$" "$T/out" &&
	! test -e .ntflow/logs/1 && test -d .ntflow/logs/4 &&
	ntflow audit verify &&
	rm -f "$MNT/filler"
'

# registry verify and a dry-run prune take the workspace lock: they failed with "cannot open
# the workspace lock: Read-only file system", though they only read.
test_expect_success 'a read-only workspace can be read; a run says why it cannot write' '
	cd "$P" &&
	rm -f "$MNT/filler" &&
	mount -o remount,ro "$MNT" &&
	test_when_finished "mount -o remount,rw \"$MNT\"" &&
	for cmd in runs "show 4" "logs 1 fill" "audit verify" "registry list" "registry verify" "prune -n --keep-runs 1" \
		   "cache ls" alerts doctor; do
		ntflow $cmd >/dev/null 2>"$T/err" || { echo "ntflow $cmd failed: $(cat "$T/err")"; return 1; }
		test_must_be_empty "$T/err" || return 1
	done &&
	test_expect_code 1 ntflow run p.dag >/dev/null 2>"$T/err" &&
	grep "Read-only file system" "$T/err"
'

# A full disk while a run places its new model under models/current/: the run failed (as it
# should), yet it had recorded the new version in production while the files served the old
# one (registry verify: bad). The copy is built before anything is recorded now: nothing is
# registered, production and its files stay, and the next run with room registers it.
test_expect_success 'no room to place a new model: the run fails and registers nothing; production stays' '
	rm -rf "$MNT/filler" "$MNT/filler2" "$MNT/reg" "$P" &&   # the last test: the room is its own
	mkdir "$MNT/reg" && cd "$MNT/reg" &&
	git init -q -b main . &&
	write_dag m.dag <<-\EOF &&
	pipeline "m" {
	  params {
	    v = 1
	  }
	}

	stage "train" {
	  run     = "mkdir -p out && { echo model ${params.v}; head -c 2097152 /dev/zero; } >out/m.bin"
	  outputs = ["out/m.bin"]
	}

	gate "g" {
	  needs   = ["train"]
	  require = ["1 >= 0"]
	}

	model "m" {
	  artifact = "out/m.bin"
	  gate     = "g"
	}
	EOF
	printf "out/\nmodels/\n" >.gitignore &&
	git add . && git commit -q -m m &&
	ntflow run m.dag -p v=1 >/dev/null &&
	fill_to 6500 &&
	test_expect_code 1 ntflow run m.dag -p v=2 >"$T/out" 2>"$T/err" &&
	cat "$T/err" &&
	grep "cannot register model m: m cannot be placed in $MNT/reg/models: cannot write .*No space left on device (the file system at $MNT (tmpfs) has .* free of .*); nothing was registered" "$T/err" &&
	ntflow show 2 >"$T/show" &&
	grep "^error     cannot register model m: m cannot be placed in $MNT/reg/models: .*; nothing was registered$" "$T/show" &&
	ntflow registry list m --json >"$T/reg.json" &&
	test "$(json_get "$T/reg.json" "[0].status")" = production &&
	test "$(json_get "$T/reg.json" "[0].version")" = 1 &&
	! json_get "$T/reg.json" "[1].version" 2>/dev/null &&
	test "$(head -n 1 models/current/m/m.bin)" = "model 1" &&
	ntflow registry verify &&
	rm -f "$MNT/filler" &&
	ntflow run m.dag -p v=2 >"$T/out" &&
	grep "m v2 → production" "$T/out" &&
	test "$(head -n 1 models/current/m/m.bin)" = "model 2" &&
	ntflow registry verify &&
	! ls -a models/current | grep -e "\.tmp-"
'

test_done
