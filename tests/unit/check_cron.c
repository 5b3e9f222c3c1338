/* check_cron.c: cron expressions (src/cron): the next three fire times of 87 cases covering
 * every syntax (numbers, ranges, steps, lists, names, macros), Vixie's day-of-month /
 * day-of-week OR rule, leap years and 29 February, and the DST gaps and overlaps of
 * Europe/Berlin and America/New_York; errors naming the field and the column; zones;
 * ISO 8601 times. The expected times were computed apart from this code, by stepping
 * minute by minute over UTC instants with Python's zoneinfo (a gap fires at the change,
 * a repeated wall time at its first occurrence), and the DST ones checked by hand. */
#include "config.h"
#include "ntflow/cron.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/util.h"

typedef struct fire_case {
	const char *expr, *tz, *from;
	const char *want[3];
} fire_case;

static const fire_case fire_cases[] = {
	/* numbers and stars */
	{ "* * * * *", "UTC", "2026-01-01T00:00:00Z", { "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z" } },
	{ "0 * * * *", "UTC", "2026-01-01T00:00:00Z", { "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z" } },
	{ "0 0 * * *", "UTC", "2026-01-01T12:34:56Z", { "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z" } },
	{ "30 3 * * *", "UTC", "2026-01-01T03:30:00Z", { "2026-01-02T03:30:00Z", "2026-01-03T03:30:00Z", "2026-01-04T03:30:00Z" } },
	{ "59 23 31 12 *", "UTC", "2026-06-15T00:00:00Z", { "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z", "2028-12-31T23:59:00Z" } },
	{ "0 12 1 1 *", "UTC", "2026-01-01T11:59:59Z", { "2026-01-01T12:00:00Z", "2027-01-01T12:00:00Z", "2028-01-01T12:00:00Z" } },
	{ "5 4 * * 0", "UTC", "2026-11-20T00:00:00Z", { "2026-11-22T04:05:00Z", "2026-11-29T04:05:00Z", "2026-12-06T04:05:00Z" } },
	{ "0 3 * * 1", "UTC", "2026-11-23T03:00:00Z", { "2026-11-30T03:00:00Z", "2026-12-07T03:00:00Z", "2026-12-14T03:00:00Z" } },
	{ "0 0 1 * *", "UTC", "2026-01-31T23:59:00Z", { "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z" } },
	{ "15 14 1 * *", "UTC", "2026-02-01T14:15:00Z", { "2026-03-01T14:15:00Z", "2026-04-01T14:15:00Z", "2026-05-01T14:15:00Z" } },
	{ "0 22 * * 1-5", "UTC", "2026-11-20T22:00:00Z", { "2026-11-23T22:00:00Z", "2026-11-24T22:00:00Z", "2026-11-25T22:00:00Z" } },
	/* ranges */
	{ "0-4 * * * *", "UTC", "2026-05-05T10:03:00Z", { "2026-05-05T10:04:00Z", "2026-05-05T11:00:00Z", "2026-05-05T11:01:00Z" } },
	{ "0 9-17 * * *", "UTC", "2026-05-05T17:00:00Z", { "2026-05-06T09:00:00Z", "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z" } },
	{ "0 0 10-12 * *", "UTC", "2026-05-11T00:00:00Z", { "2026-05-12T00:00:00Z", "2026-06-10T00:00:00Z", "2026-06-11T00:00:00Z" } },
	{ "0 0 1 6-8 *", "UTC", "2026-08-01T00:00:00Z", { "2027-06-01T00:00:00Z", "2027-07-01T00:00:00Z", "2027-08-01T00:00:00Z" } },
	{ "0 0 * * 5-6", "UTC", "2026-05-05T00:00:00Z", { "2026-05-08T00:00:00Z", "2026-05-09T00:00:00Z", "2026-05-15T00:00:00Z" } },
	{ "0 0 * * 0-7", "UTC", "2026-05-05T00:00:00Z", { "2026-05-06T00:00:00Z", "2026-05-07T00:00:00Z", "2026-05-08T00:00:00Z" } },
	/* steps */
	{ "*/15 * * * *", "UTC", "2026-05-05T10:07:00Z", { "2026-05-05T10:15:00Z", "2026-05-05T10:30:00Z", "2026-05-05T10:45:00Z" } },
	{ "*/7 * * * *", "UTC", "2026-05-05T10:55:00Z", { "2026-05-05T10:56:00Z", "2026-05-05T11:00:00Z", "2026-05-05T11:07:00Z" } },
	{ "1-30/5 * * * *", "UTC", "2026-05-05T10:27:00Z", { "2026-05-05T11:01:00Z", "2026-05-05T11:06:00Z", "2026-05-05T11:11:00Z" } },
	{ "0 */6 * * *", "UTC", "2026-05-05T19:00:00Z", { "2026-05-06T00:00:00Z", "2026-05-06T06:00:00Z", "2026-05-06T12:00:00Z" } },
	{ "0 1-23/2 * * *", "UTC", "2026-05-05T22:00:00Z", { "2026-05-05T23:00:00Z", "2026-05-06T01:00:00Z", "2026-05-06T03:00:00Z" } },
	{ "0 0 */10 * *", "UTC", "2026-05-21T00:00:00Z", { "2026-05-31T00:00:00Z", "2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z" } },
	{ "0 0 1 */3 *", "UTC", "2026-05-05T00:00:00Z", { "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z" } },
	{ "0 0 * * */2", "UTC", "2026-05-05T00:00:00Z", { "2026-05-07T00:00:00Z", "2026-05-09T00:00:00Z", "2026-05-10T00:00:00Z" } },
	{ "0 0 1-31/7 * *", "UTC", "2026-02-23T00:00:00Z", { "2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z" } },
	{ "10-50/20 8-18/5 * * *", "UTC", "2026-05-05T18:50:00Z", { "2026-05-06T08:10:00Z", "2026-05-06T08:30:00Z", "2026-05-06T08:50:00Z" } },
	/* lists */
	{ "0,30 * * * *", "UTC", "2026-05-05T10:30:00Z", { "2026-05-05T11:00:00Z", "2026-05-05T11:30:00Z", "2026-05-05T12:00:00Z" } },
	{ "5,10,55 * * * *", "UTC", "2026-05-05T10:55:00Z", { "2026-05-05T11:05:00Z", "2026-05-05T11:10:00Z", "2026-05-05T11:55:00Z" } },
	{ "0 8,12,18 * * *", "UTC", "2026-05-05T18:00:00Z", { "2026-05-06T08:00:00Z", "2026-05-06T12:00:00Z", "2026-05-06T18:00:00Z" } },
	{ "0 0 1,15 * *", "UTC", "2026-05-15T00:00:00Z", { "2026-06-01T00:00:00Z", "2026-06-15T00:00:00Z", "2026-07-01T00:00:00Z" } },
	{ "0 0 1 1,4,7,10 *", "UTC", "2026-05-05T00:00:00Z", { "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z" } },
	{ "0 0 * * 1,3,5", "UTC", "2026-05-08T00:00:00Z", { "2026-05-11T00:00:00Z", "2026-05-13T00:00:00Z", "2026-05-15T00:00:00Z" } },
	{ "0,10-20/5,45 * * * *", "UTC", "2026-05-05T10:15:00Z", { "2026-05-05T10:20:00Z", "2026-05-05T10:45:00Z", "2026-05-05T11:00:00Z" } },
	{ "0 0 1,10-12,20-31/5 * *", "UTC", "2026-05-12T00:00:00Z", { "2026-05-20T00:00:00Z", "2026-05-25T00:00:00Z", "2026-05-30T00:00:00Z" } },
	/* names */
	{ "0 0 * * MON-FRI", "UTC", "2026-05-08T00:00:00Z", { "2026-05-11T00:00:00Z", "2026-05-12T00:00:00Z", "2026-05-13T00:00:00Z" } },
	{ "0 0 * * mon,wed,fri", "UTC", "2026-05-05T00:00:00Z", { "2026-05-06T00:00:00Z", "2026-05-08T00:00:00Z", "2026-05-11T00:00:00Z" } },
	{ "0 0 * * SAT,SUN", "UTC", "2026-05-05T00:00:00Z", { "2026-05-09T00:00:00Z", "2026-05-10T00:00:00Z", "2026-05-16T00:00:00Z" } },
	{ "0 0 * * Sun", "UTC", "2026-05-05T00:00:00Z", { "2026-05-10T00:00:00Z", "2026-05-17T00:00:00Z", "2026-05-24T00:00:00Z" } },
	{ "0 0 1 JAN *", "UTC", "2026-05-05T00:00:00Z", { "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z" } },
	{ "0 0 1 jun-aug *", "UTC", "2026-05-05T00:00:00Z", { "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z" } },
	{ "0 0 1 JAN,JUL *", "UTC", "2026-05-05T00:00:00Z", { "2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z" } },
	{ "0 0 * FEB MON", "UTC", "2026-05-05T00:00:00Z", { "2027-02-01T00:00:00Z", "2027-02-08T00:00:00Z", "2027-02-15T00:00:00Z" } },
	{ "0 0 * * TUE-THU/2", "UTC", "2026-05-05T00:00:00Z", { "2026-05-07T00:00:00Z", "2026-05-12T00:00:00Z", "2026-05-14T00:00:00Z" } },
	{ "30 6 * MAR-NOV/4 SAT", "UTC", "2026-01-01T00:00:00Z", { "2026-03-07T06:30:00Z", "2026-03-14T06:30:00Z", "2026-03-21T06:30:00Z" } },
	/* macros */
	{ "@hourly", "UTC", "2026-05-05T10:00:00Z", { "2026-05-05T11:00:00Z", "2026-05-05T12:00:00Z", "2026-05-05T13:00:00Z" } },
	{ "@daily", "UTC", "2026-05-05T10:00:00Z", { "2026-05-06T00:00:00Z", "2026-05-07T00:00:00Z", "2026-05-08T00:00:00Z" } },
	{ "@weekly", "UTC", "2026-05-05T10:00:00Z", { "2026-05-10T00:00:00Z", "2026-05-17T00:00:00Z", "2026-05-24T00:00:00Z" } },
	{ "@monthly", "UTC", "2026-05-05T10:00:00Z", { "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z" } },
	{ "@yearly", "UTC", "2026-05-05T10:00:00Z", { "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z" } },
	/* day-of-month / day-of-week OR rule */
	{ "0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z", { "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z" } },
	{ "0 0 1 * MON", "UTC", "2026-05-05T00:00:00Z", { "2026-05-11T00:00:00Z", "2026-05-18T00:00:00Z", "2026-05-25T00:00:00Z" } },
	{ "0 0 1,15 * 3", "UTC", "2026-05-05T00:00:00Z", { "2026-05-06T00:00:00Z", "2026-05-13T00:00:00Z", "2026-05-15T00:00:00Z" } },
	{ "0 0 */2 * MON", "UTC", "2026-05-05T00:00:00Z", { "2026-05-11T00:00:00Z", "2026-05-25T00:00:00Z", "2026-06-01T00:00:00Z" } },
	{ "0 0 1 * */3", "UTC", "2026-05-05T00:00:00Z", { "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z" } },
	{ "0 0 * * 7", "UTC", "2026-05-05T00:00:00Z", { "2026-05-10T00:00:00Z", "2026-05-17T00:00:00Z", "2026-05-24T00:00:00Z" } },
	{ "0 0 31 * SUN", "UTC", "2026-05-05T00:00:00Z", { "2026-05-10T00:00:00Z", "2026-05-17T00:00:00Z", "2026-05-24T00:00:00Z" } },
	/* leap years, Feb 29 */
	{ "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", { "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z" } },
	{ "0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", { "2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z", "2112-02-29T00:00:00Z" } },
	{ "0 12 29 FEB *", "UTC", "2024-02-29T12:00:00Z", { "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z", "2036-02-29T12:00:00Z" } },
	{ "0 0 29 2 MON", "UTC", "2026-01-01T00:00:00Z", { "2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-16T00:00:00Z" } },
	{ "0 0 29 2 */7", "UTC", "2026-01-01T00:00:00Z", { "2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z", "2088-02-29T00:00:00Z" } },
	{ "0 0 28-29 2 *", "UTC", "2027-02-28T00:00:00Z", { "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z" } },
	{ "59 23 28,29 2 *", "UTC", "2099-12-31T00:00:00Z", { "2100-02-28T23:59:00Z", "2101-02-28T23:59:00Z", "2102-02-28T23:59:00Z" } },
	{ "0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", { "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z" } },
	{ "0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", { "2026-03-30T00:00:00Z", "2026-04-30T00:00:00Z", "2026-05-30T00:00:00Z" } },
	/* Europe/Berlin: gap 2026-03-29 02:00->03:00, overlap 2026-10-25 03:00->02:00 */
	{ "30 2 * * *", "Europe/Berlin", "2026-03-27T00:00:00Z", { "2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z" } },
	{ "0 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z", { "2026-03-28T01:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z" } },
	{ "*/15 2 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", { "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z", "2026-03-30T00:15:00Z" } },
	{ "0 3 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z", { "2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z" } },
	{ "* * * * *", "Europe/Berlin", "2026-03-29T00:58:00Z", { "2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:01:00Z" } },
	{ "0 * * * *", "Europe/Berlin", "2026-03-28T23:30:00Z", { "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z" } },
	{ "30 2 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", { "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z" } },
	{ "*/20 * * * *", "Europe/Berlin", "2026-10-24T23:50:00Z", { "2026-10-25T00:00:00Z", "2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z" } },
	{ "0 * * * *", "Europe/Berlin", "2026-10-24T23:30:00Z", { "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z" } },
	{ "30 2 * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", { "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z", "2026-10-28T01:30:00Z" } },
	{ "0 1-3 25 10 *", "Europe/Berlin", "2026-10-24T00:00:00Z", { "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z" } },
	{ "0 0 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", { "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", "2026-10-26T23:00:00Z" } },
	{ "0 3 * * 0", "Europe/Berlin", "2026-03-20T00:00:00Z", { "2026-03-22T02:00:00Z", "2026-03-29T01:00:00Z", "2026-04-05T01:00:00Z" } },
	/* America/New_York: gap 2026-03-08 02:00->03:00, overlap 2026-11-01 02:00->01:00 */
	{ "30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", { "2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z" } },
	{ "0 2 8 3 *", "America/New_York", "2026-01-01T00:00:00Z", { "2026-03-08T07:00:00Z", "2027-03-08T07:00:00Z", "2028-03-08T07:00:00Z" } },
	{ "*/30 1-3 * * *", "America/New_York", "2026-03-08T05:00:00Z", { "2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z" } },
	{ "30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", { "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z" } },
	{ "0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", { "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z" } },
	{ "45 1 * * *", "America/New_York", "2026-11-01T06:00:00Z", { "2026-11-02T06:45:00Z", "2026-11-03T06:45:00Z", "2026-11-04T06:45:00Z" } },
	{ "0 0 * * *", "America/New_York", "2026-11-01T00:00:00Z", { "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", "2026-11-03T05:00:00Z" } },
	{ "0 9 * * MON-FRI", "America/New_York", "2026-03-06T00:00:00Z", { "2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z", "2026-03-10T13:00:00Z" } },
};

