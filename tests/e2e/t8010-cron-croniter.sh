#!/bin/sh
# t8010-cron-croniter.sh: the next fire times of random cron expressions from random start
# times (seeded: NTFLOW_CRON_SEED=N repeats a run), in UTC and in zones with and without
# DST, printed by `ntflow schedule` equal those of python3-croniter, an independent
# implementation, wherever the two agree on the semantics (tests/e2e/cron-croniter.py says
# what is left out and why). Skipped, with a message, when croniter is not installed.
. "$(dirname "$0")/lib.sh"

python=/usr/bin/python3
$python -c 'import croniter' 2>/dev/null ||
	test_skip_all 'python3-croniter is not installed (Debian: apt-get install python3-croniter)'

seed=${NTFLOW_CRON_SEED:-20261123}
say_ "# seed $seed"

test_expect_success "croniter's fire times for 400 random cases" '
	$python "$NTFLOW_SRC_DIR/tests/e2e/cron-croniter.py" "$seed" 400 >cases &&
	test_line_count = 400 cases
'

test_expect_success 'ntflow schedule gives the same times' '
	: >mismatches &&
	while IFS="|" read -r expr zone from want; do
		{
			echo "pipeline \"p\" {"
			echo "  schedule = \"$expr\""
			echo "  timezone = \"$zone\""
			echo "}"
		} >case.dag &&
		ntflow schedule case.dag --from "$from" --next 3 >got 2>&1 || {
			echo "\"$expr\" in $zone from $from: ntflow failed: $(cat got)" >>mismatches
			continue
		}
		got=$(tr "\n" " " <got) &&
		test "${got% }" = "$want" ||
			echo "\"$expr\" in $zone from $from: croniter $want, ntflow ${got% }" >>mismatches
	done <cases &&
	test_must_be_empty mismatches
'

test_expect_success 'the cases cover UTC and zones with DST, names, steps, lists and ranges' '
	grep -c "|UTC|" cases >n && test $(cat n) -ge 50 &&
	grep -c "|Europe/Berlin|" cases >n && test $(cat n) -ge 20 &&
	grep -c "|America/New_York|" cases >n && test $(cat n) -ge 20 &&
	grep -q "^[^|]*/" cases &&
	grep -q "^[^|]*," cases &&
	grep -q "^[^|]*-" cases &&
	grep -q "^[^|]*\(JAN\|FEB\|MAR\|APR\|MAY\|JUN\|JUL\|AUG\|SEP\|OCT\|NOV\|DEC\)" cases &&
	grep -q "^[^|]*\(SUN\|MON\|TUE\|WED\|THU\|FRI\|SAT\)" cases
'

test_done
