/* tui/pane-stages.c: one row per node (matrix instances grouped under their stage, which
 * folds): state, attempt, elapsed or final time, a bar on the run's common time axis (a
 * Gantt chart), and what else matters: the usual duration, the cache hit, the back-off
 * countdown or the failure. */
#include "config.h"
#include "tui-internal.h"
#include "keys.h"

#include <stdio.h>
#include <string.h>

/* Column widths for a pane width. */
typedef struct cols {
	int name, state, att, time, bar, info;
} cols;

static cols
columns(int width)
{
	cols c;
	int rest;

	c.name = width >= 120 ? 28 : width >= 90 ? 22 : 19;
	c.state = 10;
	c.att = 6;
	c.time = 7;
	c.info = width >= 120 ? 26 : width >= 90 ? 20 : 14;
	rest = width - (2 + c.name + 1 + c.state + c.att + c.time + 1 + c.info);
	c.bar = rest >= 10 ? rest - 1 : 0;
	if (!c.bar)
		c.info += rest > 0 ? rest : 0;
	return c;
}

/* The run's time axis: from its start to its end, or to now (or the estimated end) while it
 * goes on. */
static void
axis(const nf_view *v, int64_t now, int64_t *t0, int64_t *t1)
{
	int64_t eta;

	*t0 = v->run.started_ms;
	*t1 = v->run.finished_ms ? v->run.finished_ms : now;
	if (!v->run.finished_ms && (eta = nf_view_eta(v, now)) > *t1)
		*t1 = eta;
	if (*t1 - *t0 < 1000)
		*t1 = *t0 + 1000;
	*t1 += (*t1 - *t0) / 40;   /* a little room on the right */
}

static void
info_text(char *out, size_t size, const nf_vnode *n, int64_t now)
{
	char d[32];

	out[0] = '\0';
	switch (n->state) {
	case NF_ST_CACHED:
		if (n->reused_run)
			snprintf(out, size, "cached (run %lld)", (long long)n->reused_run);
		else
			snprintf(out, size, "cached");
		return;
	case NF_ST_RETRYING:
		if (n->retry_at_ms > now) {
			nf_draw_duration(d, sizeof(d), ((n->retry_at_ms - now) + 999) / 1000 * 1000);
			snprintf(out, size, "back-off %s", d);
		} else {
			snprintf(out, size, "back-off%s%s", n->reason ? ": " : "", n->reason ? n->reason : "");
		}
		return;
	case NF_ST_FAILED:
	case NF_ST_TIMED_OUT:
	case NF_ST_SKIPPED:
	case NF_ST_CANCELLED:
	case NF_ST_REJECTED:
		if (n->reason)
			snprintf(out, size, "%s", n->reason);
		return;
	default:
		/* A Slurm job says where it is: "job 12 PENDING (Resources)". */
		if (n->slurm && (n->state == NF_ST_RUNNING || n->state == NF_ST_READY)) {
			snprintf(out, size, "%s", n->slurm);
			return;
		}
		if (n->median_ms >= 0) {
			nf_draw_duration(d, sizeof(d), n->median_ms);
			snprintf(out, size, "usually %s", d);
		}
		return;
	}
}

static void
time_text(char *out, size_t size, const nf_vnode *n, int64_t now)
{
	out[0] = '\0';
	if (n->state == NF_ST_RUNNING && n->attempt_ms) {
		/* Tenths of a second while it runs (the column alone is redrawn ten times a second). */
		int64_t ms = now - n->attempt_ms;

		if (ms < 0)
			ms = 0;
		if (ms < 60000)
			snprintf(out, size, "%lld.%llds", (long long)(ms / 1000), (long long)(ms / 100 % 10));
		else
			nf_draw_duration(out, size, ms);
	} else if (nf_state_is_final(n->state) && n->state != NF_ST_CACHED && (n->wall_ms > 0 || n->started_ms)) {
		nf_draw_duration(out, size, n->wall_ms);
	} else if (n->state == NF_ST_RETRYING && n->wall_ms > 0) {
		nf_draw_duration(out, size, n->wall_ms);
	}
}

