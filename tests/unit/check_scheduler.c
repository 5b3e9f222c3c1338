/* check_scheduler.c: the scheduler daemon's decisions (src/sched/plan.c) stepped over a
 * simulated year, outages with and without catch-up, start deadlines, overlaps and alert
 * cooldowns, DST intervals; and its tables in the store (src/store/schedules.c). */
#include "config.h"
#include "ntflow/sched.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntflow/store.h"
#include "ntflow/util.h"

static int64_t
at(const char *iso)
{
	int64_t t;

	ck_assert_msg(nf_time_parse_utc(&t, iso) == 0, "%s", iso);
	return t;
}

static nf_sched_policy
policy(const char *expr, const char *zone)
{
	nf_sched_policy p = { .max_active = 1, .cooldown = 86400 };

	ck_assert_int_eq(nf_cron_parse(&p.cron, expr, NULL), 0);
	ck_assert_int_eq(nf_tz_open(&p.tz, zone), 0);
	return p;
}

/* What a daemon awake at `now` does: decides until nothing more is due, starting runs with
 * `active` going and applying each decision. Returns how many runs started; their
 * intervals go to spans. */
static int
decide_all(const nf_sched_policy *p, int64_t *last_end, int64_t now, int64_t since, int active,
	   nf_cron_span *spans, int max, int *skipped, int *missed)
{
	int started = 0;

	for (int guard = 0; guard < 1000; guard++) {
		nf_sched_act a;

		ck_assert_int_eq(nf_sched_decide(p, *last_end, now, since, active, &a), 0);
		switch (a.kind) {
		case NF_SA_NONE:
		case NF_SA_WAIT:
			return started;
		case NF_SA_START:
			if (started < max)
				spans[started] = a.span;
			started++;
			break;
		case NF_SA_SKIP:
			if (skipped)
				*skipped += (int)a.count;
			break;
		case NF_SA_MISSED:
			if (missed)
				(*missed)++;
			break;
		}
		ck_assert_int_gt(a.last_end, *last_end);
		*last_end = a.last_end;
	}
	ck_abort_msg("decisions did not settle");
	return started;
}

/* A weekly schedule woken every hour for a year fires once per week, each run standing for
 * the week before its fire time, with no gap and no overlap between intervals. */
START_TEST(test_year_of_weeks)
{
	nf_sched_policy p = policy("@weekly", "UTC");
	int64_t t0 = at("2026-01-01T00:00:00Z"), last_end = t0, prev_end = 0;
	nf_cron_span s;
	int runs = 0;

	for (int64_t now = t0; now < t0 + 365 * 86400; now += 3600) {
		int n = decide_all(&p, &last_end, now, t0, 0, &s, 1, NULL, NULL);

		ck_assert_int_le(n, 1);
		if (!n)
			continue;
		runs++;
		ck_assert_int_eq(s.end - s.start, 7 * 86400);
		ck_assert_int_le(now - s.end, 3600);   /* started within the hour it was due */
		if (prev_end)
			ck_assert_int_eq(s.start, prev_end);
		prev_end = s.end;
	}
	ck_assert_int_eq(runs, 52);   /* Sundays of 2026 after Jan 1: Jan 4 ... Dec 27 */
}
END_TEST

/* Woken exactly at each fire time, with the wake time it asks for: the clock interface's
 * contract (a timer, not polling). */
