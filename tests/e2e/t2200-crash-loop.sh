#!/bin/sh
# t2200-crash-loop.sh: ntflow killed at random moments. A pipeline of 35 nodes (a stage tree
# with fan-out and fan-in, file and folder outputs, a 3 MB output, a stage that fails its first
# attempt and is retried, a matrix with select, a monitor with an alert rule, a metrics file,
# a gate, a registered model and a check that fails for some models, all run with
# --keep-going) runs again and again, mostly with a new model (sometimes an earlier one, so
# cached outputs are restored and an older version returns to production), with 1 to 3
# slots, now and then --at HEAD (in a checkout of its own), now and then after a registry
# rollback. Each run is killed with SIGKILL after a random delay, and now and then the run
# after it too, before anything else recovered the first (so a crash lands in the recovery
# of a crash). After the kills:
#   - the database passes PRAGMA integrity_check (after each kill);
#   - the next command (a reading one) records each killed run as crashed, unless its end
#     was recorded before the kill, and no process of any of them is alive;
#   - cache verify and audit verify are clean;
#   - the next run completes, with the reference's exit status (0, 1 when the check failed,
#     3 when the gate said no); then registry verify is clean, models/current holds the
#     production version's bytes, nothing is left in .ntflow/procs, trash or worktrees, and
#     the outputs and the distinct alerts are those of an uninterrupted run of the same
#     parameters in a clone of its own.
#
# The delays and parameters come from a seeded generator: the seed is printed first, and
# NTFLOW_CRASH_SEED=N replays it (the kills land where the machine's speed puts them, so a
# replay is close, not exact). NTFLOW_CRASH_KILLS=N sets how many kills (default 50).
crash_seed=${NTFLOW_CRASH_SEED-}
crash_kills=${NTFLOW_CRASH_KILLS:-50}
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

case $crash_kills in
''|*[!0-9]*) echo "error: NTFLOW_CRASH_KILLS='$crash_kills' is not a number" >&2; exit 99 ;;
esac
test -n "$crash_seed" || crash_seed=$(date +%s)
case $crash_seed in
*[!0-9]*) echo "error: NTFLOW_CRASH_SEED='$crash_seed' is not a number" >&2; exit 99 ;;
esac
command -v sqlite3 >/dev/null 2>&1 || test_skip_all 'no sqlite3 (PRAGMA integrity_check)'
say_ "# crash loop: seed $crash_seed, $crash_kills kills (replay: NTFLOW_CRASH_SEED=$crash_seed)"

# ---- the generator: an LCG mod 2^31 (fits the shell's 64-bit arithmetic), its state in a
# file because each test body runs in a subshell ----
echo "$crash_seed" >"$TRASH_DIRECTORY/.seed"
# rand N: a number in [0, N).
rand() {
	s=$(cat "$TRASH_DIRECTORY/.seed")
	s=$(( (s * 1103515245 + 12345) % 2147483648 ))
	echo "$s" >"$TRASH_DIRECTORY/.seed"
	echo $(( (s / 65536) % $1 ))
}

# now_ms: the time in milliseconds.
now_ms() { date +%s%3N; }