static void
draw_node(WINDOW *w, int y, int width, const cols *c, const nf_view *v, const nf_vnode *n,
	  bool indent, int64_t now, int64_t t0, int64_t t1, attr_t sel)
{
	char buf[160];
	int x = 0;

	if (sel) {
		/* the selected row reversed from edge to edge, each part in its own colour */
		wattrset(w, sel);
		mvwhline(w, y, 0, ' ', width);
	}
	wattrset(w, nf_draw_state_attr(n->state) | sel);
	nf_draw_text(w, y, x, 1, nf_draw_state_symbol(n->state));
	wattrset(w, sel);
	x += 2;
	if (indent) {
		/* An instance: its matrix values are the interesting part of its name. */
		const char *br = strchr(n->name, '[');

		nf_draw_fit(buf, sizeof(buf), br ? br : n->name, c->name - 2);
		nf_draw_printf(w, y, x, c->name, "  %s", buf);
	} else {
		nf_draw_fit(buf, sizeof(buf), n->name, c->name);
		nf_draw_text(w, y, x, c->name, buf);
	}
	x += c->name + 1;
	wattrset(w, nf_draw_state_attr(n->state) | sel);
	nf_draw_text(w, y, x, c->state, nf_state_name(n->state));
	wattrset(w, sel);
	x += c->state;
	if (n->state == NF_ST_CACHED || n->state == NF_ST_SKIPPED || strcmp(n->kind, "gate") == 0)
		buf[0] = '\0';   /* nothing ran */
	else if (n->attempt > 0 && n->max_attempts > 1)
		snprintf(buf, sizeof(buf), "%d/%d", n->attempt, n->max_attempts);
	else if (n->attempt > 0)
		snprintf(buf, sizeof(buf), "%d", n->attempt);
	else
		buf[0] = '\0';
	nf_draw_text(w, y, x, c->att - 1, buf);
	x += c->att;
	time_text(buf, sizeof(buf), n, now);
	nf_draw_printf(w, y, x, c->time, "%6s", buf);
	x += c->time + 1;
	if (c->bar > 0) {
		int64_t to = n->finished_ms ? n->finished_ms : nf_state_active(n->state) ? now : 0;

		/* A node that never ran has no bar: its reason may use the room. */
		if (n->started_ms && to) {
			nf_draw_bar(w, y, x, c->bar, t0, t1, n->started_ms, to, nf_draw_state_attr(n->state) | sel);
			x += c->bar + 1;
		}
	}
	info_text(buf, sizeof(buf), n, now);
	if (n->state == NF_ST_FAILED || n->state == NF_ST_TIMED_OUT)
		wattrset(w, nf_draw_attr(NF_C_FAIL) | sel);
	else
		wattrset(w, (sel ? A_NORMAL : nf_draw_attr(NF_C_DIM)) | sel);
	nf_draw_text_cut(w, y, x, width - x, buf);
	wattrset(w, A_NORMAL);
	(void)v;
}

