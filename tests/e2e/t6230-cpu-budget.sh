#!/bin/sh
# t6230-cpu-budget.sh: CPU budgets per phase (issue 20). A pipeline whose training phase
# (two matrix instances, each a fixed count of awk loop iterations) burns about half a
# second of CPU: show --perf sums CPU and wall per phase; with cpu_baseline = "median:3"
# and cpu_target_reduction = "25%" the first three runs have no baseline, a fourth run of
# twice the work misses the target and a run with a quarter of the loop count meets it; a
# run id as baseline; a cached phase is not compared; the report draws CPU per phase over
# time; and bad attributes are errors at file:line:col. CPU is measured, so the checks are
# ratios with wide margins, never times: about -100% and 75% against a 25% target. The same
# work measured under the suite's load on a shared 2-core machine varied from 203 to 353 ms
# an instance (190 alone): a run of the same work once measured 27% under the median of
# three loaded runs and "met" the target, so 0% and 50% (25 points either side) were not
# wide enough. Now a check goes wrong only if load inflates the baseline 2.7 times against
# the run checked (missed) or that run 3 times against the baseline (met).
. "$(dirname "$0")/lib.sh"

DOUBLE=24000000   # twice the work: a reduction of about -100%, 125 points from the target
QUARTER=3000000   # a quarter of the work: about 75%, 50 points from the target

write_dag cpu.dag <<-\EOF
	pipeline "cpu" {
	  cpu_baseline         = "median:3"
	  cpu_target_reduction = "25%"
	  params {
	    loops = 12000000
	  }
	}

	stage "ingest" {
	  phase   = "ingest"
	  run     = "echo rows > rows.txt"
	  outputs = ["rows.txt"]
	}

	stage "train" {
	  needs = ["ingest"]
	  phase = "training"
	  matrix {
	    seed = [1, 2]
	  }
	  run   = "awk 'BEGIN { for (i = 0; i < ${params.loops}; i++) s += i * ${matrix.seed}; print s }'"
	  cache = false
	}

	stage "publish" {
	  needs = ["train"]
	  run   = "true"
	}
	EOF

# The field of the phase named $2 in the JSON file $1 (show --json or show --perf --json).
phase_get() {
	/usr/bin/python3 - "$1" "$2" "$3" <<-\PY
	import json, sys
	doc = json.load(open(sys.argv[1]))
	p = [p for p in doc["phases"] if p["phase"] == sys.argv[2]][0]
	v = p
	for k in sys.argv[3].split("."):
	    v = v[k]
	print(v if isinstance(v, str) else json.dumps(v))
	PY
}

test_expect_success 'setup' '
	git add cpu.dag && git commit -q -m cpu
'

test_expect_success 'three runs: each phase summed, no baseline yet (median of 3)' '
	for i in 1 2 3; do ntflow run cpu.dag --no-tui --force train >/dev/null || return 1; done &&
	ntflow show 3 --json >s3.json &&
	test "$(phase_get s3.json training nodes)" = 2 &&
	test "$(phase_get s3.json training ran)" = 2 &&
	test "$(phase_get s3.json training budget.status)" = "no baseline" &&
	test "$(phase_get s3.json training budget.met)" = null &&
	test "$(phase_get s3.json training budget.baseline)" = "median of 3" &&
	test "$(phase_get s3.json training budget.baseline_cpu_ms)" = null &&
	test "$(phase_get s3.json training budget.reason)" = "not enough earlier runs" &&
	cpu=$(phase_get s3.json training cpu_ms) &&
	echo "training CPU: $cpu ms" &&
	# measurable: above the 10 ms under which a phase has no baseline
	test "$cpu" -ge 50 &&
	ntflow show 3 >out &&
	grep -E "^cpu budget training: [0-9.]+s, no baseline \(median of 3: not enough earlier runs\)$" out
'

test_expect_success 'the phase CPU is the sum of its instances'\'' attempts' '
	ntflow show 3 --json >s3.json &&
	/usr/bin/python3 - s3.json <<-\PY
	import json, sys
	doc = json.load(open(sys.argv[1]))
	train = sum(s["cpu_ms"] for s in doc["stages"] if s["stage"] == "train")
	phase = [p for p in doc["phases"] if p["phase"] == "training"][0]
	assert phase["cpu_ms"] == train, (phase, train)
	other = [p for p in doc["phases"] if p["phase"] == "other"][0]
	assert other["nodes"] == 1, other    # publish; a stage without phase is in "other"
	PY
'

test_expect_success 'twice the work: the target is missed' '
	ntflow run cpu.dag --no-tui --force train -p loops=$DOUBLE >/dev/null &&
	ntflow show --json >s4.json &&
	test "$(phase_get s4.json training budget.status)" = missed &&
	test "$(phase_get s4.json training budget.met)" = false &&
	red=$(phase_get s4.json training budget.reduction_pct) &&
	echo "reduction with twice the work: $red%" &&
	/usr/bin/python3 -c "import sys; assert float(sys.argv[1]) < 25" "$red" &&
	ntflow show >out &&
	grep -E "^cpu budget training: [0-9.]+s against [0-9.]+s \(median of 3\): -?[0-9.]+% reduction, target 25%: missed$" out
'

test_expect_success 'a cached phase did no work: not compared' '
	test "$(phase_get s4.json ingest cached)" = 1 &&
	test "$(phase_get s4.json ingest budget.status)" = "not compared" &&
	grep -Fx "cpu budget ingest: 0.00s, not compared: 0 of 1 stages ran (1 cached)" out
'