# ---- the pipeline: 32 stages (tune has two instances), a monitor, a gate and a model ----
# src -> shard0,2,4,6 (its rows), bulk (a 3 MB file), flaky (fails its first attempt) and
# drift (a monitor); static0-5 (never change: cached after the first run) -> shard1,3,5,7;
# shardN -> featN (a folder); feat* -> merge -> tune (a matrix) -> train -> evaluate
# (metrics) -> promote (gate) -> publish; evaluate -> check (fails when v % 7 = 3: the run
# failed, so its model is held back); evaluate + static5 -> report. Only src, bulk, flaky,
# drift, tune and what follows see the parameter v.
gen_dag() {
	cat <<-\EOF
	pipeline "crash" {
	  concurrency = 2
	  params {
	    v   = 0
	    acc = 0.9
	  }
	}

	stage "src" {
	  run     = "mkdir -p build/src && { echo v=${params.v}; seq 1 64; } >build/src/data.txt"
	  outputs = ["build/src/data.txt"]
	}

	stage "bulk" {
	  needs   = ["src"]
	  run     = "mkdir -p build/bulk && { head -n 1 build/src/data.txt; seq 1 450000; } >build/bulk/data.txt"
	  outputs = ["build/bulk/data.txt"]
	}

	stage "flaky" {
	  needs   = ["src"]
	  retries = 1
	  backoff = "10ms"
	  run     = "mkdir -p build/flaky && echo attempt $NTFLOW_ATTEMPT >build/flaky/out.txt && test $NTFLOW_ATTEMPT = 2 && head -n 1 build/src/data.txt >>build/flaky/out.txt"
	  outputs = ["build/flaky/"]
	}

	monitor "drift" {
	  needs   = ["src"]
	  run     = "v=${params.v} && mkdir -p build/drift && echo {\\\"psi\\\": 0.$(( v % 5 ))} >build/drift/psi.json"
	  outputs = ["build/drift/"]
	  metrics = "build/drift/psi.json"
	  alert "shift" {
	    when     = "psi > 0.25"
	    severity = "high"
	  }
	}
	EOF
	for i in 0 1 2 3 4 5; do
		cat <<-EOF

		stage "static$i" {
		  run     = "sleep 0.0$i && mkdir -p build/static/s$i && echo static $i >build/static/s$i/a.txt && seq $i 9 >build/static/s$i/b.txt"
		  outputs = ["build/static/s$i/"]
		}
		EOF
	done
	for i in 0 1 2 3 4 5 6 7; do
		if test $((i % 2)) = 0; then
			up=src in=build/src/data.txt
		else
			up=static$((i % 6)) in=build/static/s$((i % 6))/b.txt
		fi
		cat <<-EOF

		stage "shard$i" {
		  needs   = ["$up"]
		  run     = "mkdir -p build/shard && awk 'NR % 8 == $i' $in >build/shard/$i.txt && sleep 0.0$i"
		  outputs = ["build/shard/$i.txt"]
		}

		stage "feat$i" {
		  needs   = ["shard$i"]
		  run     = "mkdir -p build/feat/$i && wc -l <build/shard/$i.txt >build/feat/$i/lines && cksum <build/shard/$i.txt >build/feat/$i/sum"
		  outputs = ["build/feat/$i/"]
		}
		EOF
	done
	cat <<-\EOF

	stage "merge" {
	  needs   = ["feat0", "feat1", "feat2", "feat3", "feat4", "feat5", "feat6", "feat7"]
	  run     = "cat build/feat/*/sum >build/merged.txt"
	  outputs = ["build/merged.txt"]
	}

	stage "tune" {
	  needs   = ["merge"]
	  matrix {
	    lr = [1, 2]
	  }
	  run     = "v=${params.v} lr=${matrix.lr} && mkdir -p build/tune/${matrix.id} && echo {\\\"score\\\": $(( v % 3 * lr % 3 ))} >build/tune/${matrix.id}/m.json"
	  outputs = ["build/tune/${matrix.id}/"]
	  metrics = "build/tune/${matrix.id}/m.json"
	  select  = "max(score)"
	}

	stage "train" {
	  needs   = ["tune"]
	  run     = "mkdir -p build/model && sleep 0.05 && { echo model v=${params.v} lr=${stages.tune.best.lr}; cat build/merged.txt; } >build/model/model.txt"
	  outputs = ["build/model/model.txt"]
	}

	stage "evaluate" {
	  needs   = ["train"]
	  run     = "mkdir -p build/eval && echo '{\"accuracy\": ${params.acc}, \"v\": ${params.v}}' >build/eval/metrics.json"
	  outputs = ["build/eval/"]
	  metrics = "build/eval/metrics.json"
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["accuracy >= 0.85"]
	}

	model "clf" {
	  artifact = "build/model/model.txt"
	  metrics  = "build/eval/metrics.json"
	  gate     = "promote"
	}

	stage "report" {
	  needs   = ["evaluate", "static5"]
	  run     = "cat build/eval/metrics.json build/static/s5/a.txt >build/report.txt && sleep 0.02"
	  outputs = ["build/report.txt"]
	}

	stage "check" {
	  needs   = ["evaluate"]
	  run     = "v=${params.v} && test $(( v % 7 )) != 3"
	}

	stage "publish" {
	  needs   = ["promote", "train"]
	  run     = "mkdir -p build/pub && cp build/model/model.txt build/pub/model.txt && sleep 0.02"
	  outputs = ["build/pub/"]
	}
	EOF
}

# ---- what is compared and checked ----

# outputs_of DIR: every path under DIR's build/ and models/current/, and each file's sha256.
outputs_of() {
	(
		cd "$1" &&
		find build models/current -print | LC_ALL=C sort &&
		find build models/current -type f -exec sha256sum {} + | LC_ALL=C sort -k 2
	)
}

# alerts_of DIR: the distinct alerts of DIR's workspace (monitor, rule, severity, data).
alerts_of() {
	(cd "$1" && ntflow alerts --json) >alerts.json &&
	/usr/bin/python3 -c '
import json
for a in sorted(json.load(open("alerts.json")), key=lambda a: a["id"]):
    print(a["monitor"], a["rule"], a["severity"], a["data_key"])
'
}

# last_run: the id of the newest run in runs.json.
last_run() {
	/usr/bin/python3 -c '
import json
print(max([r["id"] for r in json.load(open("runs.json"))] or [0]))
'
}

