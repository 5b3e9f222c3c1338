/* tui/pane-log.c: the tail of the selected node's current attempt, following as it grows
 * (Enter opens all of it). */
#include "config.h"
#include "tui-internal.h"

#include <stdio.h>
#include <string.h>

static void
log_summary(nf_pane *p, const nf_view *v, char *buf, size_t size)
{
	(void)p;
	if (!v->log_node)
		snprintf(buf, size, "log");
	else if (!v->log_path && v->have_run && v->run.pruned_ms)
		snprintf(buf, size, "log %s: no log (the run was pruned)", v->log_node);
	else if (!v->log_path)
		snprintf(buf, size, "log %s: no log (it did not run)", v->log_node);
	else
		snprintf(buf, size, "log %s #%d  %s", v->log_node, v->log_attempt,
			 strncmp(v->log_path, v->root, strlen(v->root)) == 0 && v->log_path[strlen(v->root)] == '/'
			 ? v->log_path + strlen(v->root) + 1 : v->log_path);
}

static void
log_draw(nf_pane *p, const nf_view *v, WINDOW *w)
{
	char title[512];
	int body = p->h - 1;
	size_t first;

	log_summary(p, v, title, sizeof(title));
	nf_draw_title(w, 0, p->w, title, p->focused);
	if (body <= 0)
		return;
	if (v->log_path && v->nlog_lines == 0) {
		wattrset(w, nf_draw_attr(NF_C_DIM));
		ssize_t sel = nf_view_sel_node(v);
		/* A log is created at the attempt's first byte: no file means nothing printed. */
		bool ended = sel >= 0 && nf_state_is_final(v->nodes[sel].state);

		nf_draw_text(w, 1, 2, p->w - 2, v->log_size != -2 ? "(empty)" :
			     ended ? "(it printed nothing: no log)" : "(nothing printed yet)");
		wattrset(w, A_NORMAL);
		return;
	}
	first = v->nlog_lines > (size_t)body ? v->nlog_lines - (size_t)body : 0;
	for (size_t i = first; i < v->nlog_lines; i++)
		nf_draw_text(w, (int)(i - first) + 1, 0, p->w, v->log_lines[i]);
}

static int
log_want(const nf_pane *p, const nf_view *v)
{
	(void)p;
	return (int)(v->nlog_lines < 12 ? v->nlog_lines : 12) + 1;
}

const nf_pane_ops nf_pane_log = {
	.title = "log",
	.draw = log_draw,
	.summary = log_summary,
	.want_rows = log_want,
	.deps = NF_V_LOG,
	.min_rows = 2,
	.focusable = true,
};