/* Needs the zone in the tz database; the cases of a missing one fail with its name. */
static void
open_zone(nf_tz *tz, const char *name)
{
	ck_assert_msg(nf_tz_open(tz, name) == 0, "%s (is tzdata installed?)", nf_error_last());
}

START_TEST(test_fire_times)
{
	const fire_case *fc = &fire_cases[_i];
	nf_cron c;
	nf_tz tz;
	int64_t t;

	ck_assert_msg(nf_cron_parse(&c, fc->expr, NULL) == 0, "%s: %s", fc->expr, nf_error_last());
	open_zone(&tz, fc->tz);
	ck_assert_int_eq(nf_time_parse_utc(&t, fc->from), 0);
	for (int k = 0; k < 3; k++) {
		char got[32];

		ck_assert_msg(nf_cron_next(&c, &tz, t, &t) == 0, "%s: %s", fc->expr, nf_error_last());
		nf_time_format_utc(got, t);
		ck_assert_msg(strcmp(got, fc->want[k]) == 0, "\"%s\" in %s after %s: fire %d is %s, expected %s",
			      fc->expr, fc->tz, fc->from, k + 1, got, fc->want[k]);
	}
}
END_TEST

/* The fire before each expected one is the expected one before it, and the interval a
 * fire closes starts there: nf_cron_prev inverts nf_cron_next on every case, DST included. */
