/* gates.c: gate_results, the criteria of each gate of a run with the two sides of their
 * comparisons, recorded when the gate is evaluated and read back for show and the dashboard. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

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
	sqlite3_stmt *s = NULL;
	int err, rc = SQLITE_OK;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db,
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
	return rc == SQLITE_OK ? 0 : nf_store__table_error(st, rc, "cannot record the gate's results");
}

int
nf_gate_list(nf_store *st, int64_t run_id, nf_gate_result **out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	nf_gate_result *g = NULL;
	size_t ng = 0, cap = 0, ccap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* Ordered by when each gate's node started, then the criterion's position. */
	(void)nf_store__nodes_sync(st);   /* it reads the state of nodes: see the batch's pending writes */
	if ((rc = sqlite3_prepare_v2(st->db,
			"SELECT g.node, g.expr, g.left_value, g.right_value, g.verdict, g.note"
			" FROM gate_results g LEFT JOIN nodes n ON n.run_id = g.run_id AND n.name = g.node"
			" WHERE g.run_id = ? ORDER BY coalesce(n.seq, 0), g.node, g.idx", -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read gate results");
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
		return nf_store__table_error(st, rc, "cannot read gate results");
	}
	*out = g;
	*n = ng;
	return 0;
}
