/* gate.c: the promotion gate: each criterion evaluated to a verdict with the two sides of
 * its comparison (the store records them in gate_results: src/store/gates.c), and for the
 * slice functions the slices that gave the value. */
#include "config.h"
#include "ntflow/gov.h"

#include <stdlib.h>
#include <string.h>


/* The names a criterion reads outside production, to tell "nothing in production to compare
 * with" from a metric of this run that is missing too. */
typedef struct name_check {
	nf_expr_lookup_fn lookup;
	void *ctx;
	char *missing;                /* the first missing metric */
} name_check;

static void
check_name(void *vctx, bool prod, const char *name, int col)
{
	name_check *nc = vctx;
	double v;

	(void)col;
	if (!prod && !nc->missing && nc->lookup(nc->ctx, false, name, &v) == NF_ENOTFOUND)
		nc->missing = xstrdup(name);
}

static bool
is_comparison(nf_expr_op op)
{
	return op == NF_EX_LT || op == NF_EX_LE || op == NF_EX_GT || op == NF_EX_GE ||
	       op == NF_EX_EQ || op == NF_EX_NE;
}

typedef struct call_note {
	nf_expr_slices_fn slices;
	void *ctx;
	nf_buf b;
} call_note;

/* "max_gap(accuracy): lowest region=APAC 0.71, highest region=EU 0.89": which slices gave
 * a slice function's value, for show and why. */
static void
note_call(void *vctx, const nf_expr *call)
{
	call_note *cn = vctx;
	const nf_expr_slice *all;
	size_t lo, hi;
	double v;

	if (nf_expr_call(call, cn->slices, cn->ctx, &v, &all, &lo, &hi) < 0)
		return;
	if (cn->b.len)
		nf_buf_puts(&cn->b, "; ");
	nf_buf_printf(&cn->b, "%s(%s)", nf_expr_fn_name(call->fn), call->name);
	if (call->fn == NF_FN_MAX_GAP)
		nf_buf_printf(&cn->b, ": lowest %s %.6g, highest %s %.6g", all[lo].slice, all[lo].value,
			      all[hi].slice, all[hi].value);
	else
		nf_buf_printf(&cn->b, " in %s", all[call->fn == NF_FN_MIN ? lo : hi].slice);
}

static void
evaluate_one(nf_gate_criterion *c, const nf_criterion *crit, nf_expr_lookup_fn lookup,
	     nf_expr_slices_fn slices, void *ctx)
{
	const nf_expr *e = crit->expr;
	double v = 0;
	int err;

	c->expr = xstrdup(crit->text ? crit->text : "");
	if (!e) {
		c->note = xstrdup("the criterion did not parse");
		return;
	}
	err = nf_expr_eval_slices(e, lookup, slices, ctx, &v);
	if (err < 0)
		c->note = xstrdup(nf_error_last());
	if (is_comparison(e->op)) {
		/* Each side on its own: a side that cannot be evaluated just stays unknown. */
		c->has_left = nf_expr_eval_slices(e->l, lookup, slices, ctx, &c->left) == 0;
		c->has_right = nf_expr_eval_slices(e->r, lookup, slices, ctx, &c->right) == 0;
	}
	if (err == 0) {
		call_note cn = { slices, ctx, NF_BUF_INIT };

		c->passed = v != 0.0;
		nf_expr_walk_calls(e, note_call, &cn);
		if (cn.b.len)
			c->note = nf_buf_detach(&cn.b);
		nf_buf_release(&cn.b);
	} else if (err == NF_ENOPROD) {
		name_check nc = { lookup, ctx, NULL };

		nf_expr_walk_names(e, check_name, &nc);
		free(c->note);
		if (nc.missing) {
			c->note = xasprintf("metric '%s' is missing", nc.missing);
			free(nc.missing);
		} else {
			c->note = xstrdup("no version in production: passes");
			c->passed = true;
		}
	}
}

void
nf_gate_evaluate(nf_gate_result *out, const char *name, const nf_criterion *require, size_t n,
		 nf_expr_lookup_fn lookup, void *ctx)
{
	nf_gate_evaluate_slices(out, name, require, n, lookup, NULL, ctx);
}

