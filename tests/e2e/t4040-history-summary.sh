#!/bin/sh
# t4040-history-summary.sh: `runs` and `show --perf` read a run's summary row and the
# nodes_perf index instead of scanning every earlier run (schema step 13), and say the same
# as the scan did: on a workspace of ten runs of two pipelines sharing stage names, with a
# cached and a failed run, each run's node counts and each node's history (the newest 5
# earlier runs of its pipeline where it succeeded without the cache) are checked against
# what `show --json` of every run says; `runs` prints the same with the summaries taken
# out of the rows (so read as they used to be: counted); a workspace whose database is of
# the schema before (its summaries absent) is migrated and prints the same.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 && test_set_prereq SQLITE3

for p in p q; do
	write_dag $p.dag <<-EOF
	pipeline "$p" {
	  params {
	    fail = 0
	  }
	}

	stage "a" {
	  run   = "i=0; while [ \$i -lt 300 ]; do i=\$((i + 1)); done"
	  cache = true
	}

	stage "b" {
	  needs = ["a"]
	  run   = "test \${params.fail} = 0"
	  cache = true
	}
	EOF
done

test_expect_success 'ten runs: p and q measured, p cached, p with b failing' '
	for i in 1 2 3; do ntflow run p.dag --no-tui --no-cache >/dev/null || return 1; done &&
	for i in 4 5; do ntflow run q.dag --no-tui --no-cache >/dev/null || return 1; done &&
	ntflow run p.dag --no-tui >/dev/null &&
	test_expect_code 1 ntflow run p.dag --no-tui --no-cache -p fail=1 >/dev/null &&
	for i in 8 9 10; do ntflow run p.dag --no-tui --no-cache >/dev/null || return 1; done &&
	ntflow runs --limit 1 >out &&
	grep -E "^10 +p +manual" out
'

# check_history: every run's counts in `runs --json` and every node's history and median in
# `show RUN --perf --json`, against the scan of `show --json` of all runs done here.
check_history() {
	/usr/bin/python3 - <<-\PY
	import json, statistics, subprocess
	def out(*args):
	    return json.loads(subprocess.check_output(["ntflow"] + list(args)))
	runs = {r["id"]: r for r in out("runs", "--json")}
	assert sorted(runs) == list(range(1, 11)), sorted(runs)
	shows = {i: out("show", str(i), "--json") for i in runs}
	done_states = {"succeeded", "cached", "failed", "timed-out", "skipped", "cancelled", "rejected"}
	for i, r in runs.items():
	    st = shows[i]["stages"]
	    assert r["nodes"] == len(st), (i, r)
	    assert r["done"] == sum(s["state"] in done_states for s in st), (i, r)
	    perf = out("show", str(i), "--perf", "--json")["perf"]
	    assert [p["node"] for p in perf] == [s["name"] for s in st], (i, perf)
	    for p in perf:
	        hist = [shows[j] for j in sorted(runs, reverse=True) if j < i and
	                runs[j]["pipeline"] == r["pipeline"]]
	        walls = [s["wall_ms"] for sh in hist for s in sh["stages"]
	                 if s["name"] == p["node"] and s["state"] == "succeeded" and not s["cached"]][:5]
	        assert p["history"] == len(walls), (i, p, walls)
	        if walls:
	            assert p["median_wall_ms"] == statistics.median(walls), (i, p, walls)
	        else:
	            assert p["median_wall_ms"] is None, (i, p)
	# the cases the workspace is made of, so the check covers them
	assert runs[6]["status"] == "succeeded" and all(s["cached"] for s in shows[6]["stages"])
	assert runs[7]["status"] == "failed"
	# run 8: a measured in runs 7, 3, 2, 1 (7 failed in b only); b in 3, 2, 1 (failed in 7)
	assert [p["history"] for p in out("show", "8", "--perf", "--json")["perf"]] == [4, 3]
	assert [p["history"] for p in out("show", "10", "--perf", "--json")["perf"]] == [5, 5]
	assert [p["history"] for p in out("show", "5", "--perf", "--json")["perf"]] == [1, 1]
	PY
}

test_expect_success 'runs and show --perf agree with a scan of every run' '
	check_history
'

test_expect_success SQLITE3 'each ended run has its summary; counted instead, runs prints the same' '
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM runs WHERE nodes_total = 2 AND nodes_done = 2")" = 10 &&
	ntflow runs >before &&
	ntflow runs --json >before.json &&
	ntflow show 7 >show.before &&
	sqlite3 .ntflow/state.db "UPDATE runs SET nodes_total = NULL, nodes_done = NULL" &&
	ntflow runs >after &&
	ntflow runs --json >after.json &&
	ntflow show 7 >show.after &&
	test_cmp before after &&
	test_cmp before.json after.json &&
	test_cmp show.before show.after
'

test_expect_success SQLITE3 'a workspace of the schema before is migrated: summaries backfilled, same output' '
	sqlite3 .ntflow/state.db "DROP TABLE slurm_jobs; DROP INDEX nodes_perf; ALTER TABLE runs DROP COLUMN nodes_total;
		ALTER TABLE runs DROP COLUMN nodes_done; ALTER TABLE nodes DROP COLUMN miss_prev_run;
		ALTER TABLE runs DROP COLUMN cohort; ALTER TABLE runs DROP COLUMN risk_score;
		ALTER TABLE runs DROP COLUMN risk_tier; ALTER TABLE model_versions DROP COLUMN cohort;
		PRAGMA user_version = 12" &&
	ntflow runs --json >migrated.json &&
	test "$(sqlite3 .ntflow/state.db "PRAGMA user_version")" -ge 13 &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM runs WHERE nodes_total = 2 AND nodes_done = 2")" = 10 &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM sqlite_master WHERE name = '"'"'nodes_perf'"'"'")" = 1 &&
	test_cmp before.json migrated.json &&
	check_history
'

test_done
