#!/bin/sh
# t8000-schedule.sh: `ntflow schedule FILE [--next N] [--from TIME]` prints a pipeline's
# next fire times in UTC, one ISO 8601 time per line, in its time zone with DST applied;
# a bad schedule or time zone is a file:line:col error naming the field; options checked.
. "$(dirname "$0")/lib.sh"

pipeline() {  # pipeline FILE SCHEDULE [TIMEZONE]
	{
		echo 'pipeline "p" {'
		echo "  schedule = \"$2\""
		test -z "${3-}" || echo "  timezone = \"$3\""
		echo '}'
		echo
		echo 'stage "a" {'
		echo '  run = "true"'
		echo '}'
	} >"$1"
}

test_expect_success 'the weekly retraining: Mondays 03:00 UTC' '
	pipeline weekly.dag "0 3 * * MON" &&
	ntflow schedule weekly.dag --from 2026-11-20T00:00:00Z --next 3 >actual &&
	cat >expect <<-\EOF &&
	2026-11-23T03:00:00Z
	2026-11-30T03:00:00Z
	2026-12-07T03:00:00Z
	EOF
	test_cmp expect actual
'

test_expect_success '--from is exclusive; 5 times by default; --from=, and the deprecated -n and -f alike' '
	ntflow schedule weekly.dag --from 2026-11-23T03:00:00Z >actual &&
	test_line_count = 5 actual &&
	head -n 1 actual >first &&
	echo 2026-11-30T03:00:00Z >expect &&
	test_cmp expect first &&
	ntflow schedule -n 5 -f 2026-11-23T03:00Z weekly.dag >actual2 2>err &&
	test_cmp actual actual2 &&
	grep "^ntflow schedule: -n is deprecated.*use --next" err &&
	grep "^ntflow schedule: -f is deprecated.*use --from" err &&
	ntflow schedule --next=5 --from=2026-11-23T03:00:00 weekly.dag >actual3 &&
	test_cmp actual actual3
'

test_expect_success 'a date means its midnight UTC' '
	pipeline daily.dag "@daily" &&
	ntflow schedule daily.dag --from 2026-11-23 --next 2 >actual &&
	printf "2026-11-24T00:00:00Z\n2026-11-25T00:00:00Z\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'without --from: times after now' '
	pipeline minutely.dag "* * * * *" &&
	before=$(date -u +%s) &&
	ntflow schedule minutely.dag --next 1 >actual &&
	t=$(sed "s/T/ /; s/Z$//" actual) &&
	at=$(date -u -d "$t" +%s) &&
	test "$at" -gt "$before" &&
	test $((at - before)) -le 60
'

test_expect_success 'Europe/Berlin: the spring gap fires at its end, the autumn overlap once' '
	pipeline berlin.dag "30 2 * * *" Europe/Berlin &&
	ntflow schedule berlin.dag --from 2026-03-28T00:00:00Z --next 3 >actual &&
	cat >expect <<-\EOF &&
	2026-03-28T01:30:00Z
	2026-03-29T01:00:00Z
	2026-03-30T00:30:00Z
	EOF
	test_cmp expect actual &&
	ntflow schedule berlin.dag --from 2026-10-24T00:00:00Z --next 3 >actual &&
	cat >expect <<-\EOF &&
	2026-10-24T00:30:00Z
	2026-10-25T00:30:00Z
	2026-10-26T01:30:00Z
	EOF
	test_cmp expect actual
'

test_expect_success 'the TZ of the environment does not matter' '
	TZ=Asia/Tokyo ntflow schedule berlin.dag --from 2026-10-24T00:00:00Z --next 3 >actual2 &&
	test_cmp actual actual2 &&
	TZ=Asia/Tokyo ntflow schedule weekly.dag --from 2026-11-20 --next 1 >actual &&
	echo 2026-11-23T03:00:00Z >expect &&
	test_cmp expect actual
'

