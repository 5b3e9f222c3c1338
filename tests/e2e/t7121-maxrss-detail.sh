#!/bin/sh
# t7121-maxrss-detail.sh: the dashboard's stage detail shows a stage's own peak RSS (issue
# 18): a `true` stage's attempt row reads well under 4 MB (before, ntflow's own size,
# about 11 MB), one that allocates 64 MB at least 64 MB. The figures of show and --json
# are t7120's.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-tui.sh"

# rss_mb FILE: the peak RSS of attempt 1 in a detail screen, in MB (KB and B scaled).
rss_mb() {
	grep "^  1 " "$1" | grep -o "[0-9.]* [KMG]*B " | head -n 1 |
	awk '{ v = $1; if ($2 == "B") v /= 1048576; else if ($2 == "KB") v /= 1024; else if ($2 == "GB") v *= 1024; print v }'
}

test_expect_success 'setup' '
	write_dag rss.dag <<-\EOF &&
	pipeline "rss" {}
	stage "big" {
	  run = "awk '\''BEGIN { s = \"x\"; while (length(s) < 67108864) s = s s; print length(s) }'\''"
	}
	stage "small" {
	  run = "true"
	}
	EOF
	git add rss.dag && git commit -q -m rss &&
	ntflow run rss.dag --no-tui >out
'

test_expect_success 'the detail of a true stage shows its own peak RSS, of a 64 MB one at least that' '
	tui_start 100 40 &&
	tui_type "ntflow dash 1; echo status=\$?" &&
	tui_wait "^ rss | run 1" &&
	tui_keys g j &&
	tui_keys Enter &&
	tui_wait "^ small | run 1 | succeeded" &&
	tui_screen >small &&
	small=$(rss_mb small) &&
	echo "small: $small MB" &&
	test -n "$small" &&
	awk -v v="$small" "BEGIN { exit !(v > 0 && v < 4) }" &&
	tui_keys q &&
	tui_wait "^ rss | run 1" &&
	tui_keys g &&
	tui_keys Enter &&
	tui_wait "^ big | run 1 | succeeded" &&
	tui_screen >big &&
	big=$(rss_mb big) &&
	echo "big: $big MB" &&
	awk -v v="$big" "BEGIN { exit !(v >= 64) }" &&
	tui_keys q q &&
	tui_wait "^status=0"
'

test_done
