/* tui/pane-alerts.c: open drift alerts, by severity then newest first, coloured by severity, with the value
 * and threshold, how many runs raised each, and a sparkline of the monitored metric over
 * recent runs. The cursor (when the pane has the focus) picks the alert `a` acknowledges. */
#include "config.h"
#include "tui-internal.h"
#include "keys.h"

#include <stdio.h>
#include <string.h>

static attr_t
severity_attr(const char *s)
{
	if (s && strcmp(s, "high") == 0)
		return nf_draw_attr(NF_C_HIGH);
	if (s && strcmp(s, "medium") == 0)
		return nf_draw_attr(NF_C_MEDIUM);
	return nf_draw_attr(NF_C_LOW);
}

static void
alerts_summary(nf_pane *p, const nf_view *v, char *buf, size_t size)
{
	size_t high = 0, medium = 0, low = 0;
	char spark[256] = "";
	int len;

	(void)p;
	for (size_t i = 0; i < v->nalerts; i++) {
		const char *s = v->alerts[i].severity;

		if (s && strcmp(s, "high") == 0)
			high++;
		else if (s && strcmp(s, "medium") == 0)
			medium++;
		else
			low++;
	}
	if (v->nalerts == 0)
		len = snprintf(buf, size, "alerts: none open");
	else
		len = snprintf(buf, size, "alerts: %zu open (%zu high, %zu medium, %zu low)", v->nalerts, high,
			       medium, low);
	if (v->nspark > 1 && len > 0 && (size_t)len < size) {
		nf_draw_sparkline(spark, sizeof(spark), v->spark, v->nspark, 20);
		snprintf(buf + len, size - (size_t)len, "  %s %s %.3g", v->spark_metric, spark,
			 v->spark[v->nspark - 1]);
	}
}

static void
alerts_draw(nf_pane *p, const nf_view *v, WINDOW *w)
{
	int64_t now = nf_now_realtime_ms();
	char title[320], buf[160], age[32];
	int body = p->h - 1, rw = 4;

	alerts_summary(p, v, title, sizeof(title));
	nf_draw_title(w, 0, p->w, title, p->focused);
	if (v->nalerts == 0) {
		wattrset(w, nf_draw_attr(NF_C_DIM));
		nf_draw_text(w, 1, 2, p->w - 2, v->alerts_known ? "no open alert" : "no alerts in this state database");
		wattrset(w, A_NORMAL);
		return;
	}
	for (size_t i = 0; i < v->nalerts; i++)
		if (v->alerts[i].rule && nf_draw_width(v->alerts[i].rule) > rw)
			rw = nf_draw_width(v->alerts[i].rule);
	if (rw > p->w / 4)
		rw = p->w / 4;
	if (v->alert_sel < (size_t)p->top)
		p->top = (int)v->alert_sel;
	if (body > 0 && v->alert_sel >= (size_t)(p->top + body))
		p->top = (int)v->alert_sel - body + 1;
	for (int r = 0; r < body && (size_t)(p->top + r) < v->nalerts; r++) {
		const nf_valert *a = &v->alerts[p->top + r];
		int y = r + 1, x = 0;

		wattrset(w, severity_attr(a->severity));
		nf_draw_text(w, y, x, 1, nf_draw_sym("\xe2\x96\xb2", "!"));
		nf_draw_text(w, y, x + 2, 7, a->severity ? a->severity : "");
		wattrset(w, A_NORMAL);
		x += 9;
		nf_draw_text(w, y, x, rw, a->rule ? a->rule : "");
		x += rw + 1;
		if (a->metric && a->has_value && a->has_threshold)
			snprintf(buf, sizeof(buf), " %s %.4g > %.4g", a->metric, a->value, a->threshold);
		else if (a->has_value)
			snprintf(buf, sizeof(buf), " %s %.4g", a->metric ? a->metric : "value", a->value);
		else
			buf[0] = '\0';
		x += nf_draw_text(w, y, x, p->w - x, buf);
		nf_draw_age(age, sizeof(age), now - a->at_ms);
		if (a->count > 1)
			snprintf(buf, sizeof(buf), "  run %lld, seen %lld times, last %s", (long long)a->run_id,
				 (long long)a->count, age);
		else
			snprintf(buf, sizeof(buf), "  run %lld, %s", (long long)a->run_id, age);
		wattrset(w, nf_draw_attr(NF_C_DIM));
		nf_draw_text(w, y, x, p->w - x, buf);
		wattrset(w, A_NORMAL);
		if (p->focused && (size_t)(p->top + r) == v->alert_sel)
			mvwchgat(w, y, 0, p->w, A_REVERSE, 0, NULL);
	}
	nf_draw_position(w, p->w, v->alert_sel, v->nalerts, body, p->focused);
}

static bool
alerts_on_action(nf_pane *p, nf_view *v, int action)
{
	return nf_view_list_move(&v->alert_sel, v->nalerts, action, p->h > 2 ? p->h - 2 : 1);
}

static bool
alerts_on_click(nf_pane *p, nf_view *v, int row)
{
	size_t r;

	if (row < 1 || (r = (size_t)p->top + (size_t)row - 1) >= v->nalerts)
		return false;
	v->alert_sel = r;
	return true;
}

static int
alerts_want(const nf_pane *p, const nf_view *v)
{
	(void)p;
	return v->nalerts ? (int)v->nalerts + 1 : 1;
}

const nf_pane_ops nf_pane_alerts = {
	.title = "alerts",
	.draw = alerts_draw,
	.summary = alerts_summary,
	.on_action = alerts_on_action,
	.on_click = alerts_on_click,
	.want_rows = alerts_want,
	.deps = NF_V_ALERTS | NF_V_CLOCK,
	.min_rows = 2,
	.focusable = true,
};
