#!/bin/sh
# t4200-report-html.sh: `ntflow report RUN --html FILE` on a project with a plot of every
# template, an image, a retried stage, a gate, a model with three versions and a drift
# monitor whose alert fires once: the page is one file (no script, nothing fetched), tidy
# finds no error in it, and the DOM headless Chromium builds of it holds the Gantt chart (a
# bar per attempt, the retried one marked), the gate table, each plot drawn by its template,
# the registry's metric over versions, the drift metric with its alert threshold and the
# CPU and memory charts; a screenshot of it is a PNG.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-report.sh"

test_expect_success 'a project whose plot blocks validate, run three times' '
	report_project &&
	ntflow validate shop.dag &&
	ntflow run shop.dag --no-tui -p shift=0.1 >out 2>&1 &&
	rm -f .flaky-ok &&
	test_expect_code 3 ntflow run shop.dag --no-tui -p shift=0.9 >out 2>&1 &&
	rm -f .flaky-ok &&
	ntflow run shop.dag --no-tui -p shift=0.2 >out 2>&1 &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM plots WHERE run_id = 3")" = 6
'

test_expect_success 'report --html writes one page; tidy finds no error' '
	ntflow report --html page.html >out &&
	grep "^wrote page.html: run 3 (" out &&
	tidy -e -q page.html
'

test_expect_success 'the page is self-contained: no script, no link out' '
	! grep -i "<script" page.html &&
	! grep -i "<link" page.html &&
	! grep -i -E "(src|href)=\"(https?:)?//" page.html &&
	! grep -i "@import" page.html &&
	test "$(grep -o "http[s]*://[^\"]*" page.html | sort -u)" = "http://www.w3.org/2000/svg"
'

test_expect_success 'Chromium reads the page: the header and the Gantt chart' '
	dom page.html >dom.html &&
	grep -F "<title>ntflow: run 3 of shop</title>" dom.html &&
	grep -F "id=\"header\"" dom.html &&
	grep -F "<dd class=\"status status-succeeded\">succeeded</dd>" dom.html &&
	grep -F "id=\"gantt-chart\"" dom.html &&
	grep -F "id=\"gantt-evaluate\"" dom.html &&
	grep -F "flaky (2 attempts)" dom.html &&
	test "$(count "class=\"attempt state-failed retry\"" dom.html)" = 1 &&
	test "$(count "class=\"attempt state-succeeded\"" dom.html)" -ge 2
'

test_expect_success 'the gate table' '
	grep -F "class=\"gate-table\"" dom.html &&
	test "$(count "class=\"criterion verdict-pass\"" dom.html)" = 2 &&
	grep -F "<td class=\"expr\">auc &gt;= 0.5</td>" dom.html
'

test_expect_success 'each plot drawn by its template' '
	grep -F "<figure class=\"plot plot-roc\" id=\"plot-evaluate-roc\">" dom.html &&
	grep -F "class=\"chance\"" dom.html &&
	grep -F "AUC 0.785" dom.html &&
	grep -F "id=\"plot-evaluate-loss\"" dom.html &&
	grep -F ">train_loss</text>" dom.html &&
	grep -F ">val_loss</text>" dom.html &&
	grep -F "<figure class=\"plot plot-bar\" id=\"plot-evaluate-importance\">" dom.html &&
	test "$(count "<rect class=\"bar\"" dom.html)" -ge 3 &&
	grep -F ">amount</text>" dom.html &&
	grep -F "<figure class=\"plot plot-confusion\" id=\"plot-evaluate-cm\">" dom.html &&
	grep -F "<table class=\"confusion\">" dom.html &&
	grep -F "7 rows, accuracy 0.7143" dom.html &&
	grep -F "<figure class=\"plot plot-scatter\" id=\"plot-evaluate-points\">" dom.html &&
	test "$(count "<circle class=\"dot\"" dom.html)" -ge 4 &&
	grep -F "<img src=\"data:image/png;base64,iVBORw0KGgo" dom.html
'

test_expect_success 'the confusion matrix counts actual by predicted' '
	sed -n "/<table class=\"confusion\">/,/<\/table>/p" dom.html | tr -d "\n" |
		sed "s/<tr>/\n<tr>/g" | sed -n "s/.*<th>\([01]\)<\/th>.*>\([0-9]*\)<\/td>.*>\([0-9]*\)<\/td>.*/\1 \2 \3/p" >cm &&
	printf "0 3 1\n1 1 2\n" >expect &&
	test_cmp expect cm
'

test_expect_success 'the registry history: versions and a metric over them' '
	grep -F "id=\"model-clf\"" dom.html &&
	test "$(count "<tr class=\"version" dom.html)" = 3 &&
	grep -F "id=\"registry-chart-clf-auc\"" dom.html &&
	grep -F "<title>auc: 3, 0.8</title>" dom.html
'

test_expect_success 'drift over the runs with the alert threshold drawn' '
	grep -F "id=\"drift-chart-drift-psi\"" dom.html &&
	sed -n "/id=\"drift-chart-drift-psi\"/,/<\/svg>/p" dom.html >drift.svg &&
	grep -F "class=\"thresholdline\"" drift.svg &&
	grep -F "shift (high) 0.25" drift.svg &&
	grep -F "<title>psi: 2, 0.9</title>" drift.svg
'

test_expect_success 'CPU and memory against history' '
	grep -F "id=\"perf-cpu\"" dom.html &&
	grep -F "id=\"perf-rss\"" dom.html &&
	grep -F "median of the last 20 runs" dom.html
'

test_expect_success 'a screenshot of the page is a PNG' '
	screenshot page.html shot.png &&
	test "$(head -c 8 shot.png | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a &&
	test "$(wc -c <shot.png)" -gt 20000
'

test_expect_success 'an earlier run and standard output; errors' '
	ntflow report 1 --html - >one.html &&
	grep -F "<title>ntflow: run 1 of shop</title>" one.html &&
	tidy -e -q one.html &&
	test_expect_code 1 ntflow report 9 --html x.html 2>err &&
	grep "no run 9" err &&
	test_path_is_missing x.html &&
	test_expect_code 2 ntflow report 2>err &&
	grep "html FILE" err &&
	test_expect_code 2 ntflow report --html x.html --history 0 2>err
'

test_done
