#!/bin/sh
# t8020-schedule-crontab.sh: `ntflow schedule FILE --crontab` prints CRON_TZ and a crontab
# line (the schedule in numbers, absolute paths quoted for cron and sh) whose command, run
# as cron runs it, starts a run with trigger schedule; a pipeline without a schedule is a
# usage error.
. "$(dirname "$0")/lib.sh"

pipeline() {  # pipeline FILE SCHEDULE [TIMEZONE]
	{
		echo 'pipeline "p" {'
		echo "  schedule = \"$2\""
		test -z "${3-}" || echo "  timezone = \"$3\""
		echo '}'
		echo
		echo 'stage "a" {'
		echo '  run = "echo ran"'
		echo '}'
	} >"$1"
}

# cron_command: the command cron hands to sh for a crontab line's command part (stdin):
# Vixie cron's and cronie's rule, a % cuts the command (the rest is the job's input)
# unless written \%, which becomes a bare %.
cron_command() {
	awk '{
		out = ""; esc = 0
		for (i = 1; i <= length($0); i++) {
			c = substr($0, i, 1)
			if (esc) {
				if (c == "%")
					out = substr(out, 1, length(out) - 1)
				out = out c; esc = 0; continue
			}
			if (c == "\\") { esc = 1; out = out c; continue }
			if (c == "%") break
			out = out c
		}
		print out
	}'
}

# check_entry FILE: FILE is CRON_TZ=ZONE then one entry of five numeric fields and a
# command, as crontab(5) reads them.
check_entry() {
	test_line_count = 2 "$1" &&
	sed -n 1p "$1" | grep -E "^CRON_TZ=[A-Za-z0-9_/+-]+$" &&
	sed -n 2p "$1" | grep -E "^([0-9*/,-]+ ){5}cd [^ ]" &&
	if crontab -T /dev/null 2>/dev/null; then
		crontab -T "$1"  # cronie checks a crontab file without installing it
	else
		say_ "# (crontab -T is missing: cronie's own check of the entry skipped)"
	fi
}

root=$(pwd -P)
bin=$(cd "$NTFLOW_BUILD_DIR" && pwd -P)/ntflow

test_expect_success 'a weekly pipeline in Berlin: CRON_TZ, the numeric schedule, the command' '
	mkdir dags &&
	pipeline dags/retrain.dag "0 3 * * MON" Europe/Berlin &&
	ntflow schedule dags/retrain.dag --crontab >actual &&
	cat >expect <<-EOF &&
	CRON_TZ=Europe/Berlin
	0 3 * * 1 cd $root && $bin run $root/dags/retrain.dag --trigger schedule --no-tui >>$root/.ntflow/cron.log 2>&1
	EOF
	test_cmp expect actual &&
	check_entry actual &&
	test_path_is_dir .ntflow
'

test_expect_success 'the same line from another directory, through a relative path' '
	mkdir -p sub/deeper &&
	(cd sub/deeper && ntflow schedule ../../dags/retrain.dag --crontab) >actual2 &&
	test_cmp actual actual2
'

test_expect_success 'UTC is written too (cron would read the system zone); macros and names become numbers' '
	pipeline daily.dag "@weekly" &&
	ntflow schedule daily.dag --crontab >actual &&
	sed -n 1p actual >tz &&
	echo CRON_TZ=UTC >expect &&
	test_cmp expect tz &&
	sed -n "2s/ cd .*//p" actual >fields &&
	echo "0 0 * * 0" >expect &&
	test_cmp expect fields &&
	pipeline names.dag "*/15 9-17 * JAN,JUL MON-FRI" America/New_York &&
	TZ=Asia/Tokyo ntflow schedule names.dag --crontab >actual &&
	check_entry actual &&
	sed -n "1p; 2s/ cd .*//p" actual >fields &&
	printf "CRON_TZ=America/New_York\n*/15 9-17 * */6 1-5\n" >expect &&
	test_cmp expect fields
