/* tui/pane-registry.c: the pipeline's model versions: the production one pinned on the
 * first row (marked, with why it is the champion) however far the list scrolls, then the
 * others newest first: version, status, key metrics and age, the one this run registered
 * highlighted. Enter opens a version (views.c), P promotes it and B rolls back, after y/n. */
#include "config.h"
#include "tui-internal.h"
#include "keys.h"

#include <stdio.h>
#include <string.h>

static attr_t
status_attr(const char *s)
{
	if (!s)
		return A_NORMAL;
	if (strcmp(s, "production") == 0)
		return nf_draw_attr(NF_C_OK) | A_BOLD;
	if (strcmp(s, "candidate") == 0)
		return nf_draw_attr(NF_C_RUN);
	if (strcmp(s, "corrupt") == 0 || strcmp(s, "rolled-back") == 0)
		return nf_draw_attr(NF_C_FAIL);
	return nf_draw_attr(NF_C_DIM);
}

static bool
is_production(const nf_vversion *m)
{
	return m->status && strcmp(m->status, "production") == 0;
}

static bool
several_models(const nf_view *v)
{
	for (size_t i = 1; i < v->nversions; i++)
		if (strcmp(v->versions[i].model, v->versions[0].model) != 0)
			return true;
	return false;
}

static void
registry_summary(nf_pane *p, const nf_view *v, char *buf, size_t size)
{
	const nf_vversion *mine = NULL, *prod = NULL;

	(void)p;
	for (size_t i = 0; i < v->nversions; i++) {
		if (!mine && v->versions[i].run_id == v->run_id)
			mine = &v->versions[i];
		if (!prod && v->versions[i].status && strcmp(v->versions[i].status, "production") == 0)
			prod = &v->versions[i];
	}
	if (mine && prod && prod != mine)
		snprintf(buf, size, "registry: %s v%d %s (this run); production v%d", mine->model, mine->version,
			 mine->status, prod->version);
	else if (mine)
		snprintf(buf, size, "registry: %s v%d %s (this run)", mine->model, mine->version, mine->status);
	else if (prod)
		snprintf(buf, size, "registry: %s v%d in production%s%s%s", prod->model, prod->version,
			 prod->why ? " (" : "", prod->why ? prod->why : "", prod->why ? ")" : "");
	else if (v->nversions)
		snprintf(buf, size, "registry: %zu version%s, none in production", v->nversions,
			 v->nversions == 1 ? "" : "s");
	else
		snprintf(buf, size, "registry: no versions");
}

static void
registry_draw(nf_pane *p, const nf_view *v, WINDOW *w)
{
	int64_t now = nf_now_realtime_ms();
	bool models = several_models(v);
	char title[160], ver[96], age[32];
	int body = p->h - 1, vw = models ? 18 : 5;
	size_t npinned = 0;

	registry_summary(p, v, title, sizeof(title));
	nf_draw_title(w, 0, p->w, title, p->focused);
	if (v->nversions == 0) {
		wattrset(w, nf_draw_attr(NF_C_DIM));
		nf_draw_text(w, 1, 2, p->w - 2, v->registry_known ? "no model registered by this pipeline yet"
			     : "no registry in this state database");
		wattrset(w, A_NORMAL);
		return;
	}
	/* The production versions come first (view.c) and stay on the first rows; the rest
	 * scroll below them. */
	while (npinned < v->nversions && npinned + 1 < (size_t)(body > 0 ? body : 1) &&
	       is_production(&v->versions[npinned]))
		npinned++;
	if (p->top < (int)npinned)
		p->top = (int)npinned;
	if (v->reg_sel >= npinned && v->reg_sel < (size_t)p->top)
		p->top = (int)v->reg_sel;
	if (body > (int)npinned && v->reg_sel >= (size_t)p->top + (size_t)(body - (int)npinned))
		p->top = (int)v->reg_sel - (body - (int)npinned) + 1;
	for (int r = 0; r < body; r++) {
		size_t i = (size_t)r < npinned ? (size_t)r : (size_t)p->top + (size_t)r - npinned;
		const nf_vversion *m;
		bool mine;
		int x = 0, y = r + 1;

		if (i >= v->nversions)
			break;
		m = &v->versions[i];
		mine = m->run_id == v->run_id;

		if (models)
			snprintf(ver, sizeof(ver), "%s v%d", m->model, m->version);
		else
			snprintf(ver, sizeof(ver), "v%d", m->version);
		nf_draw_text(w, y, x, 1, mine ? nf_draw_sym("\xe2\x96\xb6", ">")
			     : is_production(m) ? nf_draw_sym("\xe2\x98\x85", "*") : " ");
		x += 2;
		wattrset(w, mine ? A_BOLD : A_NORMAL);
		nf_draw_text(w, y, x, vw, ver);
		x += vw + 1;
		wattrset(w, status_attr(m->status));
		nf_draw_text(w, y, x, 11, m->status ? m->status : "");
		x += 12;
		wattrset(w, A_NORMAL);
		nf_draw_age(age, sizeof(age), now - m->created_ms);
		{
			int aw = (int)strlen(age) + (mine ? 10 : 0), mw = p->w - x - aw - 2;

			if (is_production(m) && m->why)
				x += nf_draw_printf(w, y, x, mw, "(%s) ", m->why);
			nf_draw_text(w, y, x, p->w - x - aw - 2, m->metrics ? m->metrics : "");
			wattrset(w, nf_draw_attr(NF_C_DIM));
			nf_draw_printf(w, y, p->w - aw - 1, aw + 1, " %s%s", age, mine ? " this run" : "");
			wattrset(w, A_NORMAL);
		}
		if (mine)
			mvwchgat(w, y, 0, 2 + vw, A_BOLD, 0, NULL);
		if (p->focused && i == v->reg_sel)
			nf_draw_select_row(w, y, p->w);
	}
	nf_draw_position(w, p->w, v->reg_sel, v->nversions, body, p->focused);
}

static bool
registry_on_action(nf_pane *p, nf_view *v, int action)
{
	return nf_view_list_move(&v->reg_sel, v->nversions, action, p->h > 2 ? p->h - 2 : 1);
}

static bool
registry_on_click(nf_pane *p, nf_view *v, int row)
{
	size_t r;

	if (row < 1 || (r = (size_t)p->top + (size_t)row - 1) >= v->nversions)
		return false;
	v->reg_sel = r;
	return true;
}

static int
registry_want(const nf_pane *p, const nf_view *v)
{
	(void)p;
	return v->nversions ? (int)v->nversions + 1 : 1;
}

const nf_pane_ops nf_pane_registry = {
	.title = "registry",
	.draw = registry_draw,
	.summary = registry_summary,
	.on_action = registry_on_action,
	.on_click = registry_on_click,
	.want_rows = registry_want,
	.deps = NF_V_REG | NF_V_CLOCK,
	.min_rows = 2,
	.focusable = true,
};
