#!/bin/sh
# t8100-logical-dates.sh: the interval a run stands for. `--date START --interval-end END`
# (a scheduled or backfill run) gives ${run.interval_start}/${run.interval_end} and their
# NTFLOW_INTERVAL_* variables, ${run.date} and ${run.week} from the start's day in the
# pipeline's time zone; `--trigger schedule` without --date takes the interval the schedule's
# latest fire time closed; a manual run stands for one instant. `runs` shows the logical
# date, `show` the interval, `runs --json`, `show --json` and the audit record carry it;
# bad values are usage errors.
. "$(dirname "$0")/lib.sh"

# pipeline FILE SCHEDULE TIMEZONE: a one-stage pipeline whose stage writes what it saw.
pipeline() {
	{
		echo 'pipeline "p" {'
		test -z "$2" || echo "  schedule = \"$2\""
		test -z "$3" || echo "  timezone = \"$3\""
		echo '}'
		echo
		echo 'stage "see" {'
		echo '  run   = "echo ${run.date} ${run.week} ${run.interval_start} ${run.interval_end} >seen; env | grep -E \"^NTFLOW_(RUN_DATE|RUN_WEEK|INTERVAL_START|INTERVAL_END)=\" | sort >env"'
		echo '  cache = false'
		echo '}'
	} >"$1"
}

test_expect_success 'setup' '
	pipeline berlin.dag "0 3 * * MON" Europe/Berlin &&
	pipeline ny.dag "@daily" America/New_York &&
	pipeline utc.dag "@weekly" "" &&
	pipeline none.dag "" "" &&
	git add . && git commit -q -m pipelines
'

# Mondays 03:00 in Berlin are 02:00 UTC in winter: the week that starts 2026-11-23 is
# [2026-11-23T02:00:00Z, 2026-11-30T02:00:00Z).
test_expect_success 'a scheduled interval: the stage sees its start, end, date and week' '
	ntflow run berlin.dag --trigger schedule --date 2026-11-23T02:00:00Z \
		--interval-end 2026-11-30T02:00Z --no-tui >out 2>err &&
	echo "2026-11-23 2026-W48 2026-11-23T02:00:00Z 2026-11-30T02:00:00Z" >expect &&
	test_cmp expect seen &&
	cat >expect <<-\EOF &&
	NTFLOW_INTERVAL_END=2026-11-30T02:00:00Z
	NTFLOW_INTERVAL_START=2026-11-23T02:00:00Z
	NTFLOW_RUN_DATE=2026-11-23
	NTFLOW_RUN_WEEK=2026-W48
	EOF
	test_cmp expect env
'

# 23:30 UTC on Sunday 2026-11-22 is already Monday in Berlin.
test_expect_success '${run.date} is the start'\''s day in the pipeline'\''s time zone, not in UTC' '
	ntflow run berlin.dag --trigger backfill --date 2026-11-22T23:30:00Z \
		--interval-end 2026-11-29T23:30:00Z --no-tui >out 2>err &&
	echo "2026-11-23 2026-W48 2026-11-22T23:30:00Z 2026-11-29T23:30:00Z" >expect &&
	test_cmp expect seen &&
	ntflow run utc.dag --trigger backfill --date 2026-11-22T23:30:00Z \
		--interval-end 2026-11-29T23:30:00Z --no-tui >out 2>err &&
	echo "2026-11-22 2026-W47 2026-11-22T23:30:00Z 2026-11-29T23:30:00Z" >expect &&
	test_cmp expect seen
'

test_expect_success 'a manual run with a date stands for that day'\''s midnight in the pipeline'\''s zone' '
	ntflow run ny.dag --date 2026-11-23 --no-tui >out 2>err &&
	echo "2026-11-23 2026-W48 2026-11-23T05:00:00Z 2026-11-23T05:00:00Z" >expect &&
	test_cmp expect seen &&
	ntflow run utc.dag --date 2026-11-23 --no-tui >out 2>err &&
	echo "2026-11-23 2026-W48 2026-11-23T00:00:00Z 2026-11-23T00:00:00Z" >expect &&
	test_cmp expect seen
'

test_expect_success 'a manual run without a date stands for now' '
	before=$(date -u +%s) &&
	ntflow run utc.dag --no-tui >out 2>err &&
	after=$(date -u +%s) &&
	read day week start end <seen &&
	test "$start" = "$end" &&
	t=$(date -u -d "$start" +%s) &&
	test "$t" -ge "$before" && test "$t" -le "$after" &&
	test "$day" = "$(date -u -d "$start" +%F)" &&
	test "$week" = "$(date -u -d "$start" +%G-W%V)"
'