/* A folded or open matrix stage: the state of the group is its worst or busiest member. */
static void
draw_group(WINDOW *w, int y, int width, const cols *c, const nf_view *v, const nf_vgroup *g, attr_t sel)
{
	size_t count[NF_ST__COUNT] = { 0 };
	nf_state st = NF_ST_SUCCEEDED;
	nf_buf b = NF_BUF_INIT;
	int x = 0;

	for (size_t i = g->first; i < g->first + g->count; i++)
		count[v->nodes[i].state]++;
	if (count[NF_ST_FAILED] || count[NF_ST_TIMED_OUT])
		st = NF_ST_FAILED;
	else if (count[NF_ST_RUNNING])
		st = NF_ST_RUNNING;
	else if (count[NF_ST_RETRYING])
		st = NF_ST_RETRYING;
	else if (count[NF_ST_WAITING] || count[NF_ST_READY])
		st = count[NF_ST_WAITING] == g->count ? NF_ST_WAITING : NF_ST_READY;
	else if (count[NF_ST_CACHED] == g->count)
		st = NF_ST_CACHED;
	else if (count[NF_ST_SKIPPED] == g->count)
		st = NF_ST_SKIPPED;
	else if (count[NF_ST_CANCELLED])
		st = NF_ST_CANCELLED;
	if (sel) {
		wattrset(w, sel);
		mvwhline(w, y, 0, ' ', width);
	}
	wattrset(w, nf_draw_state_attr(st) | sel);
	nf_draw_text(w, y, x, 1, nf_draw_state_symbol(st));
	wattrset(w, sel);
	x += 2;
	{
		char name[128];

		nf_draw_fit(name, sizeof(name), g->stage, c->name - 8);
		nf_draw_printf(w, y, x, c->name, "%s %s (%zu)", g->expanded ? nf_draw_sym("\xe2\x96\xbe", "-")
			       : nf_draw_sym("\xe2\x96\xb8", "+"), name, g->count);
	}
	x += c->name + 1;
	wattrset(w, nf_draw_state_attr(st) | sel);
	nf_draw_text(w, y, x, c->state, nf_state_name(st));
	wattrset(w, sel);
	x += c->state + c->att + c->time + 1 + (c->bar ? c->bar + 1 : 0);
	for (int s = 0; s < NF_ST__COUNT; s++)
		if (count[s])
			nf_buf_printf(&b, "%s%zu %s", b.len ? ", " : "", count[s], nf_state_name((nf_state)s));
	wattrset(w, (sel ? A_NORMAL : nf_draw_attr(NF_C_DIM)) | sel);
	nf_draw_text(w, y, x, width - x, nf_buf_cstr(&b));
	wattrset(w, sel);
	wattrset(w, A_NORMAL);
	nf_buf_release(&b);
}

/* "stages 4/6  filter: tr  only failed  by name" */
static void
title_text(char *out, size_t size, const nf_view *v)
{
	/* A pruned run lists what it kept; its counts are its summary's. */
	if (v->have_run && v->run.pruned_ms) {
		snprintf(out, size, "stages %d/%d  pruned: %zu kept", v->run.ndone, v->run.nnodes, v->nnodes);
		return;
	}
	snprintf(out, size, "stages %zu/%zu%s%s%s%s%s%s", v->ndone, v->nnodes,
		 v->filter[0] ? "  filter: " : "", v->filter,
		 v->state_filter ? "  only " : "", v->state_filter ? nf_view_state_filter_names[v->state_filter] : "",
		 v->sort ? "  by " : "", v->sort ? nf_view_sort_names[v->sort] : "");
}

static void
stages_draw(nf_pane *p, const nf_view *v, WINDOW *w)
{
	int64_t now = nf_now_realtime_ms(), t0 = 0, t1 = 1;
	int body = p->h - 1;
	cols c = columns(p->w);
	char title[128];

	title_text(title, sizeof(title), v);
	nf_draw_title(w, 0, p->w, title, p->focused);
	if (!v->have_run || body <= 0)
		return;
	axis(v, now, &t0, &t1);
	if (c.bar > 0 && p->w > 40) {
		/* The axis' end on the title line, above the bars. */
		char d[32];
		int bx = 2 + c.name + 1 + c.state + c.att + c.time + 1;

		nf_draw_duration(d, sizeof(d), t1 - t0);
		wattrset(w, nf_draw_attr(NF_C_DIM));
		if (bx + c.bar - (int)strlen(d) > bx + 4)
			nf_draw_printf(w, 0, bx + c.bar - (int)strlen(d) - 1, (int)strlen(d) + 2, " %s ", d);
		wattrset(w, A_NORMAL);
	}
	/* Keep the selection in sight. */
	if (v->sel < (size_t)p->top)
		p->top = (int)v->sel;
	if (v->sel >= (size_t)p->top + (size_t)body)
		p->top = (int)(v->sel - (size_t)body + 1);
	if (p->top > 0 && (size_t)p->top + (size_t)body > v->nrows)
		p->top = v->nrows > (size_t)body ? (int)(v->nrows - (size_t)body) : 0;
	for (int r = 0; r < body && (size_t)(p->top + r) < v->nrows; r++) {
		const nf_vrow *row = &v->rows[p->top + r];
		attr_t sel = (size_t)(p->top + r) == v->sel ? A_REVERSE : A_NORMAL;

		if (row->node < 0)
			draw_group(w, r + 1, p->w, &c, v, &v->groups[row->group], sel);
		else
			draw_node(w, r + 1, p->w, &c, v, &v->nodes[row->node],
				  v->nodes[row->node].instance != NULL && v->groups[row->group].count > 1, now, t0, t1,
				  sel);
	}
	nf_draw_position(w, p->w, v->sel, v->nrows, body, p->focused);
	if (v->nrows == 0 && (v->filter[0] || v->state_filter))
		nf_draw_printf(w, 1, 2, p->w - 2, "no node matches%s%s%s%s (Esc clears the filters)",
			       v->filter[0] ? " '" : "", v->filter, v->filter[0] ? "'" : "",
			       v->state_filter ? (v->state_filter == NF_SF_FAILED ? ", none failed" : ", none running") : "");
}

