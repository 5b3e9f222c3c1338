/* tui/pane-gate.c: the promotion gate, one line per criterion: the expression, the value,
 * the threshold and the verdict; pending until the gate has run. */
#include "config.h"
#include "tui-internal.h"

#include <stdio.h>
#include <string.h>

static void
gate_summary(nf_pane *p, const nf_view *v, char *buf, size_t size)
{
	size_t pass = 0;

	(void)p;
	for (size_t i = 0; i < v->ncrits; i++)
		if (v->crits[i].verdict && strcmp(v->crits[i].verdict, "pass") == 0)
			pass++;
	if (v->ngates == 0)
		snprintf(buf, size, "gate: none in this pipeline");
	else if (v->ngates_done < v->ngates || !nf_state_is_final(v->gate_state))
		snprintf(buf, size, "gate %s: pending", v->gate_name ? v->gate_name : "");
	else if (v->gate_state == NF_ST_SUCCEEDED)
		snprintf(buf, size, "gate %s: pass%s%zu/%zu", v->gate_name, v->ncrits ? " " : "", pass, v->ncrits);
	else if (v->gate_state == NF_ST_REJECTED)
		snprintf(buf, size, "gate %s: FAIL %zu/%zu", v->gate_name, pass, v->ncrits);
	else
		snprintf(buf, size, "gate %s: %s", v->gate_name, nf_state_name(v->gate_state));
	/* "pass 0/0" says nothing: the verdicts were not recorded */
	if (v->ncrits == 0 && v->gate_state == NF_ST_SUCCEEDED)
		snprintf(buf, size, "gate %s: pass", v->gate_name);
}

static void
fmt_value(char *out, size_t size, bool has, double x)
{
	if (has)
		snprintf(out, size, "%.4g", x);
	else
		snprintf(out, size, "-");
}

static void
gate_draw(nf_pane *p, const nf_view *v, WINDOW *w)
{
	char title[160], a[32], b[32];
	int ew = 9;

	gate_summary(p, v, title, sizeof(title));
	nf_draw_title(w, 0, p->w, title, p->focused);
	if (v->ncrits == 0) {
		const char *why = v->gate_reason ? v->gate_reason
			: v->ngates == 0 ? "this pipeline has no gate"
			: nf_state_is_final(v->gate_state) ? "no criteria were recorded"
			: "waits for the stages it needs";

		wattrset(w, nf_draw_attr(NF_C_DIM));
		nf_draw_text(w, 1, 2, p->w - 2, why);
		wattrset(w, A_NORMAL);
		return;
	}
	for (size_t i = 0; i < v->ncrits; i++)
		if (v->crits[i].expr && nf_draw_width(v->crits[i].expr) > ew)
			ew = nf_draw_width(v->crits[i].expr);
	if (ew > p->w - 2 - 21 - 7)
		ew = p->w - 2 - 21 - 7;
	if (ew < 8)
		ew = 8;
	wattrset(w, nf_draw_attr(NF_C_DIM));
	nf_draw_printf(w, 1, 2, p->w - 2, "%-*s %9s %9s  %s", ew, "criterion", "value", "threshold", "verdict");
	wattrset(w, A_NORMAL);
	for (size_t i = 0; i < v->ncrits && (int)i + 2 < p->h; i++) {
		const nf_vcrit *c = &v->crits[i];
		bool pass = c->verdict && strcmp(c->verdict, "pass") == 0;
		int y = (int)i + 2;

		wattrset(w, pass ? nf_draw_attr(NF_C_OK) : nf_draw_attr(NF_C_FAIL));
		nf_draw_text(w, y, 0, 1, pass ? nf_draw_sym("\xe2\x9c\x93", "+") : nf_draw_sym("\xe2\x9c\x97", "x"));
		wattrset(w, A_NORMAL);
		nf_draw_text(w, y, 2, ew, c->expr ? c->expr : "");
		fmt_value(a, sizeof(a), c->has_left, c->left);
		fmt_value(b, sizeof(b), c->has_right, c->right);
		nf_draw_printf(w, y, 2 + ew, 20, " %9s %9s", a, b);
		wattrset(w, pass ? nf_draw_attr(NF_C_OK) : nf_draw_attr(NF_C_FAIL));
		nf_draw_printf(w, y, 2 + ew + 21, p->w - (2 + ew + 21), "  %s", pass ? "pass" : "FAIL");
		wattrset(w, A_NORMAL);
		if (c->note && *c->note && p->w - (2 + ew + 29) > 4) {
			wattrset(w, nf_draw_attr(NF_C_DIM));
			nf_draw_printf(w, y, 2 + ew + 29, p->w - (2 + ew + 29), " %s", c->note);
			wattrset(w, A_NORMAL);
		}
	}
}

static int
gate_want(const nf_pane *p, const nf_view *v)
{
	(void)p;
	if (v->ncrits)
		return (int)v->ncrits + 2;
	return v->ngates ? 2 : 1;
}

const nf_pane_ops nf_pane_gate = {
	.title = "gate",
	.draw = gate_draw,
	.summary = gate_summary,
	.want_rows = gate_want,
	.deps = NF_V_GATE | NF_V_NODES,
	.min_rows = 2,
	.focusable = true,
};
