#!/bin/sh
# t4201-report-escape.sh: every string on a report page is escaped: a matrix value that puts
# `<script>` and quotes into a node's name, a param's value, a metric's key, a plot's title,
# a data file's column name and cells, and a dirty path named like an <img> tag all show as
# text; the page holds no script element, before or after Chromium parses it, and tidy
# finds no error.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-report.sh"

write_dag evil.dag <<-\EOF
	pipeline "evil" {
	  params {
	    note = "plain"
	  }
	}

	stage "s" {
	  matrix {
	    tag = ["<script>alert(\"n\")</script>", "ok"]
	  }
	  run     = "true"
	}

	stage "m" {
	  inputs  = ["in/"]
	  run     = "mkdir -p build && printf %s \"$DATA\" > build/t.csv && printf %s \"$METRICS\" > build/m.json"
	  outputs = ["build/t.csv"]
	  metrics = "build/m.json"
	  env {
	    DATA    = "\"<b>col</b>\",v\n<script>alert(\"cell\")</script>,1\nplain,2\n"
	    METRICS = "{\"<script>alert(\\\"m\\\")</script>\": 1, \"q\\\"uote'\": 2}"
	  }
	  plot "t" {
	    data     = "build/t.csv"
	    x        = "<b>col</b>"
	    y        = "v"
	    template = "bar"
	    title    = "<script>alert(\"t\")</script> & 'q'"
	  }
	}
	EOF
cat >note <<-\EOF
	note=<script>alert("p")</script>"'
	EOF

test_expect_success 'a pipeline full of markup runs' '
	mkdir -p in &&
	echo data >"in/<img src=x onerror=alert(1)>.txt" &&
	ntflow validate evil.dag &&
	ntflow run evil.dag --no-tui -p "$(cat note)" >out 2>&1 &&
	ntflow report --html evil.html >out
'

test_expect_success 'no markup gets through: tidy, no script element' '
	test_path_is_file evil.html &&
	tidy -e -q evil.html &&
	! grep -i "<script" evil.html &&
	! grep -i "<img src=x" evil.html &&
	! grep -i "<b>col" evil.html &&
	dom evil.html >dom.html &&
	test "$(count "<script" dom.html)" = 0 &&
	test "$(count "<b>" dom.html)" = 0
'

test_expect_success 'each string shows as text, escaped' '
	grep -F "s[tag=&quot;&lt;script&gt;alert(\\&quot;n\\&quot;)&lt;/script&gt;&quot;]" evil.html &&
	grep -F "&lt;script&gt;alert(&quot;p&quot;)&lt;/script&gt;&quot;&#39;" evil.html &&
	grep -F "&lt;script&gt;alert(&quot;m&quot;)&lt;/script&gt;" evil.html &&
	grep -F "q&quot;uote&#39;" evil.html &&
	grep -F "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; &#39;q&#39;" evil.html &&
	grep -F "&lt;b&gt;col&lt;/b&gt;" evil.html &&
	grep -F "&lt;script&gt;alert(&quot;cell&quot;)&lt;/script&gt;" evil.html &&
	grep -F "in/&lt;img src=x onerror=alert(1)&gt;.txt" evil.html
'

test_expect_success 'ids stay plain: letters, digits, - and _' '
	test "$(grep -c " id=\"" evil.html)" -gt 10 &&
	grep -o " id=\"[^\"]*\"" evil.html | grep -v "^ id=\"[A-Za-z0-9_-]*\"$" >bad || true &&
	test_must_be_empty bad
'

test_done
