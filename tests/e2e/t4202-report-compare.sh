#!/bin/sh
# t4202-report-compare.sh: `ntflow report --compare RUN_A RUN_B --html FILE`: both runs'
# headers, the params and metrics that differ (with the change), and each plot drawn once
# with both runs' data, the second run's series dashed; confusion matrices side by side.
# Without runs it compares the last two.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-report.sh"

test_expect_success 'two runs with another shift' '
	report_project &&
	ntflow run shop.dag --no-tui -p shift=0.1 >out 2>&1 &&
	rm -f .flaky-ok &&
	ntflow run shop.dag --no-tui -p shift=0.2 >out 2>&1
'

test_expect_success 'the compare page: tidy, and its DOM in Chromium' '
	ntflow report --compare 1 2 --html cmp.html >out &&
	grep "^wrote cmp.html: runs 1 and 2 compared (" out &&
	tidy -e -q cmp.html &&
	! grep -i "<script" cmp.html &&
	dom cmp.html >dom.html &&
	grep -F "<title>ntflow: run 1 and run 2 compared</title>" dom.html &&
	grep -F "id=\"header-a\"" dom.html &&
	grep -F "id=\"header-b\"" dom.html
'

test_expect_success 'params and metrics diffed' '
	sed -n "/id=\"params-diff\"/,/<\/section>/p" dom.html | tr -d "\n" | sed "s/<tr/\n<tr/g" >params &&
	grep -F "<tr class=\"changed\"><td>shift</td><td>0.1</td><td>0.2</td></tr>" params &&
	sed -n "/id=\"metrics-diff\"/,/<\/section>/p" dom.html | tr -d "\n" | sed "s/<tr/\n<tr/g" >metrics &&
	grep -F "<tr class=\"changed\"><td>evaluate</td><td>auc</td><td class=\"num\">0.85</td><td class=\"num\">0.8</td><td class=\"num down\">-0.05</td></tr>" metrics &&
	grep -F "<tr class=\"same\"><td>evaluate</td><td>accuracy</td>" metrics &&
	grep -F "<tr class=\"changed\"><td>drift</td><td>psi</td><td class=\"num\">0.1</td><td class=\"num\">0.2</td><td class=\"num up\">+0.1</td></tr>" metrics
'

test_expect_success 'plots overlaid: both runs in one chart, the second dashed' '
	sed -n "/id=\"plot-evaluate-loss\"/,/<\/figure>/p" dom.html >loss &&
	grep -F ">val_loss (run 1)</text>" loss &&
	grep -F ">val_loss (run 2)</text>" loss &&
	test "$(count "class=\"series s" loss)" = 4 &&
	test "$(count " dashed\"" loss)" -ge 2 &&
	sed -n "/id=\"plot-evaluate-cm\"/,/<\/figure>/p" dom.html >cm &&
	test "$(count "<table class=\"confusion\">" cm)" = 2 &&
	grep -F "<caption>run 2</caption>" cm &&
	sed -n "/id=\"plot-evaluate-picture\"/,/<\/figure>/p" dom.html >pic &&
	test "$(count "<img " pic)" = 2
'

test_expect_success 'without runs: the last two; one run alone is a usage error' '
	ntflow report --compare --html last.html >out &&
	grep "runs 1 and 2 compared" out &&
	test_expect_code 2 ntflow report --compare 1 --html x.html 2>err &&
	grep "two runs" err &&
	test_expect_code 2 ntflow report --compare 1 2 3 --html x.html 2>err
'

test_done