'

test_expect_success 'the day-of-month/day-of-week rule survives: a * day field keeps its *' '
	pipeline and.dag "0 0 */10,5 * MON" &&
	ntflow schedule and.dag --crontab >actual &&
	sed -n "2s/ cd .*//p" actual >fields &&
	echo "0 0 */31,5,11,21,31 * 1" >expect &&
	test_cmp expect fields
'

test_expect_success 'paths with spaces, quotes and %: the command, as cron runs it, starts a scheduled run' '
	proj="$root/my proj 100%" &&
	mkdir "$proj" &&
	(cd "$proj" && git init -q && mkdir "it'\''s dags" && pipeline "$proj/it'\''s dags/w%d.dag" "0 3 * * MON" Europe/Berlin &&
	 git add . && git commit -q -m w) &&
	mkdir "bin 50% \\%d" &&
	cp "$bin" "bin 50% \\%d/ntflow" &&
	(cd / && "$root/bin 50% \\%d/ntflow" schedule "$proj/it'\''s dags/w%d.dag" --crontab) >actual &&
	check_entry actual &&
	sed -n 2p actual >line &&
	sed -E "s/^([^ ]+ ){5}//" line | cron_command >command &&
	grep " 2>&1\$" command &&
	cmd=$(cat command) &&
	(cd / && env -u NTFLOW_STATE sh -c "$cmd" </dev/null) &&
	grep "^run 1 succeeded" "$proj/.ntflow/cron.log" &&
	(cd "$proj" && ntflow runs --json) >runs.json &&
	test "$(json_get runs.json "[0].trigger")" = schedule &&
	test "$(json_get runs.json "[0].status")" = succeeded &&
	(cd "$proj" && ntflow runs) >runs &&
	grep " schedule " runs
'

test_expect_success 'NTFLOW_STATE moves the workspace: the line passes --state, absolute' '
	NTFLOW_STATE=elsewhere/state ntflow schedule dags/retrain.dag --crontab >actual &&
	sed -n 2p actual >line &&
	grep -F " --trigger schedule --no-tui --state $root/elsewhere/state >>$root/elsewhere/state/cron.log 2>&1" line &&
	test_path_is_dir elsewhere/state
'

test_expect_success 'no schedule: exit 2, nothing printed; --next and --from do not go with it' '
	printf "pipeline \"p\" {\n}\n\nstage \"a\" {\n  run = \"true\"\n}\n" >none.dag &&
	test_expect_code 2 ntflow schedule none.dag --crontab >out 2>actual &&
	test_must_be_empty out &&
	echo "ntflow: none.dag: no schedule (a pipeline block with schedule = \"...\"): there is nothing for cron to run" >expect &&
	test_cmp expect actual &&
	test_expect_code 2 ntflow schedule dags/retrain.dag --crontab --next 3 >out 2>actual &&
	test_must_be_empty out &&
	grep "takes no --next or --from" actual &&
	test_expect_code 2 ntflow schedule dags/retrain.dag --from 2026-11-23 --crontab
'

test_expect_success 'a path with a line break cannot be on a crontab line: exit 1' '
	nl="$(printf "a\nb")" &&
	mkdir "$nl" &&
	pipeline "$nl/x.dag" "@daily" &&
	test_expect_code 1 ntflow schedule "$nl/x.dag" --crontab >out 2>actual &&
	test_must_be_empty out &&
	grep "holds a line break: it cannot be written on a crontab line" actual
'

test_expect_success 'help and man page document --crontab' '
	ntflow help schedule >help.out &&
	grep "^      --crontab " help.out &&
	grep "^usage: ntflow schedule FILE \[--next N\] \[--from TIME\] \[--crontab\]$" help.out &&
	grep "^\.B \\\\-\\\\-crontab$" "$NTFLOW_SRC_DIR/man/ntflow.1"
'

test_done