START_TEST(test_prev_and_interval)
{
	const fire_case *fc = &fire_cases[_i];
	nf_cron c;
	nf_tz tz;

	ck_assert_int_eq(nf_cron_parse(&c, fc->expr, NULL), 0);
	open_zone(&tz, fc->tz);
	for (int k = 1; k < 3; k++) {
		int64_t fire, want, got;
		nf_cron_span span;

		ck_assert_int_eq(nf_time_parse_utc(&fire, fc->want[k]), 0);
		ck_assert_int_eq(nf_time_parse_utc(&want, fc->want[k - 1]), 0);
		ck_assert_msg(nf_cron_prev(&c, &tz, fire, &got) == 0, "%s: %s", fc->expr, nf_error_last());
		ck_assert_msg(got == want, "\"%s\" in %s: the fire before %s is %lld, expected %s", fc->expr, fc->tz,
			      fc->want[k], (long long)got, fc->want[k - 1]);
		/* any instant inside the interval has the same previous fire */
		ck_assert_int_eq(nf_cron_prev(&c, &tz, fire - 1, &got), 0);
		ck_assert_int_eq(got, want);
		ck_assert_int_eq(nf_cron_interval(&c, &tz, fire, &span), 0);
		ck_assert_int_eq(span.start, want);
		ck_assert_int_eq(span.end, fire);
	}
}
END_TEST

