/* tui/pane-header.c: the top line: pipeline, run, trigger, cohort, commit, elapsed, progress, status
 * and the estimated end (or, before the first run, what the dashboard waits for); a second
 * line for a pipeline with a schedule: the expression, its zone and the next fire time. */
#include "config.h"
#include "tui-internal.h"

#include <stdio.h>
#include <string.h>

static attr_t
status_attr(nf_run_status s)
{
	switch (s) {
	case NF_RUN_SUCCEEDED: return nf_draw_attr(NF_C_OK) | A_BOLD;
	case NF_RUN_RUNNING: return nf_draw_attr(NF_C_RUN) | A_BOLD;
	case NF_RUN_GATED: return nf_draw_attr(NF_C_GATE) | A_BOLD;
	default: return nf_draw_attr(NF_C_FAIL);
	}
}

/* "6d23h", "3h05m", "12m", "<1m": how long until a fire time, to the minute (the header
 * is redrawn every minute when nothing runs). */
static void
until_text(char *out, size_t size, int64_t secs)
{
	int64_t m = (secs + 59) / 60;

	if (secs < 60)
		snprintf(out, size, "<1m");
	else if (m < 60)
		snprintf(out, size, "%lldm", (long long)m);
	else if (m < 24 * 60)
		snprintf(out, size, "%lldh%02lldm", (long long)(m / 60), (long long)(m % 60));
	else
		snprintf(out, size, "%lldd%02lldh", (long long)(m / (24 * 60)), (long long)(m / 60 % 24));
}

/* Line y: "schedule 0 3 * * MON (Europe/Berlin) · next 2026-11-30T02:00:00Z, in 6d23h". */
static void
schedule_draw(const nf_view *v, WINDOW *w, int y, int width, const char *sep)
{
	int64_t now = nf_now_realtime_ms() / 1000, next;
	char at[32], in[32], zone[128] = "";
	int x = 0;

	if (!v->tz.utc)
		snprintf(zone, sizeof(zone), " (%s)", v->tz.name);
	wattrset(w, nf_draw_attr(NF_C_DIM));
	x += nf_draw_text(w, y, x, width - x, " schedule ");
	wattrset(w, A_NORMAL);
	x += nf_draw_printf(w, y, x, width - x, "%s%s", v->schedule, zone);
	if (!nf_view_next_fire(v, now, &next))
		return;
	nf_time_format_utc(at, next);
	until_text(in, sizeof(in), next - now);
	x += nf_draw_text(w, y, x, width - x, sep);
	wattrset(w, nf_draw_attr(NF_C_DIM));
	x += nf_draw_text(w, y, x, width - x, "next ");
	wattrset(w, A_NORMAL);
	nf_draw_printf(w, y, x, width - x, "%s, in %s", at, in);
}

static void
header_draw(nf_pane *p, const nf_view *v, WINDOW *w)
{
	const char *sep = nf_draw_sym(" \xc2\xb7 ", " | ");
	int64_t now = nf_now_realtime_ms(), end, eta;
	char dur[32], buf[256];
	int x = 0, width = p->w;

	if (v->schedule && p->h > 1)
		schedule_draw(v, w, 1, width, sep);
	if (!v->have_run) {
		/* Before the first run: what it waits for; the store's error while it cannot
		 * be opened. */
		if (v->pipeline)
			x += nf_draw_printf(w, 0, 0, width, " ntflow dash%swaiting for the first run of %s in %s", sep,
					    v->pipeline, v->state_dir);
		else
			x += nf_draw_printf(w, 0, 0, width, " ntflow dash%swaiting for the first run in %s", sep,
					    v->state_dir);
		if (v->store_error)
			nf_draw_printf(w, 0, x, width - x, "%s%s", sep, v->store_error);
		return;
	}
	end = v->run.finished_ms ? v->run.finished_ms : now;
	nf_draw_duration(dur, sizeof(dur), end - v->run.started_ms);
	wattrset(w, A_BOLD);
	x += nf_draw_printf(w, 0, x, width - x, " %s", v->run.pipeline);
	wattrset(w, A_NORMAL);
	snprintf(buf, sizeof(buf), "%srun %lld%s%s", sep, (long long)v->run.id, sep, v->run.trigger);
	x += nf_draw_text(w, 0, x, width - x, buf);
	if (v->run.cohort) {
		snprintf(buf, sizeof(buf), "%scohort %s", sep, v->run.cohort);
		x += nf_draw_text(w, 0, x, width - x, buf);
	}
	if (v->run.commit) {
		snprintf(buf, sizeof(buf), "%s%.8s%s", sep, v->run.commit, v->run.dirty ? "+dirty" : "");
		x += nf_draw_text(w, 0, x, width - x, buf);
	}
	snprintf(buf, sizeof(buf), "%s%s%s%zu/%zu", sep, dur, sep, v->ndone, v->nnodes);
	x += nf_draw_text(w, 0, x, width - x, buf);
	x += nf_draw_text(w, 0, x, width - x, sep);
	wattrset(w, status_attr(v->run.status));
	x += nf_draw_text(w, 0, x, width - x, nf_run_status_name(v->run.status));
	wattrset(w, A_NORMAL);
	if (v->picked_run) {
		/* a run picked from the runs list (R): say so, and the way back */
		wattrset(w, A_REVERSE);
		x += nf_draw_printf(w, 0, x, width - x, "%solder run: L back to the %s one", sep,
				    v->live || v->run_dash ? "live" : "latest");
		wattrset(w, A_NORMAL);
	}
	if (v->run.status == NF_RUN_RUNNING && (eta = nf_view_eta(v, now)) > 0) {
		nf_draw_duration(dur, sizeof(dur), eta - now);
		snprintf(buf, sizeof(buf), "%sETA %s", sep, dur);
		nf_draw_text(w, 0, x, width - x, buf);
	}
}

/* Two lines for a pipeline with a schedule. */
static int
header_want_rows(const nf_pane *p, const nf_view *v)
{
	(void)p;
	return v->schedule ? 2 : 1;
}

const nf_pane_ops nf_pane_header = {
	.title = "header",
	.draw = header_draw,
	.want_rows = header_want_rows,
	.deps = NF_V_RUN | NF_V_NODES | NF_V_CLOCK,
	.min_rows = 1,
};
