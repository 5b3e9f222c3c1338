/* check.c: SQLite's own check of the state database for `ntflow doctor`: PRAGMA
 * integrity_check, which reads every page, checks every b-tree, free list and index against
 * its table (a superset of quick_check). */
#include "config.h"
#include "ntflow/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

int
nf_store_integrity(nf_store *st, int max, char ***problems, size_t *n)
{
	char sql[64];
	sqlite3_stmt *q = NULL;
	char **out = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*problems = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "PRAGMA integrity_check(%d)", max > 0 ? max : 100);
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot check the state database");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(q, 0);

		if (line && strcmp(line, "ok") != 0) {
			out = xgrow(out, sizeof(*out), *n + 2, &cap);
			out[(*n)++] = xstrdup(line);
			out[*n] = NULL;
		}
	}
	if (rc != SQLITE_DONE) {
		/* A page too damaged to be read at all ends the check with an error instead. */
		out = xgrow(out, sizeof(*out), *n + 2, &cap);
		out[(*n)++] = xstrdup(sqlite3_errmsg(st->db));
		out[*n] = NULL;
	}
	sqlite3_finalize(q);
	*problems = out;
	return err;
}

void
nf_store_integrity_free(char **problems, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(problems[i]);
	free(problems);
}
