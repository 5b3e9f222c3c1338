#!/bin/sh
# t2060-params-and-outputs.sh: a parameter full of shell metacharacters reaches the stage
# as data (from -p and as the declared default), never as code; declared outputs are
# checked after a successful attempt and a missing one fails the stage, naming it.
# Runs use --no-cache: caching is not what these tests are about (t3xxx test it).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# The value: a ; a $(...) double and single quotes, and a newline.
printf '%s\n%s' "a;b \$(touch pwned) \"q\" 'x'" 'second line' >nasty.txt

# More values, one per line (an empty one and one with spaces at both ends among them).
cat >hostile.txt <<\VALUES
$(touch pwned)
`touch pwned`
; touch pwned
x" ; touch pwned; "
'; touch pwned; '
${params.x}
$HOME
*

 lead and trail 
a\b
-n
VALUES

# The same value as the declared default (escapes of the .dag language: \" and \n).
write_dag nasty.dag <<\EOF
pipeline "nasty" {
  params {
    x = "a;b $(touch pwned) \"q\" 'x'\nsecond line"
  }
}

stage "use" {
  run = "printf %s ${params.x} >out.txt; printf %s \"$NTFLOW_PARAM_X\" >env.txt; printf '<%s>' ${params.x} >words.txt"
}
EOF

write_dag outputs.dag <<\EOF
stage "make" {
  run     = "mkdir -p build/dir && touch build/made.txt && touch build/notdir"
  outputs = ["build/made.txt", "build/dir/", "build/missing.txt"]
}

stage "after" {
  needs = ["make"]
  run   = "touch after.ran"
}
EOF

write_dag notdir.dag <<\EOF
stage "make" {
  run     = "mkdir -p build && touch build/notdir"
  outputs = ["build/notdir/"]
}
EOF

write_dag good-outputs.dag <<\EOF
pipeline "good" {
  params {
    name = "result"
  }
}

stage "make" {
  run     = "mkdir -p build/dir && echo ok >build/${params.name}.txt && touch build/dir/f"
  outputs = ["build/${params.name}.txt", "build/dir/"]
}
EOF

# Fails twice with its output missing, then writes it: a missing output is a failure
# like any other, and retried.
write_dag retried-output.dag <<\EOF
stage "late" {
  retries = 2
  backoff = "100ms"
  run     = "n=$(cat n 2>/dev/null || echo 0); n=$((n + 1)); echo $n >n; test $n -lt 3 || touch late.txt"
  outputs = ["late.txt"]
}
EOF

test_expect_success 'the default value arrives intact; nothing in it runs' '
	ntflow run --no-cache nasty.dag --no-tui >out &&
	cmp nasty.txt out.txt &&
	cmp nasty.txt env.txt &&
	printf "<%s>" "$(cat nasty.txt)" >expect &&
	cmp expect words.txt &&
	test_path_is_missing pwned
'

test_expect_success 'the same value given with -p arrives intact; nothing in it runs' '
	rm -f out.txt env.txt &&
	ntflow run --no-cache nasty.dag --no-tui -p "x=$(cat nasty.txt)" >out &&
	cmp nasty.txt out.txt &&
	cmp nasty.txt env.txt &&
	test_path_is_missing pwned
'

test_expect_success 'more hostile -p values arrive intact' '
	while IFS= read -r v
	do
		rm -f out.txt env.txt &&
		ntflow run --no-cache nasty.dag --no-tui -p "x=$v" >out </dev/null &&
		printf "%s" "$v" >expect &&
		cmp expect out.txt &&
		cmp expect env.txt &&
		test_path_is_missing pwned || { echo "value: [$v]"; return 1; }
	done <hostile.txt
'

test_expect_success 'the recorded params hold the value as given' '
	ntflow run --no-cache nasty.dag --no-tui -p "x=$(cat nasty.txt)" >out &&
	ntflow show --json >show.json &&
	json_get show.json .run.params.x >actual &&
	cat nasty.txt >expect && echo >>expect &&
	cmp expect actual
'

test_expect_success 'a missing declared output fails the stage, naming the output' '
	test_expect_code 1 ntflow run --no-cache outputs.dag --no-tui >out 2>err &&
	cat out err &&
	grep -E "make failed.*build/missing\.txt" out &&
	! grep -E "build/made\.txt|build/dir/" out &&
	test_path_is_missing after.ran &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json make state)" = failed &&
	test "$(stage_field show.json make exit_code)" = 0 &&
	test "$(stage_field show.json after state)" = skipped
'

test_expect_success 'a folder output (trailing /) that is a file fails the stage' '
	test_expect_code 1 ntflow run --no-cache notdir.dag --no-tui >out 2>err &&
	cat out err &&
	grep -E "make failed.*build/notdir/.*not a folder" out
'

test_expect_success 'outputs that exist (files, folders, interpolated) pass' '
	rm -rf build &&
	ntflow run good-outputs.dag --no-tui >out &&
	test_path_is_file build/result.txt &&
	ntflow run good-outputs.dag --no-tui -p name=other >out &&
	test_path_is_file build/other.txt
'

test_expect_success 'a missing output is retried like a failure' '
	ntflow run retried-output.dag --no-tui >out &&
	cat out &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json late attempts)" = 3 &&
	grep -E "late retrying.*late\.txt" out
'

test_done
