/* plots.c: the plots table, what a run's nodes declared in their plot blocks with the digest
 * of each file when the node ended (recorded by the run's plot step, read by the report). */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
nf_plot_row_list_free(nf_plot_row *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].node);
		free(p[i].name);
		free(p[i].kind);
		free(p[i].path);
		free(p[i].digest);
		free(p[i].template_);
		free(p[i].x);
		free(p[i].y_json);
		free(p[i].title);
	}
	free(p);
}

int
nf_store_plot_put(nf_store *st, int64_t run_id, const nf_plot_row *p)
{
	sqlite3_stmt *s = NULL;
	int err, rc;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db,
			"INSERT OR REPLACE INTO plots (run_id, node, name, kind, path, digest, template, x, y, title, idx)"
			" VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot record a plot");
	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_text(s, 2, p->node, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, p->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, p->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, p->digest ? p->digest : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, p->template_ ? p->template_ : "linear", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, p->x ? p->x : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, p->y_json ? p->y_json : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, p->title ? p->title : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 11, p->idx);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot record a plot");
}

int
nf_store_plot_list(nf_store *st, int64_t run_id, nf_plot_row **out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	nf_plot_row *ps = NULL;
	size_t np = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!nf_store_has_table(st, "plots"))
		return 0;   /* a database of an older schema opened read-only: no plots */
	(void)nf_store__nodes_sync(st);
	if ((rc = sqlite3_prepare_v2(st->db,
			"SELECT p.node, p.name, p.kind, p.path, p.digest, p.template, p.x, p.y, p.title, p.idx"
			" FROM plots p LEFT JOIN nodes n ON n.run_id = p.run_id AND n.name = p.node"
			" WHERE p.run_id = ? ORDER BY coalesce(n.seq, 0), p.node, p.idx", -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the plots");
	sqlite3_bind_int64(s, 1, run_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nf_plot_row *p;

		ps = xgrow(ps, sizeof(*ps), np + 1, &cap);
		p = &ps[np++];
		p->node = nf_store__col_strdup(s, 0);
		p->name = nf_store__col_strdup(s, 1);
		p->kind = nf_store__col_strdup(s, 2);
		p->path = nf_store__col_strdup(s, 3);
		p->digest = nf_store__col_strdup(s, 4);
		p->template_ = nf_store__col_strdup(s, 5);
		p->x = nf_store__col_strdup(s, 6);
		p->y_json = nf_store__col_strdup(s, 7);
		p->title = nf_store__col_strdup(s, 8);
		p->idx = sqlite3_column_int(s, 9);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		nf_plot_row_list_free(ps, np);
		return nf_store__table_error(st, rc, "cannot read the plots");
	}
	*out = ps;
	*n = np;
	return 0;
}
