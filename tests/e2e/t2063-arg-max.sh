#!/bin/sh
# t2063-arg-max.sh: a value too large for execve (one argument or variable over 128 KiB,
# or everything over ARG_MAX) fails the stage before it starts, with "argument list too
# long" naming the value, never "exit 127" from an exec that could not happen; a value just
# under the limit runs.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# n bytes of the letter a
bytes() { head -c "$1" /dev/zero | tr '\0' a; }

# The command is "printf %s " + the value + " " + the value + " | wc -c": 19 bytes besides
# the values. (A value over 128 KiB cannot come from -p: ntflow's own exec would refuse it.)
write_dag twice.dag <<\EOF
pipeline "twice" {
  params {
    msg = "x"
  }
}

stage "say" {
  run = "printf %s ${params.msg} ${params.msg} | wc -c"
}
EOF

test_expect_success 'a command over 128 KiB names the reference that makes it so' '
	test_expect_code 1 ntflow run --no-tui twice.dag -p "msg=$(bytes 100000)" >out &&
	grep -F "say failed: argument list too long: the command is 200019 bytes, over the limit of 131071 for one argument; \${params.msg} alone is 100000" out &&
	! grep "exit 127" out &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json say state)" = failed
'

test_expect_success 'a command just under the limit runs' '
	ntflow run --no-tui twice.dag -p "msg=$(bytes 65526)" >out &&
	grep "say succeeded" out &&
	test "$(tr -d " " <.ntflow/logs/2/say.1.log)" = 131052
'

test_expect_success 'a parameter over 128 KiB in the environment is named' '
	{
		printf "pipeline \"big\" {\n  params {\n    msg = \"%s\"\n  }\n}\n\n" "$(bytes 200000)" &&
		printf "stage \"say\" {\n  run = \"echo hi\"\n}\n"
	} >env.dag &&
	test_expect_code 1 ntflow run --no-tui env.dag >out &&
	grep -F "say failed: argument list too long: environment variable NTFLOW_PARAM_MSG (parameter \"msg\") is 200017 bytes, over the limit of 131071 for one variable" out &&
	! grep "exit 127" out
'

test_expect_success 'parameters over ARG_MAX together: the largest is named' '
	limit=$(getconf ARG_MAX) &&
	if test "$limit" -gt 6291456; then limit=6291456; fi &&   # the kernel never allows more
	n=$((limit / 100000 + 2)) &&
	{
		printf "pipeline \"many\" {\n  params {\n" &&
		i=0 &&
		while test $i -lt $n
		do
			printf "    p%d = \"%s\"\n" $i "$(bytes 100000)" && i=$((i + 1)) || return 1
		done &&
		printf "    big = \"%s\"\n  }\n}\n\nstage \"say\" {\n  run = \"echo hi\"\n}\n" "$(bytes 120000)"
	} >many.dag &&
	test_expect_code 1 ntflow run --no-tui many.dag >out &&
	grep -E "say failed: argument list too long: the command and environment are [0-9]+ bytes, over the limit of [0-9]+ \(getconf ARG_MAX\); the largest part is environment variable NTFLOW_PARAM_BIG \(parameter \"big\"\) \(120017 bytes\)" out &&
	! grep "exit 127" out
'

test_done
