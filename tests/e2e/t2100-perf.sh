#!/bin/sh
# t2100-perf.sh: the performance record, `ntflow show RUN --perf`: per node its wall time,
# CPU time and peak RSS next to the median of the node's last 5 successful runs that were
# not cached (none before the first run; a cached node measures nothing), as a table and
# as JSON.
. "$(dirname "$0")/lib.sh"

write_dag perf.dag <<-\EOF
	pipeline "perf" {
	}

	stage "busy" {
	  run   = "i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done"
	  cache = true   # no outputs: cached only because it says so
	}

	stage "fixed" {
	  needs   = ["busy"]
	  run     = "echo done > fixed.txt"
	  outputs = ["fixed.txt"]
	}
	EOF

test_expect_success 'the first run: nothing to compare with' '
	ntflow run perf.dag --no-tui --no-cache >/dev/null &&
	ntflow show --perf >out &&
	cat out &&
	head -n 1 out | grep -Fx "run 1 of perf: each node against the median of its last 5 successful, non-cached runs" &&
	sed -n 3p out | grep -E "^NODE +STATE +WALL +VS MEDIAN +CPU +VS MEDIAN +MAXRSS +VS MEDIAN +RUNS$" &&
	grep -E "^busy +succeeded +[0-9]+\.[0-9]{2}s +- +[0-9]+\.[0-9]{2}s +- +[0-9.]+[KMG] +- +0$" out
'

test_expect_success 'six more runs: each against the median of the 5 before it' '
	for i in 2 3 4 5 6 7; do ntflow run perf.dag --no-tui --no-cache >/dev/null || return 1; done &&
	ntflow show 7 --perf >out &&
	cat out &&
	grep -E "^busy +succeeded +[0-9]+\.[0-9]{2}s +[-+][0-9]+% \([0-9]+\.[0-9]{2}s\) +[0-9]+\.[0-9]{2}s +([-+][0-9]+%|new) \([0-9]+\.[0-9]{2}s\) +[0-9.]+[KMG] +[-+][0-9]+% \([0-9.]+[KMG]\) +5$" out &&
	ntflow show 3 --perf >out &&
	grep -E "^busy .* 2$" out
'

test_expect_success 'show --perf --json: the numbers and the medians' '
	ntflow show 7 --perf --json >p.json &&
	test "$(json_get p.json .run_id)" = 7 &&
	test "$(json_get p.json .window)" = 5 &&
	test "$(json_get p.json ".perf[0].node")" = busy &&
	test "$(json_get p.json ".perf[0].history")" = 5 &&
	test "$(json_get p.json ".perf[0].measured")" = true &&
	json_get p.json ".perf[0].median_wall_ms" | grep -E "^[0-9]+(\.[0-9]+)?$" &&
	json_get p.json ".perf[0].median_max_rss_kb" | grep -E "^[1-9][0-9]*(\.[0-9]+)?$" &&
	json_get p.json ".perf[0].wall_change_pct" | grep -E "^-?[0-9]+(\.0)?$" &&
	/usr/bin/python3 - p.json <<-\PY
	import json, statistics, subprocess, sys
	doc = json.load(open(sys.argv[1]))
	walls = []
	for run in range(2, 7):
	    show = json.loads(subprocess.check_output(["ntflow", "show", str(run), "--json"]))
	    walls.append(show["stages"][0]["wall_ms"])
	assert doc["perf"][0]["median_wall_ms"] == statistics.median(walls), (walls, doc["perf"][0])
	PY
'

test_expect_success 'a cached node measured nothing; a failed one did, against the successful runs' '
	ntflow run perf.dag --no-tui >/dev/null &&
	ntflow show --perf >out &&
	grep -E "^busy +cached +- +\([0-9]+\.[0-9]{2}s\) +- +\([0-9]+\.[0-9]{2}s\) +- +\([0-9.]+[KMG]\) +5$" out &&
	write_dag perf.dag <<-\EOF &&
	pipeline "perf" {
	}

	stage "busy" {
	  run = "exit 3"
	}
	EOF
	test_expect_code 1 ntflow run perf.dag --no-tui >/dev/null &&
	ntflow show --perf --json >p.json &&
	test "$(json_get p.json ".perf[0].state")" = failed &&
	test "$(json_get p.json ".perf[0].measured")" = true &&
	test "$(json_get p.json ".perf[0].history")" = 5
'

test_expect_success 'usage: --perf with a run id that does not exist' '
	test_expect_code 1 ntflow show 99 --perf 2>err &&
	grep "no run 99" err
'

test_done
