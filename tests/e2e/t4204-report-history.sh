#!/bin/sh
# t4204-report-history.sh: a report draws a plot from the bytes its run recorded: after a
# later run rewrote the data file, the page of the earlier run still shows the earlier data
# (read back from the object store by its SHA-256), and says so when the cache no longer
# has them (after cache gc of an entry it dropped); a malformed data file is named on the
# page, not a failure.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-report.sh"

write_dag p.dag <<-\EOF
	pipeline "p" {
	  params {
	    top = 5
	  }
	}

	stage "curve" {
	  run     = "mkdir -p build && printf 'step,value\\n1,1\\n2,${params.top}\\n' > build/curve.csv"
	  outputs = ["build/curve.csv"]
	  plot "curve" {
	    data = "build/curve.csv"
	    x    = "step"
	    y    = "value"
	  }
	}
	EOF

test_expect_success 'two runs write different data to the same file' '
	ntflow run p.dag --no-tui -p top=5 >out 2>&1 &&
	ntflow run p.dag --no-tui -p top=9 >out 2>&1 &&
	grep -F "2,9" build/curve.csv
'

test_expect_success 'the page of run 1 shows run 1 data, from the object store' '
	ntflow report 1 --html one.html >out &&
	tidy -e -q one.html &&
	grep -F "<title>value: 2, 5</title>" one.html &&
	! grep -F "<title>value: 2, 9</title>" one.html &&
	ntflow report 2 --html two.html >out &&
	grep -F "<title>value: 2, 9</title>" two.html
'

test_expect_success 'data gone from both places: the page names the file' '
	find .ntflow/cache/objects -type f ! -path "*/tmp/*" -exec rm -f {} + &&
	ntflow report 1 --html gone.html >out &&
	tidy -e -q gone.html &&
	grep -F "run 1: build/curve.csv has changed since and its bytes are no longer in the cache" gone.html
'

test_expect_success 'a malformed data file: named on the page' '
	printf "step,value\n\"1,2\n" >build/curve.csv &&
	sqlite3 .ntflow/state.db "UPDATE plots SET digest = '\''$(sha256sum build/curve.csv | cut -c1-64)'\'' WHERE run_id = 2" &&
	ntflow report 2 --html bad.html >out &&
	tidy -e -q bad.html &&
	grep -F "run 2: build/curve.csv: line 2: a quoted field is not closed" bad.html
'

test_done
