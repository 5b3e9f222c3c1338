/* registry.c: the model registry's rows (gov/registry.c decides what a registration,
 * promotion, rollback or corruption does): versions, their status changes (model_events),
 * each read and write behind a typed function. */
#include "config.h"
#include "ntflow/store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define VERSION_COLS \
	"id, model, version, pipeline, run_id, git_commit, artifact_sha256, artifact_size," \
	" artifact_kind, artifact_path, source_path, models_dir, metrics, params, gate," \
	" gate_outcome, status, created_ms, promoted_ms, archived_ms, forced, reason, actor, cohort"

static void
read_version(nf_model_version *v, sqlite3_stmt *s)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(s, 0);
	v->model = nf_store__col_strdup(s, 1);
	v->version = sqlite3_column_int(s, 2);
	v->pipeline = nf_store__col_strdup(s, 3);
	v->run_id = sqlite3_column_int64(s, 4);
	v->commit = nf_store__col_strdup(s, 5);
	v->sha256 = nf_store__col_strdup(s, 6);
	v->size = sqlite3_column_int64(s, 7);
	v->kind = nf_store__col_strdup(s, 8);
	v->artifact_path = nf_store__col_strdup(s, 9);
	v->source_path = nf_store__col_strdup(s, 10);
	v->models_dir = nf_store__col_strdup(s, 11);
	v->metrics_json = nf_store__col_strdup(s, 12);
	v->params_json = nf_store__col_strdup(s, 13);
	v->gate = nf_store__col_strdup(s, 14);
	v->gate_outcome = nf_store__col_strdup(s, 15);
	v->status = nf_store__col_strdup(s, 16);
	v->created_ms = sqlite3_column_int64(s, 17);
	v->promoted_ms = sqlite3_column_int64(s, 18);
	v->archived_ms = sqlite3_column_int64(s, 19);
	v->forced = sqlite3_column_int(s, 20) != 0;
	v->reason = nf_store__col_strdup(s, 21);
	v->actor = nf_store__col_strdup(s, 22);
	v->cohort = nf_store__col_strdup(s, 23);
}

void
nf_model_version_release(nf_model_version *v)
{
	if (!v)
		return;
	free(v->model);
	free(v->pipeline);
	free(v->commit);
	free(v->sha256);
	free(v->kind);
	free(v->artifact_path);
	free(v->source_path);
	free(v->models_dir);
	free(v->metrics_json);
	free(v->params_json);
	free(v->gate);
	free(v->gate_outcome);
	free(v->status);
	free(v->reason);
	free(v->actor);
	free(v->cohort);
	memset(v, 0, sizeof(*v));
}

void
nf_model_version_list_free(nf_model_version *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		nf_model_version_release(&v[i]);
	free(v);
}

/* Runs sql (two optional text and one optional integer parameter, in that order) and
 * collects the versions it selects. */
static int
select_versions(nf_store *st, const char *sql, const char *text, const char *text2, int64_t num,
		bool bind_num, nf_model_version **out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	nf_model_version *v = NULL;
	size_t nv = 0, cap = 0;
	int rc, k = 1;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	if (text)
		sqlite3_bind_text(s, k++, text, -1, SQLITE_STATIC);
	if (text2)
		sqlite3_bind_text(s, k++, text2, -1, SQLITE_STATIC);
	if (bind_num)
		sqlite3_bind_int64(s, k++, num);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xgrow(v, sizeof(*v), nv + 1, &cap);
		read_version(&v[nv++], s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		nf_model_version_list_free(v, nv);
		return nf_store__table_error(st, rc, "cannot read the model registry");
	}
	*out = v;
	*n = nv;
	return 0;
}

/* The one version sql selects into *out, or NF_ENOTFOUND (no message). */
static int
select_one(nf_model_version *out, nf_store *st, const char *sql, const char *text, const char *text2,
	   int64_t num, bool bind_num)
{
	nf_model_version *v;
	size_t n;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = select_versions(st, sql, text, text2, num, bind_num, &v, &n)) < 0)
		return err;
	if (n == 0) {
		free(v);
		return NF_ENOTFOUND;
	}
	*out = v[0];
	for (size_t i = 1; i < n; i++)
		nf_model_version_release(&v[i]);
	free(v);
	return 0;
}

int
nf_registry_list(nf_store *st, const char *model, nf_model_version **out, size_t *n)
{
	if (model)
		return select_versions(st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
				       " ORDER BY version", model, NULL, 0, false, out, n);
	return select_versions(st, "SELECT " VERSION_COLS " FROM model_versions ORDER BY model, version",
			       NULL, NULL, 0, false, out, n);
}

int
nf_store_model_version(nf_model_version *out, nf_store *st, const char *model, int version)
{
	if (version > 0)
		return select_one(out, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ? AND version = ?",
				  model, NULL, version, true);
	return select_one(out, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
			  " ORDER BY status = 'production' DESC, version DESC LIMIT 1", model, NULL, 0, false);
}

int
nf_store_model_exists(nf_store *st, const char *model)
{
	nf_model_version v;
	int err = select_one(&v, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ? LIMIT 1",
			     model, NULL, 0, false);

	if (err == NF_ENOTFOUND)
		return 0;
	if (err < 0)
		return err;
	nf_model_version_release(&v);
	return 1;
}

int
nf_store_model_production(nf_model_version *out, nf_store *st, const char *model)
{
	return select_one(out, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
			  " AND status = 'production'", model, NULL, 0, false);
}

int
nf_store_model_by_sha256(nf_model_version *out, nf_store *st, const char *model, const char *sha256)
{
	return select_one(out, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
			  " AND artifact_sha256 = ? AND status != 'corrupt' ORDER BY version DESC LIMIT 1",
			  model, sha256, 0, false);
}