START_TEST(test_wake_times)
{
	nf_sched_policy p = policy("0 3 * * 1", "UTC");
	int64_t now = at("2026-11-20T12:00:00Z"), last_end = now;
	nf_sched_act a;
	nf_cron_span s;

	ck_assert_int_eq(nf_sched_decide(&p, last_end, now, now, 0, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_NONE);
	ck_assert_int_eq(a.wake, at("2026-11-23T03:00:00Z"));
	now = a.wake;
	ck_assert_int_eq(decide_all(&p, &last_end, now, 0, 0, &s, 1, NULL, NULL), 1);
	ck_assert_int_eq(s.start, at("2026-11-16T03:00:00Z"));
	ck_assert_int_eq(s.end, at("2026-11-23T03:00:00Z"));
	ck_assert_int_eq(nf_sched_decide(&p, last_end, now, 0, 0, &a), 0);
	ck_assert_int_eq(a.wake, at("2026-11-30T03:00:00Z"));
}
END_TEST

/* Three weeks down: catchup = false runs the newest interval once and skips two; catchup =
 * true runs all three, oldest first, marked as catch-up runs. */
START_TEST(test_outage)
{
	nf_sched_policy p = policy("@weekly", "UTC");
	int64_t reg = at("2026-11-01T00:00:00Z"), last_end, back = at("2026-11-22T00:30:00Z");
	nf_cron_span s[8];
	nf_sched_act a;
	int skipped = 0;

	last_end = reg;
	ck_assert_int_eq(decide_all(&p, &last_end, back, back, 0, s, 8, &skipped, NULL), 1);
	ck_assert_int_eq(skipped, 2);
	ck_assert_int_eq(s[0].start, at("2026-11-15T00:00:00Z"));
	ck_assert_int_eq(s[0].end, at("2026-11-22T00:00:00Z"));

	p.catchup = true;
	last_end = reg;
	skipped = 0;
	ck_assert_int_eq(decide_all(&p, &last_end, back, back, 0, s, 8, &skipped, NULL), 3);
	ck_assert_int_eq(skipped, 0);
	ck_assert_int_eq(s[0].start, at("2026-11-01T00:00:00Z"));
	ck_assert_int_eq(s[1].start, at("2026-11-08T00:00:00Z"));
	ck_assert_int_eq(s[2].start, at("2026-11-15T00:00:00Z"));
	last_end = reg;
	ck_assert_int_eq(nf_sched_decide(&p, last_end, back, back, 0, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_START);
	ck_assert(a.catchup);
	/* one at a time with max_active_runs 1: the second waits for the first */
	ck_assert_int_eq(nf_sched_decide(&p, a.last_end, back, back, 1, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_WAIT);
	ck_assert_int_eq(a.span.start, at("2026-11-08T00:00:00Z"));
	/* a run due while the daemon is up is no catch-up */
	ck_assert_int_eq(nf_sched_decide(&p, reg, at("2026-11-08T00:00:00Z"), reg, 0, &a), 0);
	ck_assert(!a.catchup);
}
END_TEST

START_TEST(test_start_deadline)
{
	nf_sched_policy p = policy("@daily", "UTC");
	int64_t last_end = at("2026-11-01T00:00:00Z");
	nf_sched_act a;

	p.deadline = 6 * 3600;
	ck_assert_int_eq(nf_sched_decide(&p, last_end, at("2026-11-02T05:59:00Z"), 0, 0, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_START);
	ck_assert_int_eq(nf_sched_decide(&p, last_end, at("2026-11-02T06:00:01Z"), 0, 0, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_MISSED);
	ck_assert_int_eq(a.last_end, at("2026-11-02T00:00:00Z"));
	/* waiting on an overlap wakes at the deadline, to record the miss then */
	ck_assert_int_eq(nf_sched_decide(&p, last_end, at("2026-11-02T01:00:00Z"), 0, 1, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_WAIT);
	ck_assert_int_eq(a.wake, at("2026-11-02T06:00:01Z"));
	/* what a run started then may still wait for the workspace lock: the rest of the
	 * deadline, at least a second at its last second, none past it */
	ck_assert_int_eq(nf_sched_deadline_wait(&p, at("2026-11-02T00:00:00Z"), at("2026-11-02T01:00:00Z")), 5 * 3600);
	ck_assert_int_eq(nf_sched_deadline_wait(&p, at("2026-11-02T00:00:00Z"), at("2026-11-02T06:00:00Z")), 1);
	ck_assert_int_eq(nf_sched_deadline_wait(&p, at("2026-11-02T00:00:00Z"), at("2026-11-02T06:00:01Z")), -1);
	p.deadline = 0;
	ck_assert_int_eq(nf_sched_decide(&p, last_end, at("2026-11-02T01:00:00Z"), 0, 1, &a), 0);
	ck_assert_int_eq(a.wake, INT64_MAX);
	ck_assert_int_eq(nf_sched_deadline_wait(&p, at("2026-11-02T00:00:00Z"), at("2027-11-02T00:00:00Z")), 0);
}
END_TEST

START_TEST(test_overlap)
{
	nf_sched_policy p = policy("@hourly", "UTC");
	int64_t last_end = at("2026-11-01T00:00:00Z"), now = at("2026-11-01T01:00:00Z");
	nf_sched_act a;

	p.max_active = 2;
	ck_assert_int_eq(nf_sched_decide(&p, last_end, now, 0, 1, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_START);
	ck_assert_int_eq(nf_sched_decide(&p, last_end, now, 0, 2, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_WAIT);
	p.overlap_skip = true;
	ck_assert_int_eq(nf_sched_decide(&p, last_end, now, 0, 2, &a), 0);
	ck_assert_int_eq(a.kind, NF_SA_SKIP);
	ck_assert_int_eq(a.count, 1);
	ck_assert_str_eq(a.why, "overlap = skip");
	ck_assert_int_eq(a.last_end, now);
}
END_TEST

START_TEST(test_alert_cooldown)
{
	nf_sched_policy p = policy("@weekly", "UTC");
	int64_t now = at("2026-11-10T12:00:00Z"), until;

	ck_assert_int_eq(nf_sched_alert_decide(&p, now, 0, 0, &until), NF_SAA_START);
	ck_assert_int_eq(nf_sched_alert_decide(&p, now, now - 3600, 0, &until), NF_SAA_SUPPRESS);
	ck_assert_int_eq(until, now - 3600 + 86400);
	ck_assert_int_eq(nf_sched_alert_decide(&p, now, now - 86400, 0, &until), NF_SAA_START);
	ck_assert_int_eq(nf_sched_alert_decide(&p, now, 0, 1, &until), NF_SAA_WAIT);
	p.cooldown = 0;
	ck_assert_int_eq(nf_sched_alert_decide(&p, now, now - 1, 0, &until), NF_SAA_START);
}
END_TEST

/* A daily 02:30 in Berlin across the spring-forward night (02:30 does not exist on 29 March
 * 2026: it fires at 03:00 CEST, 01:00Z) and the autumn night (02:30 happens twice: once). */
START_TEST(test_dst_intervals)
{
	nf_sched_policy p = policy("30 2 * * *", "Europe/Berlin");
	int64_t last_end = at("2026-03-28T01:30:00Z");
	nf_cron_span s[4];

	ck_assert_int_eq(decide_all(&p, &last_end, at("2026-03-29T01:00:00Z"), 0, 0, s, 4, NULL, NULL), 1);
	ck_assert_int_eq(s[0].end, at("2026-03-29T01:00:00Z"));
	ck_assert_int_eq(s[0].end - s[0].start, 23 * 3600 + 1800);
	last_end = at("2026-10-24T00:30:00Z");
	ck_assert_int_eq(decide_all(&p, &last_end, at("2026-10-26T12:00:00Z"), 0, 0, s, 4, NULL, NULL), 1);
	p.catchup = true;
	last_end = at("2026-10-24T00:30:00Z");
	ck_assert_int_eq(decide_all(&p, &last_end, at("2026-10-26T12:00:00Z"), 0, 0, s, 4, NULL, NULL), 2);
	ck_assert_int_eq(s[0].end, at("2026-10-25T00:30:00Z"));   /* 02:30 CEST, the first pass */
	ck_assert_int_eq(s[1].end - s[1].start, 25 * 3600);
}
END_TEST

START_TEST(test_store_tables)
{
	nf_store *st = NULL;
	nf_schedule_row row = { .pipeline = "wk", .file = "dags/wk.dag", .cron = "@weekly", .timezone = "UTC",
				.policy = "run the latest only", .last_end = 100, .registered = 50, .updated = 100 };
	nf_schedule_row got;
	nf_schedule_event ev = { .time = 100, .pipeline = "wk", .decision = "fired", .interval_start = 10,
				 .interval_end = 100, .exit_status = -1 }, *list = NULL;
	nf_schedule_row *rows = NULL;
	nf_active_run act[4];
	size_t n = 0;

	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	ck_assert_int_eq(nf_store_schedule_get(st, "wk", &got), NF_ENOTFOUND);
	ck_assert_int_eq(nf_store_schedule_put(st, &row), 0);
	ck_assert_int_eq(nf_store_schedule_event_add(st, &ev), 0);
	ck_assert_int_gt(ev.id, 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_schedule_get(st, "wk", &got), 0);
	ck_assert_str_eq(got.cron, "@weekly");
	ck_assert_int_eq(got.last_end, 100);
	ck_assert_int_eq(got.registered, 50);
	nf_schedule_row_release(&got);
	row.last_end = 200;
	ck_assert_int_eq(nf_store_schedule_put(st, &row), 0);
	ck_assert_int_eq(nf_store_schedule_list(st, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(rows[0].last_end, 200);
	nf_schedule_row_list_free(rows, n);
	ck_assert_int_eq(nf_store_schedule_event_update(st, ev.id, 4242, 0, -1), 0);
	ck_assert_int_eq(nf_store_schedule_event_update(st, ev.id, 0, 7, 3), 0);
	ck_assert_int_eq(nf_store_schedule_events(st, "wk", "fired", 0, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0].pid, 4242);
	ck_assert_int_eq(list[0].run_id, 7);
	ck_assert_int_eq(list[0].exit_status, 3);
	ck_assert_int_eq(list[0].interval_start, 10);
	nf_schedule_event_list_free(list, n);
	ck_assert_int_eq(nf_store_schedule_events(st, "other", NULL, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(list);
	/* this process's own running run counts as active; a finished one does not */
	{
		nf_run_info info = { .pipeline = "wk", .trigger = "schedule" };
		int64_t id;

		ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
		ck_assert_int_eq(nf_store_runs_active(st, "wk", act, 4, &n), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(act[0].id, info.id);
		ck_assert_int_eq(nf_store_run_of_pid(st, "wk", act[0].pid, info.started_ms - 5000, &id), 0);
		ck_assert_int_eq(id, info.id);
		/* asked for by a process started after it: that pid's earlier holder's run */
		ck_assert_int_eq(nf_store_run_of_pid(st, "wk", act[0].pid, info.started_ms + 1, &id), NF_ENOTFOUND);
		ck_assert_int_eq(nf_store_run_end(st, info.id, NF_RUN_SUCCEEDED), 0);
		ck_assert_int_eq(nf_store_runs_active(st, "wk", act, 4, &n), 0);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(nf_store_run_of_pid(st, "wk", 1, 0, &id), NF_ENOTFOUND);
	}
	/* A decision's run, found by its child's pid, is the newest run of that pid with the
	 * decision's trigger and interval: not a later run of the reused pid (a manual run, a
	 * run of another interval), and an alert's run has trigger alert. */
	{
		nf_run_info sched = { .pipeline = "wk", .trigger = "schedule", .interval_start = "2026-10-26T00:00:00Z",
				      .interval_end = "2026-11-02T00:00:00Z" };
		nf_run_info other = { .pipeline = "wk", .trigger = "schedule", .interval_start = "2026-11-02T00:00:00Z",
				      .interval_end = "2026-11-09T00:00:00Z" };
		nf_run_info manual = { .pipeline = "wk", .trigger = "manual" }, alert = { .pipeline = "wk", .trigger = "alert" };
		nf_schedule_event fired = { .pipeline = "wk", .decision = "fired", .interval_start = 1792972800,
					    .interval_end = 1793577600, .pid = getpid(), .exit_status = -1 };
		nf_schedule_event al = { .pipeline = "wk", .decision = "alert", .interval_start = 1794000000,
					 .interval_end = 1794000000, .pid = getpid(), .exit_status = -1 };
		int64_t id;

		ck_assert_int_eq(nf_store_run_begin(st, &sched), 0);
		ck_assert_int_eq(nf_store_run_begin(st, &alert), 0);
		ck_assert_int_eq(nf_store_run_begin(st, &other), 0);
		ck_assert_int_eq(nf_store_run_begin(st, &manual), 0);
		ck_assert_int_eq(nf_store_run_of_event(st, &fired, &id), 0);
		ck_assert_int_eq(id, sched.id);
		ck_assert_int_eq(nf_store_run_of_event(st, &al, &id), 0);
		ck_assert_int_eq(id, alert.id);
		fired.interval_start = 1793577600;
		ck_assert_int_eq(nf_store_run_of_event(st, &fired, &id), 0);
		ck_assert_int_eq(id, other.id);
		fired.interval_start = 1794182400;
		ck_assert_int_eq(nf_store_run_of_event(st, &fired, &id), NF_ENOTFOUND);
		/* settled: its end known to have come while the machine stayed up, once */
		ck_assert_int_eq(nf_store_schedule_event_add(st, &fired), 0);
		ck_assert_int_eq(nf_store_schedule_event_settle(st, fired.id), 0);
		ck_assert_int_eq(nf_store_schedule_event_update(st, fired.id, 0, 0, 0), 0);
		ck_assert_int_eq(nf_store_schedule_event_settle(st, fired.id), 0);
		ck_assert_int_eq(nf_store_schedule_events(st, "wk", "fired", 1, &list, &n), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(list[0].exit_status, 0);   /* reaped after it was settled: that stays */
		nf_schedule_event_list_free(list, n);
	}
	nf_store_close(st);
}
END_TEST

static Suite *
scheduler_suite(void)
{
	Suite *s = suite_create("scheduler");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_year_of_weeks);
	tcase_add_test(tc, test_wake_times);
	tcase_add_test(tc, test_outage);
	tcase_add_test(tc, test_start_deadline);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_alert_cooldown);
	tcase_add_test(tc, test_dst_intervals);
	tcase_add_test(tc, test_store_tables);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(scheduler_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