test_expect_success 'a quarter of the loop count: a reduction of 25% or more, the target met' '
	ntflow run cpu.dag --no-tui --force train -p loops=$QUARTER >/dev/null &&
	ntflow show --json >s5.json &&
	test "$(phase_get s5.json training budget.status)" = met &&
	test "$(phase_get s5.json training budget.met)" = true &&
	red=$(phase_get s5.json training budget.reduction_pct) &&
	base=$(phase_get s5.json training budget.baseline_cpu_ms) &&
	cpu=$(phase_get s5.json training cpu_ms) &&
	echo "reduction with a quarter of the work: $red% ($cpu ms against $base ms)" &&
	/usr/bin/python3 -c "import sys; r, c, b = map(float, sys.argv[1:]); assert r >= 25 and abs(r - (b - c) / b * 100) < 0.1" \
		"$red" "$cpu" "$base"
'

test_expect_success 'show --perf: CPU and wall per phase with the budget' '
	ntflow show --perf >out &&
	cat out &&
	grep -E "^PHASE +STAGES +RAN +CPU +WALL +BASELINE +BASE CPU +REDUCTION +TARGET +BUDGET$" out &&
	grep -E "^training +2 +2 +[0-9.]+s +[0-9.]+s +median of 3 +[0-9.]+s +[0-9.]+% +25% +met$" out &&
	grep -E "^ingest +1 +0 +0\.00s +0\.00s +median of 3 +- +- +25% +not compared$" out &&
	ntflow show --perf --json >p.json &&
	test "$(phase_get p.json training budget.status)" = met &&
	phase_get p.json training wall_ms | grep -E "^[1-9][0-9]*$"
'

test_expect_success 'cpu_baseline = RUN: against that run alone' '
	sed "s/cpu_baseline         = \"median:3\"/cpu_baseline         = 4/" cpu.dag >cpu2.dag &&
	mv cpu2.dag cpu.dag &&
	ntflow run cpu.dag --no-tui --force train -p loops=$QUARTER >/dev/null &&
	ntflow show --json >s6.json &&
	test "$(phase_get s6.json training budget.baseline)" = "run 4" &&
	test "$(phase_get s6.json training budget.baseline_cpu_ms)" = "$(phase_get s4.json training cpu_ms)" &&
	test "$(phase_get s6.json training budget.status)" = met &&
	sed "s/cpu_baseline         = 4/cpu_baseline         = 99/" cpu.dag >cpu2.dag &&
	mv cpu2.dag cpu.dag &&
	ntflow run cpu.dag --no-tui --force train >/dev/null &&
	ntflow show --json >s7.json &&
	test "$(phase_get s7.json training budget.status)" = "no baseline" &&
	test "$(phase_get s7.json training budget.reason)" = "no such run" &&
	ntflow show >out &&
	grep -E "^cpu budget training: [0-9.]+s, no baseline \(run 99: no such run\)$" out
'

test_expect_success 'cpu_baseline = RUN of another pipeline: no baseline, and show says why' '
	write_dag other.dag <<-\EOF &&
	pipeline "other" {}
	stage "a" {
	  phase = "training"
	  run   = "true"
	  cache = false
	}
	EOF
	ntflow run other.dag --no-tui >/dev/null &&
	other=$(ntflow show --json | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)[\"run\"][\"id\"])") &&
	sed "s/cpu_baseline         = 99/cpu_baseline         = $other/" cpu.dag >cpu2.dag &&
	ntflow run cpu2.dag --no-tui --force train -p loops=$QUARTER >/dev/null &&
	ntflow show --json >s8.json &&
	test "$(phase_get s8.json training budget.status)" = "no baseline" &&
	test "$(phase_get s8.json training budget.reason)" = "of another pipeline, other" &&
	ntflow show >out &&
	grep -E "^cpu budget training: [0-9.]+s, no baseline \(run $other: of another pipeline, other\)$" out &&
	rm cpu2.dag
'

test_expect_success 'report --html: CPU per phase over time and the verdicts' '
	ntflow report 5 --html r.html >/dev/null &&
	grep -F "<section id=\"cpu-phases\">" r.html &&
	grep -F "id=\"cpu-phases-chart\"" r.html &&
	/usr/bin/python3 - r.html <<-\PY
	import re, sys
	html = open(sys.argv[1]).read()
	table = html[html.index("<table class=\"cpu-phases\">"):]
	table = table[:table.index("</table>")]
	rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
	training = {int(r[0]): r for r in rows if r and r[2] == "training"}
	assert sorted(training) == [1, 2, 3, 4, 5], sorted(training)   # up to the run shown
	assert training[3][-1] == "no baseline", training[3]
	assert training[4][-1] == "missed", training[4]
	assert training[5][-1] == "met", training[5]
	assert "<tr class=\"current\"><td class=\"num\">5</td>" in table
	PY
'

test_expect_success 'bad attributes: errors at file:line:col' '
	cat >bad.dag <<-\EOF &&
	pipeline "bad" {
	  cpu_baseline         = "median:0"
	  cpu_target_reduction = "thirty"
	}

	stage "a" {
	  run   = "true"
	  phase = "two words"
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	cat err &&
	grep -Fx "bad.dag:2:26: error: cpu_baseline \"median:0\": N must be between 1 and 100" err &&
	grep -Fx "bad.dag:3:26: error: invalid cpu_target_reduction \"thirty\": expected a percentage like \"30%\"" err &&
	grep -Fx "bad.dag:8:11: error: invalid phase name \"two words\": use letters, digits, '\''_'\'' and '\''-'\''" err &&
	cat >half.dag <<-\EOF &&
	pipeline "half" {
	  cpu_target_reduction = "30%"
	}

	stage "a" { run = "true" }
	EOF
	test_expect_code 2 ntflow validate half.dag 2>err &&
	grep -Fx "half.dag:2:26: error: cpu_target_reduction needs a cpu_baseline to compare with (a run id or \"median:N\")" err
'

test_done
