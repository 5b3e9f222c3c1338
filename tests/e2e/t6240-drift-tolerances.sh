#!/bin/sh
# t6240-drift-tolerances.sh: `ntflow report drift` when its tolerances are wrong, and the
# marks it and `ntflow violations` use (the review of issue 20). A small pipeline with a model
# whose accuracy is a parameter, four runs in cohorts 2026-09, "(none)" (a real cohort's name),
# 2026-10 (a version without accuracy) and none: a missing mean gives no verdict (null, "-"),
# not "no drift"; runs without a cohort show as "-", which no cohort may be; a tolerance
# naming a metric no run has is warned about with its place; a pipeline file that is gone,
# does not parse, has a negative tolerance or declares another pipeline makes the verdict
# unknown (exit 1, stderr says why); violations --since refuses an impossible date.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
test -x "$PY" || PY=$(command -v python3) || PY=
test -n "$PY" && test_set_prereq PYTHON3

# write_p TOLERANCES [NAME]: p.dag, pipeline NAME (p) with drift_report { tolerance { ... } }.
write_p() {
	cat >p.dag <<-EOF
	pipeline "${2:-p}" {
	  params {
	    acc = 0.9
	    key = "accuracy"
	  }
	  drift_report {
	    tolerance {
	$1
	    }
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo weights \${params.acc} >build/model.txt"
	  outputs = ["build/model.txt"]
	}

	stage "evaluate" {
	  needs   = ["train"]
	  run     = "mkdir -p build/eval && echo {\\\\\"n\\\\\": 1, \\\\\"\${params.key}\\\\\": \${params.acc}} >build/eval/metrics.json"
	  outputs = ["build/eval/"]
	  metrics = "build/eval/metrics.json"
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["n >= 1"]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  gate     = "promote"
	}
	EOF
}

test_expect_success 'setup: four runs, cohorts 2026-09, "(none)", 2026-10 (no accuracy) and none' '
	write_p "      accuracy = 0.02" &&
	printf "/.ntflow/\n/build/\n/models/\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow validate p.dag &&
	ntflow run p.dag --date 2026-09-07 --cohort 2026-09 -p acc=0.90 --no-tui >out 2>&1 || { cat out; false; } &&
	ntflow run p.dag --date 2026-09-14 --cohort "(none)" -p acc=0.91 --no-tui >out 2>&1 || { cat out; false; } &&
	ntflow run p.dag --date 2026-10-05 --cohort 2026-10 -p key=other --no-tui >out 2>&1 || { cat out; false; } &&
	ntflow run p.dag --date 2026-10-12 -p acc=0.80 --no-tui >out 2>&1 || { cat out; false; } &&
	ntflow report drift --from 2026-09-01 --to 2026-10-31 --json >all.json 2>err &&
	test_must_be_empty err
'

test_expect_success PYTHON3 'a cohort without a mean: delta and drift null, has drift from real verdicts only' '
	"$PY" - <<-\EOF
	import json
	r = json.load(open("all.json"))
	assert [c["cohort"] for c in r["cohorts"]] == ["2026-09", "(none)", "2026-10", None], r["cohorts"]
	got = {(k["from"], k["to"]): k["metrics"][0] for k in r["comparisons"]}
	for pair, m in got.items():
	    assert m["metric"] == "accuracy", m
	    if "2026-10" in pair:
	        assert m["to" if pair[1] == "2026-10" else "from"] is None, m
	        assert m["delta"] is None and m["drift"] is None, (pair, m)
	    else:
	        assert m["delta"] is not None and isinstance(m["drift"], bool), (pair, m)
	assert got[("2026-09", "(none)")]["drift"] is False
	assert got[("2026-09", None)]["drift"] is True
	assert r["has_drift"] is True
	EOF
'

test_expect_success 'the text: "-" for no verdict and for the runs without a cohort, "(none)" is a cohort' '
	ntflow report drift --from 2026-09-01 --to 2026-10-31 >all.txt &&
	cat all.txt &&
	grep -E "^\(none\) +2026-10 +accuracy +0\.91 +- +- +0\.02 +-$" all.txt &&
	grep -E "^2026-10 +- +accuracy +- +0\.8 +- +0\.02 +-$" all.txt &&
	grep -E "^2026-09 +\(none\) +accuracy +0\.9 +0\.91 +\+0\.01 +0\.02 +no$" all.txt &&
	grep -E "^2026-09 \(first\) +- +accuracy +0\.9 +0\.8 +-0\.1 +0\.02 +yes$" all.txt &&
	grep "moved by -0.1 from cohort 2026-09 to cohort - (tolerance 0.02)" all.txt &&
	grep "^Has drift: yes$" all.txt
'

test_expect_success 'no cohort may be "-", the mark of the runs without one' '
	test_expect_code 2 ntflow run p.dag --cohort - --no-tui 2>err &&
	grep "a cohort cannot be \"-\"" err
'

test_expect_success 'a tolerance naming a metric no run has: a warning with its place' '
	write_p "      accuracy = 0.02
      accurcy  = 0.05" &&
	ntflow report drift --from 2026-09-01 --to 2026-10-31 >typo.txt 2>err &&
	cat err &&
	grep "p.dag:9:7: warning: tolerance .accurcy.: no run from 2026-09-01 to 2026-10-31 has a metric of that name$" err &&
	test_line_count = 1 err &&
	grep "^Has drift: yes$" typo.txt
'

test_expect_success 'the pipeline file gone: why on stderr, has drift unknown, exit 1' '
	mv p.dag gone.dag &&
	test_expect_code 1 ntflow report drift --from 2026-09-01 --to 2026-10-31 >gone.txt 2>err &&
	cat err &&
	grep "^ntflow report drift: cannot read the tolerances of pipeline .p.: .*p.dag.*No such file or directory" err &&
	grep "^Has drift: unknown (no tolerances)$" gone.txt &&
	test_expect_code 1 ntflow report drift --from 2026-09-01 --to 2026-10-31 --json >gone.json 2>err &&
	grep "\"has_drift\":[[:space:]]*null" gone.json &&
	! grep "\"has_drift\":[[:space:]]*\(true\|false\)" gone.json &&
	mv gone.dag p.dag
'

test_expect_success 'a file that does not parse, a negative tolerance: the diagnostics, unknown, exit 1' '
	write_p "      accuracy = = 0.02" &&
	test_expect_code 1 ntflow report drift --from 2026-09-01 --to 2026-10-31 >bad.txt 2>err &&
	cat err &&
	grep "p.dag:8:18: error: expected a value" err &&
	grep "^ntflow report drift: cannot read the tolerances of pipeline .p.: p.dag does not parse$" err &&
	grep "^Has drift: unknown (no tolerances)$" bad.txt &&
	write_p "      accuracy = -0.02" &&
	test_expect_code 1 ntflow report drift --from 2026-09-01 --to 2026-10-31 --html neg.html 2>err &&
	cat err &&
	grep "p.dag:8:[0-9]*: error: tolerance .accuracy. expects a number >= 0" err &&
	grep "Has drift: unknown (no tolerances)" neg.html
'

test_expect_success 'a file that declares another pipeline: said, its tolerances not applied' '
	write_p "      accuracy = 0.5" q &&
	test_expect_code 1 ntflow report drift --from 2026-09-01 --to 2026-10-31 >other.txt 2>err &&
	cat err &&
	grep "p.dag:1:1: the file declares pipeline .q., not .p.: its tolerances do not apply$" err &&
	grep "^Has drift: unknown (no tolerances)$" other.txt &&
	! grep "0\.5" other.txt
'

test_expect_success 'violations --since refuses a date no calendar has, as report drift --from does' '
	test_expect_code 2 ntflow violations --since 2026-02-31 2>err &&
	grep "expected a date, YYYY-MM-DD" err &&
	test_expect_code 2 ntflow report drift --from 2026-02-31 --to 2026-03-31 2>err &&
	test_expect_code 2 ntflow violations --since 2026-04-31 2>err &&
	ntflow violations --since 2028-02-29 >out &&
	echo "no violations" >expect &&
	test_cmp expect out
'

test_done