# The schedule fired last at the start of this year (Berlin time), closing last year's
# interval. The year is read before and after the run, so a run across New Year passes too.
test_expect_success '--trigger schedule without --date: the interval the latest fire time closed' '
	pipeline yearly.dag "@yearly" Europe/Berlin &&
	y1=$(TZ=Europe/Berlin date +%Y) &&
	ntflow run yearly.dag --trigger schedule --no-tui >out 2>err &&
	y2=$(TZ=Europe/Berlin date +%Y) &&
	cat seen &&
	ok= &&
	for y in $y1 $y2; do
		s=$(TZ=UTC date -d "TZ=\"Europe/Berlin\" $((y - 1))-01-01 00:00" +%Y-%m-%dT%H:%M:%SZ) &&
		e=$(TZ=UTC date -d "TZ=\"Europe/Berlin\" $y-01-01 00:00" +%Y-%m-%dT%H:%M:%SZ) &&
		wk=$(date -d "$((y - 1))-01-01" +%G-W%V) &&
		if test "$(cat seen)" = "$((y - 1))-01-01 $wk $s $e"; then ok=yes; fi || return 1
	done &&
	test "$ok" = yes &&
	ntflow runs --json >runs.json &&
	test "$(json_get runs.json "[0].trigger")" = schedule
'

test_expect_success '--trigger schedule without --date needs a schedule' '
	test_expect_code 2 ntflow run none.dag --trigger schedule --no-tui >out 2>err &&
	cat err &&
	grep "^ntflow: none.dag has no schedule: --trigger schedule without --date takes its interval from the pipeline" err &&
	test_path_is_missing .ntflow/logs/8
'

test_expect_success 'ntflow runs: the DATE column after TRIGGER' '
	ntflow runs >runs &&
	cat runs &&
	head -n 1 runs | grep -E "^ *ID +PIPELINE +TRIGGER +DATE +COMMIT +STATUS " &&
	grep -E "^ *1 +p +schedule +2026-11-23 " runs &&
	grep -E "^ *3 +p +backfill +2026-11-22 " runs &&
	grep -E "^ *4 +p +manual +2026-11-23 " runs
'

test_expect_success 'runs --json and show --json: logical_date, interval_start, interval_end' '
	ntflow runs --json >runs.json &&
	n=$(json_get runs.json "[-1].id") &&
	test "$n" = 1 &&
	test "$(json_get runs.json "[-1].logical_date")" = 2026-11-23 &&
	test "$(json_get runs.json "[-1].interval_start")" = 2026-11-23T02:00:00Z &&
	test "$(json_get runs.json "[-1].interval_end")" = 2026-11-30T02:00:00Z &&
	ntflow show 1 --json >show.json &&
	test "$(json_get show.json .run.logical_date)" = 2026-11-23 &&
	test "$(json_get show.json .run.interval_start)" = 2026-11-23T02:00:00Z &&
	test "$(json_get show.json .run.interval_end)" = 2026-11-30T02:00:00Z
'

test_expect_success 'show: an interval line when the run stands for an interval, none for an instant' '
	ntflow show 1 >show &&
	grep -x "date      2026-11-23" show &&
	grep -x "interval  2026-11-23T02:00:00Z .. 2026-11-30T02:00:00Z" show &&
	ntflow show 4 >show &&
	grep -x "date      2026-11-23" show &&
	! grep "^interval" show
'

test_expect_success 'the audit record of the run'\''s start carries the interval' '
	ntflow audit show --run 1 --json >audit.json &&
	test "$(json_get audit.json .records[0].kind)" = run-start &&
	test "$(json_get audit.json .records[0].payload.interval_start)" = 2026-11-23T02:00:00Z &&
	test "$(json_get audit.json .records[0].payload.interval_end)" = 2026-11-30T02:00:00Z &&
	ntflow audit verify
'

test_expect_success 'bad dates and intervals are usage errors' '
	test_expect_code 2 ntflow run utc.dag --date 2026-13-01 --no-tui 2>err &&
	grep -x "ntflow: invalid --date '\''2026-13-01'\'': no such date or time" err &&
	test_expect_code 2 ntflow run utc.dag --date yesterday --no-tui 2>err &&
	grep -x "ntflow: invalid --date '\''yesterday'\'': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM\[:SS\]Z" err &&
	test_expect_code 2 ntflow run utc.dag --date 2026-11-23 --interval-end 2026-11-23T00:00:00Z --no-tui 2>err &&
	grep -x "ntflow: --interval-end '\''2026-11-23T00:00:00Z'\'' is not later than --date '\''2026-11-23'\''" err &&
	test_expect_code 2 ntflow run utc.dag --date 2026-11-23 --interval-end 2026-11-16 --no-tui 2>err &&
	test_expect_code 2 ntflow run utc.dag --date 2026-11-23 --interval-end 2026-11-30T25:00Z --no-tui 2>err &&
	grep "^ntflow: invalid --interval-end" err &&
	test_expect_code 2 ntflow run utc.dag --interval-end 2026-11-30 --no-tui 2>err &&
	grep -x "ntflow: --interval-end needs --date, the start of the interval" err &&
	ntflow runs --json >runs.json &&
	test "$(json_get runs.json "[0].id")" = 7
'

test_expect_success 'validate knows the run.* values' '
	write_dag refs.dag <<-\EOF &&
	stage "a" { run = "echo ${run.interval_start} ${run.interval_end} ${run.date}" }
	EOF
	ntflow validate refs.dag &&
	write_dag bad.dag <<-\EOF &&
	stage "a" { run = "echo ${run.interval}" }
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	grep "unknown run value in \${run.interval} (run.id, run.date, run.week, run.month, run.quarter, run.trigger, run.interval_start, run.interval_end)" err
'

test_done