static void
stages_summary(nf_pane *p, const nf_view *v, char *buf, size_t size)
{
	(void)p;
	title_text(buf, size, v);
}

static bool
stages_on_action(nf_pane *p, nf_view *v, int action)
{
	int page = p->h > 2 ? p->h - 2 : 1;
	nf_vgroup *g;

	if (v->nrows == 0)
		return false;
	switch (action) {
	case NF_A_DOWN:
		if (v->sel + 1 < v->nrows)
			v->sel++;
		break;
	case NF_A_UP:
		if (v->sel > 0)
			v->sel--;
		break;
	case NF_A_PGDN:
		v->sel = v->sel + (size_t)page < v->nrows ? v->sel + (size_t)page : v->nrows - 1;
		break;
	case NF_A_PGUP:
		v->sel = v->sel > (size_t)page ? v->sel - (size_t)page : 0;
		break;
	case NF_A_TOP:
		v->sel = 0;
		break;
	case NF_A_BOTTOM:
		v->sel = v->nrows - 1;
		break;
	case NF_A_FOLD_TOGGLE:
	case NF_A_UNFOLD:
	case NF_A_FOLD:
		g = &v->groups[v->rows[v->sel].group];
		if (g->count < 2)
			return false;
		g->expanded = action == NF_A_FOLD_TOGGLE ? !g->expanded : action == NF_A_UNFOLD;
		/* Folding from an instance: land on its group's line. */
		if (!g->expanded)
			while (v->sel > 0 && v->rows[v->sel].node >= 0 && v->rows[v->sel].group == v->rows[v->sel - 1].group)
				v->sel--;
		nf_view_rows(v);
		v->sel_auto = false;
		return true;
	default:
		return false;
	}
	v->sel_auto = false;
	return true;
}

static bool
stages_on_click(nf_pane *p, nf_view *v, int row)
{
	size_t r;

	if (row < 1 || (r = (size_t)p->top + (size_t)row - 1) >= v->nrows)
		return false;
	v->sel = r;
	v->sel_auto = false;
	return true;
}

static int
stages_want(const nf_pane *p, const nf_view *v)
{
	(void)p;
	if (v->nrows == 0 && (v->filter[0] || v->state_filter))
		return 2;   /* the line saying nothing matches */
	return (int)(v->nrows < 200 ? v->nrows : 200) + 1;
}

const nf_pane_ops nf_pane_stages = {
	.title = "stages",
	.draw = stages_draw,
	.summary = stages_summary,
	.on_action = stages_on_action,
	.on_click = stages_on_click,
	.want_rows = stages_want,
	.deps = NF_V_RUN | NF_V_NODES | NF_V_ROWS | NF_V_CLOCK | NF_V_TENTH,
	.min_rows = 3,
	.focusable = true,
};