# runs_after ID: "ID STATUS" for each run in runs.json newer than ID.
runs_after() {
	/usr/bin/python3 -c '
import json, sys
for r in sorted(json.load(open("runs.json")), key=lambda r: r["id"]):
    if r["id"] > int(sys.argv[1]):
        print(r["id"], r["status"])
' "$1"
}

# mark_of PID: the NTFLOW_RUNNER mark of the ntflow process PID (its pid and start time),
# which every process it starts carries in its environment.
mark_of() {
	echo "$1.$(sed 's/.*) //' "/proc/$1/stat" | cut -d " " -f 20)"
}

# marked MARK: the live processes whose environment holds NTFLOW_RUNNER=MARK (a zombie's
# environment reads empty).
marked() {
	grep -lsaz "^NTFLOW_RUNNER=$1\$" /proc/[0-9]*/environ | sed 's|^/proc/\([0-9]*\)/environ$|\1|'
}

# in_groups FILE: the live processes in the process groups FILE lists (one pgid a line)
# that run in this test's trash directory (so not another test's reusing a number).
in_groups() {
	for p_ in $(ps -eo pid=,pgid=,stat= |
		awk 'NR == FNR { g[$1] = 1; next } ($2 in g) && $3 !~ /^Z/ { print $1 }' "$1" -); do
		case $(readlink "/proc/$p_/cwd" 2>/dev/null) in
		"$TRASH_DIRECTORY"|"$TRASH_DIRECTORY"/*) echo "$p_" ;;
		esac
	done
}

# nothing_alive: no process of the killed ntflow processes (their marks in marks) is alive.
nothing_alive() {
	for m in $(cat marks); do
		test -z "$(marked $m)" || return 1
	done
	test -z "$(in_groups groups)"
}

# current_matches: models/current/clf holds the bytes of the production version of clf, and
# nothing else (no temporary or set-aside copy).
current_matches() {
	ntflow registry list clf --json >reg.json &&
	/usr/bin/python3 -c '
import hashlib, json, os, sys
prod = [v for v in json.load(open("reg.json")) if v["status"] == "production"]
if len(prod) != 1:
    sys.exit("%d versions in production" % len(prod))
if sorted(os.listdir("models/current")) != ["clf"]:
    sys.exit("models/current holds %s" % sorted(os.listdir("models/current")))
if sorted(os.listdir("models/current/clf")) != ["model.txt"]:
    sys.exit("models/current/clf holds %s" % sorted(os.listdir("models/current/clf")))
sha = hashlib.sha256(open("models/current/clf/model.txt", "rb").read()).hexdigest()
if sha != prod[0]["sha256"]:
    sys.exit("models/current/clf/model.txt has sha256 %s, production v%d %s" % (sha, prod[0]["version"], prod[0]["sha256"]))
'
}

# test_must_be_empty_dir DIR: DIR is a folder with nothing in it.
test_must_be_empty_dir() {
	test_path_is_dir "$1" || return 1
	if test -n "$(ls -A "$1")"; then
		echo "$1 is not empty:" >&2
		ls -lA "$1" >&2
		return 1
	fi
}

# ---- one iteration ----

# killed_run: runs the pipeline with $v and $acc and kills ntflow after a random delay of
# up to $took ms (one time in four in the last fifth, where the gate, the registry and the
# end of the run are); then checks the database. Counts the kill in $kills.
killed_run() {
	if test "$(rand 4)" = 0; then
		delay=$((took * 4 / 5 + $(rand $((took / 5 + 1)))))
	else
		delay=$(rand $((took + 1)))
	fi
	at=
	test "$(rand 5)" = 0 && at="--at HEAD"   # in a checkout of its own
	ntflow run p.dag --no-tui -k $at -j $(($(rand 3) + 1)) -p v=$v -p acc=$acc >run.out 2>&1 &
	pid=$!
	mark_of $pid >>marks   # a zombie at the least until the wait below
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -9 $pid 2>/dev/null
	wait $pid
	rc=$?
	# the process groups the run recorded, before recovery removes the record
	for f in .ntflow/procs/*; do
		test -f "$f" && awk '{ print $1 }' "$f" >>groups
	done
	if test $rc = 137; then
		kills=$((kills + 1))
		echo "kill $kills (v=$v acc=$acc${at:+ $at}): after ${delay}ms of ${took}ms, at: $(tail -n 1 run.out)"
	else
		echo "no kill (v=$v acc=$acc${at:+ $at}): the run ended before ${delay}ms (exit $rc)"
		test $rc = $ref_exit || { cat run.out; return 1; }
	fi
	sqlite3 .ntflow/state.db "PRAGMA integrity_check" >integrity &&
	echo ok >expect &&
	test_cmp expect integrity
}

# one_iteration: the reference run with this iteration's parameters, then the same run here,
# killed (and, one time in four, the run after it too: up to three), then the checks.
one_iteration() {
	if test $n -gt 3 && test "$(rand 4)" = 0; then
		v=$(( $(rand $((n - 1))) + 1 ))   # an earlier model
	else
		v=$n
	fi
	if test "$(rand 3)" = 0; then
		acc=0.8 ref_exit=3 ref_status=gated
	else
		acc=0.9 ref_exit=0 ref_status=succeeded
	fi
	if test $((v % 7)) = 3; then
		ref_exit=1 ref_status=failed   # check fails: the model is held back
	fi
	t0=$(now_ms) &&
	(cd ref && test_expect_code $ref_exit ntflow run p.dag --no-tui -k -p v=$v -p acc=$acc >../ref.out 2>&1) ||
	{ cat ref.out; return 1; }
	took=$(( $(now_ms) - t0 ))
	ntflow runs --json >runs.json &&
	before=$(last_run) &&
	: >marks && : >groups || return 1
	killed_run || return 1
	chain=0
	while test $chain -lt 2 && test "$(rand 4)" = 0; do
		chain=$((chain + 1))
		killed_run || return 1
	done

	# the next command (one that reads) records each killed run as crashed
	ntflow runs --json >runs.json 2>runs.err || { cat runs.err; return 1; }
	cat runs.err
	runs_after $before >after
	while read -r id status; do
		case $status in
		crashed) ;;
		$ref_status) echo "  run $id ended before it was killed" ;;
		*) echo "run $id is $status, not crashed"; return 1 ;;
		esac
	done <after
	# no process of them is alive
	wait_until nothing_alive 50 || {
		for m in $(cat marks); do echo "alive with the mark $m: $(marked $m)"; done
		echo "alive in a recorded group: $(in_groups groups)"
		ps -eo pid,pgid,stat,args | grep -v "ps -eo"
		return 1
	}
	# the cache and the audit chain are whole
	ntflow cache verify >verify.out 2>&1 || { cat verify.out; return 1; }
	ntflow audit verify >verify.out 2>&1 || { cat verify.out; return 1; }

	# the next run completes, with the outputs of the uninterrupted run
	test_expect_code $ref_exit ntflow run p.dag --no-tui -k -p v=$v -p acc=$acc >next.out 2>&1 ||
	{ cat next.out; return 1; }
	grep "^ntflow: warning" next.out
	ntflow registry verify >verify.out 2>&1 || { cat verify.out; return 1; }
	current_matches || return 1
	test_must_be_empty_dir .ntflow/procs || return 1
	test_path_is_missing .ntflow/trash || { find .ntflow/trash; return 1; }
	test_path_is_missing .ntflow/worktrees || { ls -A .ntflow/worktrees; return 1; }
	ntflow audit verify >verify.out 2>&1 || { cat verify.out; return 1; }
	outputs_of . >actual &&
	outputs_of ref >expect &&
	test_cmp expect actual &&
	alerts_of . >actual &&
	alerts_of ref >expect &&
	test_cmp expect actual || return 1

	# now and then a person's rollback, here and in the reference (a decision that stands
	# until a model with other bytes passes the gate)
	if test "$(rand 8)" = 0; then
		ntflow registry rollback clf --reason "crash loop" >rollback.out 2>&1
		rb=$?
		(cd ref && ntflow registry rollback clf --reason "crash loop") >rollback.ref 2>&1
		test $rb = $? || { cat rollback.out rollback.ref; return 1; }
		echo "  rollback: $(cat rollback.out)"
	fi
}

test_expect_success 'setup: the pipeline, run once here and in a clone for the uninterrupted runs' '
	gen_dag >p.dag &&
	ntflow validate p.dag &&
	printf "/.ntflow/\n/build/\n/models/\n" >.gitignore &&
	git add p.dag .gitignore &&
	git commit -q -m pipeline &&
	git clone -q . ref &&
	printf "/ref/\n" >>.git/info/exclude &&
	ntflow run p.dag --no-tui >out &&
	(cd ref && ntflow run p.dag --no-tui >out)
'

test_expect_success "$crash_kills kills, each followed by the checks" '
	start=$(now_ms) &&
	kills=0 n=0 &&
	while test $kills -lt $crash_kills; do
		n=$((n + 1))
		if test $n -gt $((crash_kills * 2)); then
			echo "only $kills kills in $n iterations: the runs ended before the kills"
			return 1
		fi
		one_iteration || {
			echo "failed in iteration $n: replay with NTFLOW_CRASH_SEED=$crash_seed"
			return 1
		}
	done &&
	echo "$kills kills in $n iterations, $(( ($(now_ms) - start) / 1000 ))s" >summary &&
	cat summary
'
test -f summary && say_ "# $(cat summary)"

test_done
