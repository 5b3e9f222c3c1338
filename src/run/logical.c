/* logical.c: the interval a run stands for and its logical date. A scheduled or backfill run
 * is given its interval [start, end) by its caller (--date START --interval-end END); a run
 * started with --trigger schedule and no --date (a crontab line) works it out from the
 * pipeline's schedule: the interval closed by the latest fire time up to now. Any other run
 * stands for one instant, --date or now. ${run.date} is the start's day in the pipeline's
 * time zone, ${run.week} that day's ISO week. */
#include "config.h"
#include "run-internal.h"

#include <string.h>

#include "ntflow/cron.h"

/* A --date or --interval-end value as an instant: a bare date is its day's midnight in tz. */
static int
parse_time(int64_t *out, const char *opt, const char *s, const nf_tz *tz)
{
	if (nf_time_parse_in(out, s, tz, NULL) == 0)
		return 0;
	if (strstr(nf_error_last(), "no such"))
		return nf_error_set(NF_EINVALID, "invalid %s '%s': no such date or time", opt, s);
	return nf_error_set(NF_EINVALID, "invalid %s '%s': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z", opt, s);
}

/* The interval of the schedule's latest fire time at or before now. */
static int
scheduled_interval(run_ctx *ctx, const nf_tz *tz, int64_t now, nf_cron_span *span)
{
	const nf_pipeline *pl = &ctx->dag->pipeline;
	nf_cron cron;
	int64_t fire;
	int err;

	if (!ctx->dag->has_pipeline || !pl->schedule)
		return nf_error_set(NF_EINVALID,
				    "%s has no schedule: --trigger schedule without --date takes its interval from the"
				    " pipeline's schedule = \"...\" (or give --date START --interval-end END)",
				    ctx->req->dag_path);
	if ((err = nf_cron_parse(&cron, pl->schedule, NULL)) < 0 ||
	    (err = nf_cron_prev(&cron, tz, now + 1, &fire)) < 0 || (err = nf_cron_interval(&cron, tz, fire, span)) < 0)
		return err;
	return 0;
}

int
nf_run__logical(run_ctx *ctx)
{
	const nf_run_request *req = ctx->req;
	const char *zone = ctx->dag->has_pipeline ? ctx->dag->pipeline.timezone : NULL;
	nf_cron_span span;
	nf_tz tz;
	int err;

	if ((err = nf_tz_open(&tz, zone)) < 0)
		return err;
	if (req->interval_end && !req->date)
		return nf_error_set(NF_EINVALID, "--interval-end needs --date, the start of the interval");
	if (req->date) {
		if ((err = parse_time(&span.start, "--date", req->date, &tz)) < 0)
			return err;
		span.end = span.start;
		if (req->interval_end) {
			if ((err = parse_time(&span.end, "--interval-end", req->interval_end, &tz)) < 0)
				return err;
			if (span.end <= span.start)
				return nf_error_set(NF_EINVALID, "--interval-end '%s' is not later than --date '%s'",
						    req->interval_end, req->date);
		}
	} else if (strcmp(ctx->trigger, "schedule") == 0) {
		if ((err = scheduled_interval(ctx, &tz, nf_now_realtime_ms() / 1000, &span)) < 0)
			return err;
	} else {
		span.start = span.end = nf_now_realtime_ms() / 1000;
	}
	nf_time_format_utc(ctx->interval_start, span.start);
	nf_time_format_utc(ctx->interval_end, span.end);
	nf_time_format_date(ctx->date, &tz, span.start);
	return nf_iso_week(ctx->week, ctx->date);
}