START_TEST(test_case_count)
{
	ck_assert_uint_ge(NF_ARRAY_SIZE(fire_cases), 60);
}
END_TEST

typedef struct error_case {
	const char *expr;
	int field, offset;
	const char *msg;
} error_case;

static const error_case error_cases[] = {
	{ "0 24 * * *", NF_CRON_HOUR, 2, "value 24 out of range in schedule field 2 (hour); expected 0 to 23" },
	{ "60 * * * *", NF_CRON_MINUTE, 0, "value 60 out of range in schedule field 1 (minute); expected 0 to 59" },
	{ "0 0 0 * *", NF_CRON_DOM, 4, "value 0 out of range in schedule field 3 (day-of-month); expected 1 to 31" },
	{ "0 0 * 13 *", NF_CRON_MONTH, 6,
	  "value 13 out of range in schedule field 4 (month); expected 1 to 12 or JAN to DEC" },
	{ "0 0 * * 8", NF_CRON_DOW, 8,
	  "value 8 out of range in schedule field 5 (day-of-week); expected 0 to 7 (0 and 7 are Sunday) or SUN to SAT" },
	{ "0 5-1 * * *", NF_CRON_HOUR, 2, "range 5-1 runs backwards in schedule field 2 (hour)" },
	{ "0 0 * * FRI-MON", NF_CRON_DOW, 8, "range FRI-MON runs backwards in schedule field 5 (day-of-week)" },
	{ "*/0 * * * *", NF_CRON_MINUTE, 2, "step 0 out of range in schedule field 1 (minute); expected 1 to 59" },
	{ "0 */24 * * *", NF_CRON_HOUR, 4, "step 24 out of range in schedule field 2 (hour); expected 1 to 23" },
	{ "5/15 * * * *", NF_CRON_MINUTE, 1,
	  "step after the single value 5 in schedule field 1 (minute); a step follows * or a range (*/N, A-B/N)" },
	{ "*/ * * * *", NF_CRON_MINUTE, 2, "missing step in schedule field 1 (minute)" },
	{ "1,,2 * * * *", NF_CRON_MINUTE, 2, "missing value in schedule field 1 (minute)" },
	{ "1, * * * *", NF_CRON_MINUTE, 2, "missing value in schedule field 1 (minute)" },
	{ "1- * * * *", NF_CRON_MINUTE, 2, "missing value in schedule field 1 (minute)" },
	{ "0 3 ? * *", NF_CRON_DOM, 4, "invalid character '?' in schedule field 3 (day-of-month)" },
	{ "0 x * * *", NF_CRON_HOUR, 2, "invalid character 'x' in schedule field 2 (hour)" },
	{ "*-5 * * * *", NF_CRON_MINUTE, 1, "invalid character '-' in schedule field 1 (minute)" },
	{ "0 0 * * \xc3\xa9", NF_CRON_DOW, 8, "invalid byte 0xc3 in schedule field 5 (day-of-week)" },
	{ "0 3 1 FOO *", NF_CRON_MONTH, 6, "invalid name 'FOO' in schedule field 4 (month); expected JAN to DEC" },
	{ "0 3 * * MONDAY", NF_CRON_DOW, 8, "invalid name 'MONDAY' in schedule field 5 (day-of-week); expected SUN to SAT" },
	{ "0 3 * MON *", NF_CRON_MONTH, 6, "invalid name 'MON' in schedule field 4 (month); expected JAN to DEC" },
	{ "0 0 30 2 *", NF_CRON_DOM, 4,
	  "day 30 does not occur in the months allowed in schedule field 3 (day-of-month); the schedule would never fire" },
	{ "0 0 31 4,6,9,11 *", NF_CRON_DOM, 4,
	  "day 31 does not occur in the months allowed in schedule field 3 (day-of-month); the schedule would never fire" },
	{ "0 3 * *", -1, -1,
	  "invalid schedule \"0 3 * *\": expected 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly; found 4" },
	{ "", -1, -1,
	  "invalid schedule \"\": expected 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly; found 0" },
	{ "0 3 * * 1 2026", -1, 10,
	  "invalid schedule \"0 3 * * 1 2026\": expected 5 fields (minute hour day-of-month month day-of-week), found more" },
	{ "@weekley", -1, -1, "unknown schedule \"@weekley\"; did you mean \"@weekly\"?" },
	{ "@reboot", -1, -1, "unknown schedule \"@reboot\": expected @hourly, @daily, @weekly, @monthly or @yearly" },
	{ "@daily 3", -1, -1, "unknown schedule \"@daily 3\": expected @hourly, @daily, @weekly, @monthly or @yearly" },
};

