/* gate.c: the promotion gate: each criterion evaluated to a verdict with the two sides of
 * its comparison, recorded in gate_results, and read back for show and the dashboard. */
#include "config.h"
#include "ntflow/gov.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "registry-internal.h"

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

static void
evaluate_one(nf_gate_criterion *c, const nf_criterion *crit, nf_expr_lookup_fn lookup, void *ctx)
{
	const nf_expr *e = crit->expr;
	double v = 0;
	int err;

	c->expr = xstrdup(crit->text ? crit->text : "");
	if (!e) {
		c->note = xstrdup("the criterion did not parse");
		return;
	}
	err = nf_expr_eval(e, lookup, ctx, &v);
	if (err < 0)
		c->note = xstrdup(nf_error_last());
	if (is_comparison(e->op)) {
		/* Each side on its own: a side that cannot be evaluated just stays unknown. */
		c->has_left = nf_expr_eval(e->l, lookup, ctx, &c->left) == 0;
		c->has_right = nf_expr_eval(e->r, lookup, ctx, &c->right) == 0;
	}
	if (err == 0) {
		c->passed = v != 0.0;
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
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(name);
	out->criteria = xcalloc(n + 1, sizeof(*out->criteria));
	out->n = n;
	out->passed = true;
	for (size_t i = 0; i < n; i++) {
		evaluate_one(&out->criteria[i], &require[i], lookup, ctx);
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
		if (c->note)
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

void
nf_gate_result_release(nf_gate_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->criteria[i].expr);
		free(r->criteria[i].note);
	}
	free(r->criteria);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

void
nf_gate_result_list_free(nf_gate_result *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++)
		nf_gate_result_release(&g[i]);
	free(g);
}

int
nf_gate_store(nf_store *st, int64_t run_id, const nf_gate_result *r)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *s = NULL;
	int err, rc = SQLITE_OK;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(db,
			"INSERT OR REPLACE INTO gate_results (run_id, node, idx, expr, left_value, right_value,"
			" verdict, note) VALUES (?,?,?,?,?,?,?,?)", -1, &s, NULL)) != SQLITE_OK)
		goto done;
	for (size_t i = 0; i < r->n; i++) {
		const nf_gate_criterion *c = &r->criteria[i];

		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, run_id);
		sqlite3_bind_text(s, 2, r->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (int64_t)i);
		sqlite3_bind_text(s, 4, c->expr, -1, SQLITE_STATIC);
		if (c->has_left)
			sqlite3_bind_double(s, 5, c->left);
		else
			sqlite3_bind_null(s, 5);
		if (c->has_right)
			sqlite3_bind_double(s, 6, c->right);
		else
			sqlite3_bind_null(s, 6);
		sqlite3_bind_text(s, 7, c->passed ? "pass" : "fail", -1, SQLITE_STATIC);
		if (c->note)
			sqlite3_bind_text(s, 8, c->note, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 8);
		if ((rc = sqlite3_step(s)) != SQLITE_DONE)
			goto done;
	}
	rc = SQLITE_OK;
done:
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : nf_gov__sql_error(db, rc, "cannot record the gate's results");
}

int
nf_gate_list(nf_store *st, int64_t run_id, nf_gate_result **out, size_t *n)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *s = NULL;
	nf_gate_result *g = NULL;
	size_t ng = 0, cap = 0, ccap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* Ordered by when each gate's node started, then the criterion's position. */
	if ((rc = sqlite3_prepare_v2(db,
			"SELECT g.node, g.expr, g.left_value, g.right_value, g.verdict, g.note"
			" FROM gate_results g LEFT JOIN nodes n ON n.run_id = g.run_id AND n.name = g.node"
			" WHERE g.run_id = ? ORDER BY coalesce(n.seq, 0), g.node, g.idx", -1, &s, NULL)) != SQLITE_OK)
		return nf_gov__sql_error(db, rc, "cannot read gate results");
	sqlite3_bind_int64(s, 1, run_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *node = (const char *)sqlite3_column_text(s, 0);
		nf_gate_criterion *c;
		nf_gate_result *cur;

		if (ng == 0 || strcmp(g[ng - 1].name, node) != 0) {
			g = xgrow(g, sizeof(*g), ng + 1, &cap);
			memset(&g[ng], 0, sizeof(g[ng]));
			g[ng].name = xstrdup(node);
			g[ng].passed = true;
			ng++;
			ccap = 0;
		}
		cur = &g[ng - 1];
		cur->criteria = xgrow(cur->criteria, sizeof(*cur->criteria), cur->n + 1, &ccap);
		c = &cur->criteria[cur->n++];
		memset(c, 0, sizeof(*c));
		c->expr = xstrdup((const char *)sqlite3_column_text(s, 1));
		if ((c->has_left = sqlite3_column_type(s, 2) != SQLITE_NULL))
			c->left = sqlite3_column_double(s, 2);
		if ((c->has_right = sqlite3_column_type(s, 3) != SQLITE_NULL))
			c->right = sqlite3_column_double(s, 3);
		c->passed = strcmp((const char *)sqlite3_column_text(s, 4), "pass") == 0;
		if (sqlite3_column_type(s, 5) != SQLITE_NULL)
			c->note = xstrdup((const char *)sqlite3_column_text(s, 5));
		cur->passed &= c->passed;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		nf_gate_result_list_free(g, ng);
		return nf_gov__sql_error(db, rc, "cannot read gate results");
	}
	*out = g;
	*n = ng;
	return 0;
}