void
nf_gate_evaluate_slices(nf_gate_result *out, const char *name, const nf_criterion *require, size_t n,
			nf_expr_lookup_fn lookup, nf_expr_slices_fn slices, void *ctx)
{
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(name);
	out->criteria = xcalloc(n + 1, sizeof(*out->criteria));
	out->n = n;
	out->passed = true;
	for (size_t i = 0; i < n; i++) {
		evaluate_one(&out->criteria[i], &require[i], lookup, slices, ctx);
		out->passed &= out->criteria[i].passed;
	}
	nf_error_clear();
}

char *
nf_gate_failure_text(const nf_gate_result *r)
{
	nf_buf b = NF_BUF_INIT;

	for (size_t i = 0; i < r->n; i++) {
		const nf_gate_criterion *c = &r->criteria[i];

		if (c->passed)
			continue;
		if (b.len)
			nf_buf_puts(&b, "; ");
		nf_buf_puts(&b, c->expr);
		if (c->note && c->has_left && c->has_right)   /* evaluated: the slices that gave it */
			nf_buf_printf(&b, " (%.6g vs %.6g; %s)", c->left, c->right, c->note);
		else if (c->note)
			nf_buf_printf(&b, ": %s", c->note);
		else if (c->has_left && c->has_right)
			nf_buf_printf(&b, " (%.6g vs %.6g)", c->left, c->right);
	}
	if (!b.len)
		nf_buf_puts(&b, "no criterion failed");
	return nf_buf_detach(&b);
}

/* A gate side for the table: the number, or "-" when it could not be evaluated. */
static char *
gate_cell(bool has, double v)
{
	return has ? xasprintf("%.6g", v) : xstrdup("-");
}

void
nf_gate_format_table(nf_buf *out, const nf_gate_result *r)
{
	size_t we = strlen("CRITERION"), wv = strlen("VALUE"), wt = strlen("THRESHOLD");
	char **cells = xcalloc(2 * r->n + 1, sizeof(*cells));

	for (size_t i = 0; i < r->n; i++) {
		cells[2 * i] = gate_cell(r->criteria[i].has_left, r->criteria[i].left);
		cells[2 * i + 1] = gate_cell(r->criteria[i].has_right, r->criteria[i].right);
		if (strlen(r->criteria[i].expr) > we)
			we = strlen(r->criteria[i].expr);
		if (strlen(cells[2 * i]) > wv)
			wv = strlen(cells[2 * i]);
		if (strlen(cells[2 * i + 1]) > wt)
			wt = strlen(cells[2 * i + 1]);
	}
	nf_buf_printf(out, "gate %s: %s\n", r->name, r->passed ? "passed" : "rejected");
	nf_buf_printf(out, "  %-*s  %-*s  %-*s  VERDICT\n", (int)we, "CRITERION", (int)wv, "VALUE", (int)wt,
		      "THRESHOLD");
	for (size_t i = 0; i < r->n; i++) {
		const nf_gate_criterion *c = &r->criteria[i];

		nf_buf_printf(out, "  %-*s  %-*s  %-*s  %s", (int)we, c->expr, (int)wv, cells[2 * i], (int)wt,
			      cells[2 * i + 1], c->passed ? "pass" : "fail");
		if (c->note)
			nf_buf_printf(out, "  (%s)", c->note);
		nf_buf_putc(out, '\n');
		free(cells[2 * i]);
		free(cells[2 * i + 1]);
	}
	free(cells);
}

cJSON *
nf_gate_criteria_json(const nf_gate_result *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < r->n; i++) {
		const nf_gate_criterion *c = &r->criteria[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "expr", c->expr);
		if (c->has_left)
			cJSON_AddNumberToObject(x, "value", c->left);
		else
			cJSON_AddNullToObject(x, "value");
		if (c->has_right)
			cJSON_AddNumberToObject(x, "threshold", c->right);
		else
			cJSON_AddNullToObject(x, "threshold");
		cJSON_AddStringToObject(x, "verdict", c->passed ? "pass" : "fail");
		if (c->note)
			cJSON_AddStringToObject(x, "note", c->note);
		else
			cJSON_AddNullToObject(x, "note");
		cJSON_AddItemToArray(arr, x);
	}
	return arr;
}