START_TEST(test_errors)
{
	const error_case *ec = &error_cases[_i];
	nf_cron_error e = { 99, 99 };
	nf_cron c;

	ck_assert_int_eq(nf_cron_parse(&c, ec->expr, &e), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), ec->msg);
	ck_assert_int_eq(e.field, ec->field);
	ck_assert_int_eq(e.offset, ec->offset);
}
END_TEST

/* The sets a few expressions stand for, and Vixie's star flags. */
START_TEST(test_parsed_sets)
{
	nf_cron c;

	ck_assert_int_eq(nf_cron_parse(&c, " 1-30/5\t*/6 */10 JAN-MAR/2 5-7 ", NULL), 0);
	ck_assert_uint_eq(c.minute, (1ull << 1) | (1ull << 6) | (1ull << 11) | (1ull << 16) | (1ull << 21) | (1ull << 26));
	ck_assert_uint_eq(c.hour, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
	ck_assert_uint_eq(c.dom, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
	ck_assert_uint_eq(c.month, (1u << 1) | (1u << 3));
	ck_assert_uint_eq(c.dow, (1u << 5) | (1u << 6) | (1u << 0));
	ck_assert(c.dom_star);
	ck_assert(!c.dow_star);
	ck_assert_int_eq(nf_cron_parse(&c, "@weekly", NULL), 0);
	ck_assert_uint_eq(c.minute, 1);
	ck_assert_uint_eq(c.hour, 1);
	ck_assert_uint_eq(c.dow, 1);
	ck_assert(c.dom_star && !c.dow_star);
	ck_assert_int_eq(nf_cron_parse(&c, "0 0 * * sun,Sat", NULL), 0);
	ck_assert_uint_eq(c.dow, (1u << 0) | (1u << 6));
	ck_assert_str_eq(nf_cron_field_name(NF_CRON_DOW), "day-of-week");
}
END_TEST

/* A rare schedule is found by jumping through the calendar: Monday 29 February comes
 * every 28 years or so, and the next one after 2024 is in 2044 (OR rule aside: dow
 * restricted with a star dom). */
START_TEST(test_rare_and_far)
{
	nf_cron c;
	nf_tz utc;
	int64_t t, from;
	char got[32];

	open_zone(&utc, "UTC");
	ck_assert_int_eq(nf_cron_parse(&c, "0 0 */29 2 MON", NULL), 0);  /* days 1 and 29, Mondays only */
	ck_assert_int_eq(nf_time_parse_utc(&from, "2024-03-01"), 0);
	ck_assert_int_eq(nf_cron_next(&c, &utc, from, &t), 0);
	nf_time_format_utc(got, t);
	ck_assert_str_eq(got, "2027-02-01T00:00:00Z");
	ck_assert_int_eq(nf_cron_parse(&c, "0 0 29 2 *", NULL), 0);
	ck_assert_int_eq(nf_time_parse_utc(&from, "2096-03-01"), 0);
	ck_assert_int_eq(nf_cron_next(&c, &utc, from, &t), 0);
	nf_time_format_utc(got, t);
	ck_assert_str_eq(got, "2104-02-29T00:00:00Z");  /* 2100 is not a leap year */
	/* before the epoch and in far years the arithmetic holds */
	ck_assert_int_eq(nf_cron_parse(&c, "0 0 1 1 *", NULL), 0);
	ck_assert_int_eq(nf_cron_next(&c, &utc, -86400 * 365, &t), 0);
	ck_assert_int_eq(t, -86400 * 365 + 86400 * 365);  /* 1969-01-01 + 365 days = 1970-01-01 */
	ck_assert_int_eq(nf_time_parse_utc(&from, "9998-06-01"), 0);
	ck_assert_int_eq(nf_cron_next(&c, &utc, from, &t), 0);
	nf_time_format_utc(got, t);
	ck_assert_str_eq(got, "9999-01-01T00:00:00Z");
}
END_TEST

/* A zone is entered for the calculation only: TZ is what it was before, set or unset. */
START_TEST(test_tz_restored)
{
	nf_cron c;
	nf_tz berlin;
	int64_t t;

	open_zone(&berlin, "Europe/Berlin");
	ck_assert_int_eq(nf_cron_parse(&c, "0 3 * * *", NULL), 0);
	setenv("TZ", "Asia/Tokyo", 1);
	ck_assert_int_eq(nf_cron_next(&c, &berlin, 0, &t), 0);
	ck_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	ck_assert_int_eq(nf_cron_next(&c, &berlin, 0, &t), 0);
	ck_assert_ptr_null(getenv("TZ"));
	ck_assert_int_eq(t, 2 * 3600);  /* 1970-01-01 03:00 CET */
}
END_TEST

/* A zone whose file leaves the tz database after it was opened (a tzdata upgrade moving a
 * legacy name away, under a scheduler running for a year) is an error, not UTC: glibc
 * computes in UTC without a word when TZ names a missing file. */
START_TEST(test_zone_gone)
{
	char dir[] = "/tmp/nf-cron-tz.XXXXXX", *cmd;
	const char *saved = getenv("TZDIR");
	nf_cron c;
	nf_tz berlin;
	int64_t t, sleep_ms = 1100;
	struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000 };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	cmd = xasprintf("mkdir -p %s/Europe && cp /usr/share/zoneinfo/Europe/Berlin %s/Europe/", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	setenv("TZDIR", dir, 1);
	open_zone(&berlin, "Europe/Berlin");
	ck_assert_int_eq(nf_cron_parse(&c, "0 3 * * *", NULL), 0);
	ck_assert_int_eq(nf_cron_next(&c, &berlin, 0, &t), 0);
	ck_assert_int_eq(t, 2 * 3600);  /* 03:00 CET */
	cmd = xasprintf("rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	nanosleep(&ts, NULL);   /* past the second a zone found there is trusted */
	ck_assert_int_eq(nf_cron_next(&c, &berlin, 0, &t), NF_EINVALID);
	ck_assert_msg(strstr(nf_error_last(), "time zone \"Europe/Berlin\" is no longer in ") != NULL, "%s",
		      nf_error_last());
	if (saved)
		setenv("TZDIR", saved, 1);
	else
		unsetenv("TZDIR");
}
END_TEST

START_TEST(test_zones)
{
	nf_tz tz;

	ck_assert_int_eq(nf_tz_open(&tz, NULL), 0);
	ck_assert(tz.utc);
	ck_assert_str_eq(tz.name, "UTC");
	ck_assert_int_eq(nf_tz_open(&tz, "UTC"), 0);
	ck_assert(tz.utc);
	open_zone(&tz, "America/New_York");
	ck_assert(!tz.utc);
	ck_assert_str_eq(tz.name, "America/New_York");
	ck_assert_int_eq(nf_tz_open(&tz, "Mars/Olympus_Mons"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "unknown time zone \"Mars/Olympus_Mons\": no such zone in /usr/share/zoneinfo");
	ck_assert_int_eq(nf_tz_open(&tz, "../../etc/passwd"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(),
			 "invalid time zone \"../../etc/passwd\": expected a tz database name like \"Europe/Berlin\" or UTC");
	ck_assert_int_eq(nf_tz_open(&tz, "/etc/localtime"), NF_EINVALID);
	ck_assert_int_eq(nf_tz_open(&tz, "Europe/Berlin "), NF_EINVALID);
	ck_assert_int_eq(nf_tz_open(&tz, ""), NF_EINVALID);
	/* a folder, and a file of the database that is not a zone */
	ck_assert_int_eq(nf_tz_open(&tz, "Europe"), NF_EINVALID);
	ck_assert_int_eq(nf_tz_open(&tz, "zone.tab"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(),
			 "unknown time zone \"zone.tab\": /usr/share/zoneinfo/zone.tab is not a tz database file");
}
END_TEST

START_TEST(test_iso_times)
{
	int64_t t;
	char buf[32];

	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-23T03:00:00Z"), 0);
	nf_time_format_utc(buf, t);
	ck_assert_str_eq(buf, "2026-11-23T03:00:00Z");
	ck_assert_int_eq(t, 1795402800);
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-23T03:00Z"), 0);
	ck_assert_int_eq(t, 1795402800);
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-23T03:00:00"), 0);
	ck_assert_int_eq(t, 1795402800);
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-23"), 0);
	ck_assert_int_eq(t, 1795392000);
	ck_assert_int_eq(nf_time_parse_utc(&t, "2024-02-29"), 0);
	ck_assert_int_eq(nf_time_parse_utc(&t, "1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-02-29"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "invalid time '2026-02-29': no such date or time");
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-23T24:00:00Z"), NF_EINVALID);
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-23T03:00:00+01:00"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(),
			 "invalid time '2026-11-23T03:00:00+01:00': expected YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD (UTC)");
	ck_assert_int_eq(nf_time_parse_utc(&t, "tomorrow"), NF_EINVALID);
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-1-23"), NF_EINVALID);
	ck_assert_int_eq(nf_time_parse_utc(&t, ""), NF_EINVALID);
	nf_time_format_utc(buf, -1);
	ck_assert_str_eq(buf, "1969-12-31T23:59:59Z");
}
END_TEST

/* Dates in a zone: a bare date is its day's first instant there; an instant has a day. */
START_TEST(test_local_dates)
{
	nf_tz utc, berlin, ny, santiago;
	int64_t t;
	bool date_only;
	char buf[32];

	ck_assert_int_eq(nf_tz_open(&utc, NULL), 0);
	open_zone(&berlin, "Europe/Berlin");
	open_zone(&ny, "America/New_York");
	open_zone(&santiago, "America/Santiago");
	ck_assert_int_eq(nf_time_parse_in(&t, "2026-11-23", &utc, &date_only), 0);
	ck_assert(date_only);
	nf_time_format_utc(buf, t);
	ck_assert_str_eq(buf, "2026-11-23T00:00:00Z");
	ck_assert_int_eq(nf_time_parse_in(&t, "2026-11-23", &berlin, NULL), 0);
	nf_time_format_utc(buf, t);
	ck_assert_str_eq(buf, "2026-11-22T23:00:00Z");
	ck_assert_int_eq(nf_time_parse_in(&t, "2026-07-01", &berlin, NULL), 0);   /* summer time */
	nf_time_format_utc(buf, t);
	ck_assert_str_eq(buf, "2026-06-30T22:00:00Z");
	ck_assert_int_eq(nf_time_parse_in(&t, "2026-11-23", &ny, NULL), 0);
	nf_time_format_utc(buf, t);
	ck_assert_str_eq(buf, "2026-11-23T05:00:00Z");
	/* Chile's clocks skip from midnight to 01:00 on 2026-09-06: the day starts at the change. */
	ck_assert_int_eq(nf_time_parse_in(&t, "2026-09-06", &santiago, NULL), 0);
	nf_time_format_utc(buf, t);
	ck_assert_str_eq(buf, "2026-09-06T04:00:00Z");
	/* A time is UTC whatever the zone. */
	ck_assert_int_eq(nf_time_parse_in(&t, "2026-11-23T03:00:00Z", &berlin, &date_only), 0);
	ck_assert(!date_only);
	ck_assert_int_eq(t, 1795402800);
	ck_assert_int_eq(nf_time_parse_in(&t, "2026-02-30", &berlin, &date_only), NF_EINVALID);

	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-23T03:00:00Z"), 0);
	nf_time_format_date(buf, &utc, t);
	ck_assert_str_eq(buf, "2026-11-23");
	nf_time_format_date(buf, &ny, t);
	ck_assert_str_eq(buf, "2026-11-22");
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-22T23:00:00Z"), 0);
	nf_time_format_date(buf, &berlin, t);
	ck_assert_str_eq(buf, "2026-11-23");
	nf_time_format_date(buf, &utc, t);
	ck_assert_str_eq(buf, "2026-11-22");
}
END_TEST

/* nf_cron_format: numbers only, and read back it is the same schedule (the sets and the
 * '*' of the day fields the OR rule reads), for the cases below and every fire case. */
static const struct {
	const char *expr, *want;
} format_cases[] = {
	{ "0 3 * * MON", "0 3 * * 1" },
	{ "@weekly", "0 0 * * 0" },
	{ "@hourly", "0 * * * *" },
	{ "@yearly", "0 0 1 1 *" },
	{ "*/15 9-17 * JAN,jul MON-FRI", "*/15 9-17 * */6 1-5" },
	{ "0,1,2,5 0 * * SUN,7", "0-2,5 0 * * 0" },
	{ "1-30/5 */2 1-31 * 1", "1,6,11,16,21,26 */2 1-31 * 1" },
	{ "0 0 13 * FRI", "0 0 13 * 5" },
	{ "0 0 */2 * 1", "0 0 */2 * 1" },           /* dom starts with '*': AND rule kept */
	{ "0 0 */31 * 1", "0 0 */31 * 1" },
	{ "0 0 */10,5 * MON", "0 0 */31,5,11,21,31 * 1" },
	{ "0 0 1 * */3,2", "0 0 1 * */7,2,3,6" },
	{ "0 0 * * 0-6", "0 0 * * 0-6" },           /* a restricted dow stays restricted */
	{ "0 0 29 2 *", "0 0 29 2 *" },
};

static void
check_round_trip(const char *expr, const char *want)
{
	nf_buf b = NF_BUF_INIT;
	nf_cron c, back;

	ck_assert_msg(nf_cron_parse(&c, expr, NULL) == 0, "%s: %s", expr, nf_error_last());
	nf_cron_format(&b, &c);
	if (want)
		ck_assert_msg(strcmp(nf_buf_cstr(&b), want) == 0, "\"%s\" written \"%s\", expected \"%s\"", expr,
			      nf_buf_cstr(&b), want);
	for (const char *p = nf_buf_cstr(&b); *p; p++)
		ck_assert_msg(!(*p >= 'A' && *p <= 'Z') && *p != '@', "\"%s\" written \"%s\"", expr, nf_buf_cstr(&b));
	ck_assert_msg(nf_cron_parse(&back, nf_buf_cstr(&b), NULL) == 0, "%s: %s", nf_buf_cstr(&b), nf_error_last());
	ck_assert_msg(back.minute == c.minute && back.hour == c.hour && back.dom == c.dom && back.month == c.month &&
			      back.dow == c.dow && back.dom_star == c.dom_star && back.dow_star == c.dow_star,
		      "\"%s\" written \"%s\" reads back as another schedule", expr, nf_buf_cstr(&b));
	nf_buf_release(&b);
}

START_TEST(test_format)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(format_cases); i++)
		check_round_trip(format_cases[i].expr, format_cases[i].want);
	for (size_t i = 0; i < NF_ARRAY_SIZE(fire_cases); i++)
		check_round_trip(fire_cases[i].expr, NULL);
}
END_TEST

static Suite *
cron_suite(void)
{
	Suite *s = suite_create("cron");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_fire_times, 0, (int)NF_ARRAY_SIZE(fire_cases));
	tcase_add_loop_test(tc, test_prev_and_interval, 0, (int)NF_ARRAY_SIZE(fire_cases));
	tcase_add_test(tc, test_case_count);
	tcase_add_loop_test(tc, test_errors, 0, (int)NF_ARRAY_SIZE(error_cases));
	tcase_add_test(tc, test_parsed_sets);
	tcase_add_test(tc, test_rare_and_far);
	tcase_add_test(tc, test_tz_restored);
	tcase_add_test(tc, test_zones);
	tcase_add_test(tc, test_zone_gone);
	tcase_add_test(tc, test_iso_times);
	tcase_add_test(tc, test_local_dates);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cron_suite());
	int failed;

	/* the messages name the default folder */
	unsetenv("TZDIR");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
