/* tui/pane-header.c: the top line: pipeline, run, trigger, commit, elapsed, progress, status
 * and the estimated end. */
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

static void
header_draw(nf_pane *p, const nf_view *v, WINDOW *w)
{
	const char *sep = nf_draw_sym(" \xc2\xb7 ", " | ");
	int64_t now = nf_now_realtime_ms(), end, eta;
	char dur[32], buf[256];
	int x = 0, width = p->w;

	(void)p;
	if (!v->have_run) {
		nf_draw_printf(w, 0, 0, width, " ntflow dash%swaiting for a run in %s", sep, v->state_dir);
		return;
	}
	end = v->run.finished_ms ? v->run.finished_ms : now;
	nf_draw_duration(dur, sizeof(dur), end - v->run.started_ms);
	wattrset(w, A_BOLD);
	x += nf_draw_printf(w, 0, x, width - x, " %s", v->run.pipeline);
	wattrset(w, A_NORMAL);
	snprintf(buf, sizeof(buf), "%srun %lld%s%s", sep, (long long)v->run.id, sep, v->run.trigger);
	x += nf_draw_text(w, 0, x, width - x, buf);
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
	if (v->run.status == NF_RUN_RUNNING && (eta = nf_view_eta(v, now)) > 0) {
		nf_draw_duration(dur, sizeof(dur), eta - now);
		snprintf(buf, sizeof(buf), "%sETA %s", sep, dur);
		nf_draw_text(w, 0, x, width - x, buf);
	}
}

const nf_pane_ops nf_pane_header = {
	.title = "header",
	.draw = header_draw,
	.deps = NF_V_RUN | NF_V_NODES | NF_V_CLOCK,
	.min_rows = 1,
};