int
nf_store_model_last_archived(nf_model_version *out, nf_store *st, const char *model)
{
	return select_one(out, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
			  " AND status = 'archived' ORDER BY archived_ms DESC, version DESC LIMIT 1",
			  model, NULL, 0, false);
}

/* One integer the statement selects for model (*out 0 when no row). */
static int
select_int(nf_store *st, const char *sql, const char *model, int *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = 0;
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	return 0;
}

int
nf_store_model_production_number(nf_store *st, const char *model, int *version)
{
	return select_int(st, "SELECT version FROM model_versions WHERE model = ? AND status = 'production'",
			  model, version);
}

int
nf_store_model_next_number(nf_store *st, const char *model, int *version)
{
	return select_int(st, "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE model = ?",
			  model, version);
}

/* ---- writes ---- */

/* Runs one statement with its parameters given as a format: 't' text (NULL: null),
 * 'i' int64, 'b' int (bool). */
static int
exec_sql(nf_store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s = NULL;
	va_list ap;
	int rc, k = 1;

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot update the model registry");
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++, k++) {
		if (*f == 't') {
			const char *t = va_arg(ap, const char *);

			if (t)
				sqlite3_bind_text(s, k, t, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(s, k);
		} else if (*f == 'i') {
			sqlite3_bind_int64(s, k, va_arg(ap, int64_t));
		} else {
			sqlite3_bind_int(s, k, va_arg(ap, int));
		}
	}
	va_end(ap);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return nf_store__table_error(st, rc, "cannot update the model registry");
	return 0;
}

int
nf_store_model_event_add(nf_store *st, const char *model, int version, const char *action, const char *status,
			 int64_t run_id, bool forced, const char *reason, const char *actor, int64_t now)
{
	return exec_sql(st, "INSERT INTO model_events (model, version, action, status, run_id, forced,"
			" reason, actor, at_ms) VALUES (?,?,?,?,?,?,?,?,?)", "tittibtti",
			model, (int64_t)version, action, status, run_id, (int)forced, reason, actor, now);
}

int
nf_store_model_set_archived(nf_store *st, const char *model, int version, const char *status, int64_t now)
{
	return exec_sql(st, "UPDATE model_versions SET status = ?, archived_ms = ?"
			" WHERE model = ? AND version = ?", "titi", status, now, model, (int64_t)version);
}

int
nf_store_model_insert(nf_store *st, const nf_model_version *v)
{
	return exec_sql(st, "INSERT INTO model_versions (model, version, pipeline, run_id, git_commit,"
			" artifact_sha256, artifact_size, artifact_kind, artifact_path, source_path, models_dir,"
			" metrics, params, gate, gate_outcome, status, created_ms, promoted_ms, cohort)"
			" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", "titittitttttttttiit",
			v->model, (int64_t)v->version, v->pipeline, v->run_id, v->commit, v->sha256, v->size, v->kind,
			v->artifact_path, v->source_path, v->models_dir, v->metrics_json, v->params_json, v->gate,
			v->gate_outcome, v->status, v->created_ms, v->promoted_ms, v->cohort);
}

int
nf_store_model_mark_corrupt(nf_store *st, int64_t id)
{
	return exec_sql(st, "UPDATE model_versions SET status = 'corrupt' WHERE id = ?", "i", id);
}

int
nf_store_model_promote(nf_store *st, int64_t id, int64_t now, bool forced, const char *reason, const char *actor)
{
	return exec_sql(st, "UPDATE model_versions SET status = 'production', promoted_ms = ?, forced = ?,"
			" reason = ?, actor = ? WHERE id = ?", "ibtti", now, (int)forced, reason, actor, id);
}

/* The events sql selects (columns as in EVENT_COLS), bound to model, version or run_id. */
#define EVENT_COLS "model, version, action, status, run_id, forced, reason, actor, at_ms"

static int
select_events(nf_store *st, const char *sql, const char *model, int64_t num, nf_model_event **out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	nf_model_event *e = NULL;
	size_t ne = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	if (model)
		sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, model ? 2 : 1, num);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nf_model_event *x;

		e = xgrow(e, sizeof(*e), ne + 1, &cap);
		x = &e[ne++];
		x->model = nf_store__col_strdup(s, 0);
		x->version = sqlite3_column_int(s, 1);
		x->action = nf_store__col_strdup(s, 2);
		x->status = nf_store__col_strdup(s, 3);
		x->run_id = sqlite3_column_int64(s, 4);
		x->forced = sqlite3_column_int(s, 5) != 0;
		x->reason = nf_store__col_strdup(s, 6);
		x->actor = nf_store__col_strdup(s, 7);
		x->at_ms = sqlite3_column_int64(s, 8);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		nf_model_event_list_free(e, ne);
		return nf_store__table_error(st, rc, "cannot read the model registry");
	}
	*out = e;
	*n = ne;
	return 0;
}

int
nf_registry_events(nf_store *st, const char *model, int version, nf_model_event **out, size_t *n)
{
	return select_events(st, "SELECT " EVENT_COLS " FROM model_events WHERE model = ?1"
			     " AND (?2 = 0 OR version = ?2) ORDER BY id", model, version, out, n);
}

int
nf_registry_run_events(nf_store *st, int64_t run_id, nf_model_event **out, size_t *n)
{
	return select_events(st, "SELECT " EVENT_COLS " FROM model_events WHERE run_id = ?1 ORDER BY id",
			     NULL, run_id, out, n);
}

void
nf_model_event_list_free(nf_model_event *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].model);
		free(e[i].action);
		free(e[i].status);
		free(e[i].reason);
		free(e[i].actor);
	}
	free(e);
}