test_expect_success 'the day-of-month / day-of-week OR rule' '
	pipeline friday13.dag "0 0 13 * FRI" &&
	ntflow schedule friday13.dag --from 2026-02-01 --next 6 >actual &&
	cat >expect <<-\EOF &&
	2026-02-06T00:00:00Z
	2026-02-13T00:00:00Z
	2026-02-20T00:00:00Z
	2026-02-27T00:00:00Z
	2026-03-06T00:00:00Z
	2026-03-13T00:00:00Z
	EOF
	test_cmp expect actual
'

test_expect_success '29 February: leap years only' '
	pipeline leap.dag "0 12 29 FEB *" &&
	ntflow schedule leap.dag --from 2026-01-01 --next 3 >actual &&
	cat >expect <<-\EOF &&
	2028-02-29T12:00:00Z
	2032-02-29T12:00:00Z
	2036-02-29T12:00:00Z
	EOF
	test_cmp expect actual
'

test_expect_success 'a bad schedule: file:line:col naming the field, exit 2, nothing printed' '
	pipeline bad.dag "0 3 * * 1-9" &&
	test_expect_code 2 ntflow schedule bad.dag >out 2>actual &&
	test_must_be_empty out &&
	echo "bad.dag:2:25: error: value 9 out of range in schedule field 5 (day-of-week); expected 0 to 7 (0 and 7 are Sunday) or SUN to SAT" >expect &&
	test_cmp expect actual
'

test_expect_success 'an unknown time zone: file:line:col, exit 2' '
	pipeline badtz.dag "@weekly" Moon/Tranquility &&
	test_expect_code 2 ntflow schedule badtz.dag 2>actual &&
	echo "badtz.dag:3:14: error: unknown time zone \"Moon/Tranquility\": no such zone in /usr/share/zoneinfo" >expect &&
	test_cmp expect actual
'

test_expect_success 'no schedule: exit 1 with a message' '
	printf "pipeline \"p\" {\n}\n\nstage \"a\" {\n  run = \"true\"\n}\n" >none.dag &&
	test_expect_code 1 ntflow schedule none.dag >out 2>actual &&
	test_must_be_empty out &&
	echo "ntflow: none.dag: no schedule (a pipeline block with schedule = \"...\")" >expect &&
	test_cmp expect actual &&
	printf "stage \"a\" {\n  run = \"true\"\n}\n" >nopipeline.dag &&
	test_expect_code 1 ntflow schedule nopipeline.dag 2>actual &&
	grep "no schedule" actual
'

test_expect_success 'bad options and operands: exit 2' '
	test_expect_code 2 ntflow schedule weekly.dag --next 0 2>actual &&
	echo "ntflow schedule: --next '\''0'\'': expected a number from 1 to 100000" >expect &&
	test_cmp expect actual &&
	test_expect_code 2 ntflow schedule weekly.dag --next 3x &&
	test_expect_code 2 ntflow schedule weekly.dag --from 2026-02-30 2>actual &&
	echo "ntflow schedule: --from: invalid time '\''2026-02-30'\'': no such date or time" >expect &&
	test_cmp expect actual &&
	test_expect_code 2 ntflow schedule weekly.dag --from "next week" 2>actual &&
	grep "expected YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD (UTC)" actual &&
	test_expect_code 2 ntflow schedule 2>actual &&
	grep "^usage: ntflow schedule FILE" actual &&
	test_expect_code 2 ntflow schedule weekly.dag daily.dag &&
	test_expect_code 2 ntflow schedule missing.dag 2>actual &&
	grep "missing.dag" actual
'

test_expect_success 'help: help schedule equals schedule --help; the man page documents it' '
	ntflow help schedule >help.out &&
	ntflow schedule --help >help2.out &&
	test_cmp help.out help2.out &&
	grep "^usage: ntflow schedule FILE \[--next N\] \[--from TIME\] \[--crontab\]$" help.out &&
	ntflow --help | grep "^  schedule  *Print the next fire times" &&
	for opt in next from; do
		grep "^\.BR \\\\-\\\\-$opt \" \"" "$NTFLOW_SRC_DIR/man/ntflow.1" || return 1
	done &&
	grep "^\.B ntflow schedule$" "$NTFLOW_SRC_DIR/man/ntflow.1" &&
	grep "^\.SH SCHEDULES$" "$NTFLOW_SRC_DIR/man/ntflow-dag.5"
'

test_done
