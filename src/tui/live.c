/* tui/live.c: the dashboard inside `ntflow run`: the run's callbacks (events update the view
 * at once; drawing waits for the next tick), the end of the run, and the plain summary left
 * in the scroll-back. */
#include "config.h"
#include "screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
nf_tui_run_start(nf_tui *t, int64_t run_id, const char *pipeline, size_t total)
{
	(void)pipeline;
	(void)total;
	t->live_run = run_id;
	t->pending |= nf_view_load_run(&t->v, run_id);
	if (t->on)
		nf_tui__first_frame(t);
}

void
nf_tui_run_event(nf_tui *t, const nf_run_event *ev)
{
	unsigned ch;

	if (t->detached || (ev->run_id && ev->run_id != t->v.run_id))
		return;   /* an older run is shown (the runs list): L reloads this one */
	/* The selection follows at the next tick: a thousand events must not walk the rows a
	 * thousand times. */
	ch = nf_view_event(&t->v, ev);
	t->pending |= ch;
}

void
nf_tui_run_tick(nf_tui *t, nf_run_ctl *ctl)
{
	nf_tui__tick(t, ctl);
}

void
nf_tui_run_warning(nf_tui *t, const char *msg)
{
	NF_PUSH(t->warnings, t->nwarnings, t->wcap, xstrdup(msg));
	if (t->on)
		nf_view_message(&t->v, "warning: %s", msg);
}

bool
nf_tui_detached(const nf_tui *t)
{
	return t->detached;
}

int64_t
nf_tui_run_shown(const nf_tui *t)
{
	return t->v.have_run ? t->v.run_id : 0;
}

void
nf_tui_run_finished(nf_tui *t, nf_run_status status)
{
	t->finished = true;
	t->final_status = status;
	/* Everything the run committed at its end: its status, the gate, the registry, alerts. */
	nf_view_reload_gov(&t->v);
	t->pending |= nf_view_poll(&t->v);
	t->next_poll = 0;
	if (!t->on || t->detached)
		return;
	/* Cancelled by Ctrl-C or by q then c: the user is leaving; a stage cancelled with c is
	 * no reason to close the screen. */
	if (!t->interactive || (status == NF_RUN_CANCELLED && (t->cancel_asked || nf_signals_seen() > 0))) {
		/* The last picture, whole (a --screen file then ends with all of it). */
		nf_tui__first_frame(t);
		return;
	}
	nf_tui__wait_quit(t);
}

void
nf_tui_print_summary(nf_tui *t, FILE *f)
{
	const nf_view *v = &t->v;
	int64_t end = v->have_run && v->run.finished_ms ? v->run.finished_ms : nf_now_realtime_ms();
	size_t pass = 0, high = 0;
	const nf_vversion *mine = NULL;
	char dur[32];

	if (!v->have_run)
		return;
	nf_format_duration(dur, sizeof(dur), end - v->run.started_ms);
	fprintf(f, "run %lld of %s %s in %s (ntflow show %lld for details)\n", (long long)v->run.id,
		v->run.pipeline, nf_run_status_name(t->finished ? t->final_status : v->run.status), dur,
		(long long)v->run.id);
	for (size_t i = 0; i < v->ncrits; i++)
		if (v->crits[i].verdict && strcmp(v->crits[i].verdict, "pass") == 0)
			pass++;
	if (v->ngates == 0)
		fprintf(f, "  gate:       none\n");
	else if (!nf_state_is_final(v->gate_state))
		fprintf(f, "  gate:       %s did not run\n", v->gate_name);
	else if (v->ncrits)
		fprintf(f, "  gate:       %s %s (%zu of %zu criteria passed)\n", v->gate_name,
			v->gate_state == NF_ST_SUCCEEDED ? "passed" : nf_state_name(v->gate_state), pass, v->ncrits);
	else
		fprintf(f, "  gate:       %s %s\n", v->gate_name,
			v->gate_state == NF_ST_SUCCEEDED ? "passed" : nf_state_name(v->gate_state));
	for (size_t i = 0; i < v->nversions && !mine; i++)
		if (v->versions[i].run_id == v->run_id)
			mine = &v->versions[i];
	if (mine)
		fprintf(f, "  registered: %s v%d (%s)\n", mine->model, mine->version, mine->status);
	else
		fprintf(f, "  registered: no new model version\n");
	for (size_t i = 0; i < v->nalerts; i++)
		if (v->alerts[i].severity && strcmp(v->alerts[i].severity, "high") == 0)
			high++;
	if (v->nalerts == 0) {
		fprintf(f, "  alerts:     none open\n");
	} else {
		const nf_valert *a = &v->alerts[0];

		fprintf(f, "  alerts:     %zu open (%zu high); newest: %s %s", v->nalerts, high,
			a->severity ? a->severity : "", a->rule ? a->rule : "");
		if (a->metric && a->has_value && a->has_threshold)
			fprintf(f, " (%s %.4g > %.4g)", a->metric, a->value, a->threshold);
		fputc('\n', f);
	}
	for (size_t i = 0; i < t->nwarnings; i++)
		fprintf(stderr, "ntflow: warning: %s\n", t->warnings[i]);
	fflush(f);
}

void
nf_tui__free_warnings(nf_tui *t)
{
	for (size_t i = 0; i < t->nwarnings; i++)
		free(t->warnings[i]);
	free(t->warnings);
	t->warnings = NULL;
	t->nwarnings = 0;
}
