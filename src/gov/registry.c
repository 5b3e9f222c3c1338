/* registry.c: the model registry: versions registered at the end of runs, promotion and
 * rollback (each status change with the archive of the previous production version in one
 * transaction), verification of the artifact copies, and the history of every change. */
#include "config.h"
#include "ntflow/gov.h"

#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry-internal.h"

#define VERSION_COLS \
	"id, model, version, pipeline, run_id, git_commit, artifact_sha256, artifact_size," \
	" artifact_kind, artifact_path, source_path, models_dir, metrics, params, gate," \
	" gate_outcome, status, created_ms, promoted_ms, archived_ms, forced, reason, actor"

static char *
col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static void
read_version(nf_model_version *v, sqlite3_stmt *s)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(s, 0);
	v->model = col_str(s, 1);
	v->version = sqlite3_column_int(s, 2);
	v->pipeline = col_str(s, 3);
	v->run_id = sqlite3_column_int64(s, 4);
	v->commit = col_str(s, 5);
	v->sha256 = col_str(s, 6);
	v->size = sqlite3_column_int64(s, 7);
	v->kind = col_str(s, 8);
	v->artifact_path = col_str(s, 9);
	v->source_path = col_str(s, 10);
	v->models_dir = col_str(s, 11);
	v->metrics_json = col_str(s, 12);
	v->params_json = col_str(s, 13);
	v->gate = col_str(s, 14);
	v->gate_outcome = col_str(s, 15);
	v->status = col_str(s, 16);
	v->created_ms = sqlite3_column_int64(s, 17);
	v->promoted_ms = sqlite3_column_int64(s, 18);
	v->archived_ms = sqlite3_column_int64(s, 19);
	v->forced = sqlite3_column_int(s, 20) != 0;
	v->reason = col_str(s, 21);
	v->actor = col_str(s, 22);
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
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *s = NULL;
	nf_model_version *v = NULL;
	size_t nv = 0, cap = 0;
	int rc, k = 1;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return nf_gov__sql_error(db, rc, "cannot read the model registry");
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
		return nf_gov__sql_error(db, rc, "cannot read the model registry");
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

static int
no_model(nf_store *st, const char *model)
{
	nf_model_version v;

	if (select_one(&v, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ? LIMIT 1",
		       model, NULL, 0, false) == 0) {
		nf_model_version_release(&v);
		return 0;
	}
	return nf_error_set(NF_ENOTFOUND, "no model '%s' in the registry", model);
}

int
nf_registry_get(nf_model_version *out, nf_store *st, const char *model, int version)
{
	int err;

	if (version > 0)
		err = select_one(out, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ? AND version = ?",
				 model, NULL, version, true);
	else
		err = select_one(out, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
				 " ORDER BY status = 'production' DESC, version DESC LIMIT 1", model, NULL, 0, false);
	if (err != NF_ENOTFOUND)
		return err;
	if ((err = no_model(st, model)) < 0)
		return err;
	return nf_error_set(NF_ENOTFOUND, "model '%s' has no version %d", model, version);
}

int
nf_registry_production_metrics(cJSON **out, nf_store *st, const char *model)
{
	nf_model_version v;
	int err;

	*out = NULL;
	err = select_one(&v, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
			 " AND status = 'production'", model, NULL, 0, false);
	if (err == NF_ENOTFOUND)
		return nf_error_set(NF_ENOPROD, "model '%s' has no version in production", model);
	if (err < 0)
		return err;
	*out = cJSON_Parse(v.metrics_json ? v.metrics_json : "{}");
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = cJSON_CreateObject();
	}
	nf_model_version_release(&v);
	return 0;
}

char *
nf_registry_actor(void)
{
	const char *user = getenv("USER");
	struct passwd *pw;

	if (user && *user)
		return xstrdup(user);
	if ((pw = getpwuid(getuid())) && pw->pw_name)
		return xstrdup(pw->pw_name);
	return xasprintf("uid %ld", (long)getuid());
}

/* ---- writes ---- */

/* Runs one statement with its parameters given as a format: 't' text (NULL: null),
 * 'i' int64, 'b' int (bool). */
static int
exec_sql(sqlite3 *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s = NULL;
	va_list ap;
	int rc, k = 1;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return nf_gov__sql_error(db, rc, "cannot update the model registry");
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
		return nf_gov__sql_error(db, rc, "cannot update the model registry");
	return 0;
}

static int
add_event(sqlite3 *db, const char *model, int version, const char *action, const char *status,
	  int64_t run_id, bool forced, const char *reason, const char *actor, int64_t now)
{
	return exec_sql(db, "INSERT INTO model_events (model, version, action, status, run_id, forced,"
			" reason, actor, at_ms) VALUES (?,?,?,?,?,?,?,?,?)", "tittibtti",
			model, (int64_t)version, action, status, run_id, (int)forced, reason, actor, now);
}

/* Appends a registry change to the audit chain (inside the change's transaction, so both
 * or neither are recorded). Takes payload. */
static int
audit(nf_store *st, int64_t run_id, const char *kind, cJSON *payload)
{
	int err = nf_audit_append(st, run_id, kind, payload);

	cJSON_Delete(payload);
	return err;
}

static void
add_str_or_null(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

/* Archives the production version of model, if any; *archived is its number (0: none). */
static int
archive_production(sqlite3 *db, const char *model, const char *action, const char *reason,
		   const char *actor, int64_t now, int *archived)
{
	sqlite3_stmt *s = NULL;
	int rc, err;

	*archived = 0;
	if ((rc = sqlite3_prepare_v2(db, "SELECT version FROM model_versions WHERE model = ?"
				     " AND status = 'production'", -1, &s, NULL)) != SQLITE_OK)
		return nf_gov__sql_error(db, rc, "cannot read the model registry");
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*archived = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return nf_gov__sql_error(db, rc, "cannot read the model registry");
	if (*archived == 0)
		return 0;
	if ((err = exec_sql(db, "UPDATE model_versions SET status = 'archived', archived_ms = ?"
			    " WHERE model = ? AND version = ?", "iti", now, model, (int64_t)*archived)) < 0)
		return err;
	return add_event(db, model, *archived, action, "archived", 0, false, reason, actor, now);
}

/* The test-only crash between archiving the old production version and recording the new
 * one, inside the transaction: what survives must still have one production version. */
static void
fault_after_archive(void)
{
	if (nf_test_hook("registry-after-archive"))
		_exit(99);
}

/* The workspace folder of models_dir as recorded: absolute, or relative to the parent of
 * the state directory. Caller frees. */
static char *
models_dir_abs(const char *state_dir, const char *rec)
{
	const char *slash;

	if (!rec || !*rec)
		rec = "models";
	if (rec[0] == '/')
		return xstrdup(rec);
	slash = strrchr(state_dir, '/');
	if (!slash)
		return xstrdup(rec);
	return xasprintf("%.*s/%s", (int)(slash - state_dir), state_dir, rec);
}

/* models_dir as recorded: relative to the state directory's parent when inside it. */
static char *
models_dir_rec(const char *state_dir, const char *abs)
{
	const char *slash = strrchr(state_dir, '/');
	size_t pl = slash ? (size_t)(slash - state_dir) : 0;

	if (slash && strncmp(abs, state_dir, pl) == 0 && abs[pl] == '/' && abs[pl + 1])
		return xstrdup(abs + pl + 1);
	return xstrdup(abs);
}

/* The base name of an artifact as written: "build/model/" -> "model". Caller frees. */
static char *
artifact_base(const char *source)
{
	size_t len = strlen(source);
	const char *start;

	while (len > 1 && source[len - 1] == '/')
		len--;
	start = source + len;
	while (start > source && start[-1] != '/')
		start--;
	if (start == source + len || (len - (size_t)(start - source) == 1 && *start == '.'))
		return xstrdup("artifact");
	return xstrndup(start, len - (size_t)(start - source));
}

static const char *
base_of(const nf_model_version *v)
{
	const char *slash = strrchr(v->artifact_path, '/');

	return slash ? slash + 1 : v->artifact_path;
}

/* Places the registry copy of v in the workspace: current/MODEL/ or candidates/MODEL/vN/. */
static int
place(const char *state_dir, const nf_model_version *v, bool current)
{
	char *mdir = models_dir_abs(state_dir, v->models_dir);
	char *src = xasprintf("%s/%s", state_dir, v->artifact_path);
	char *dir = current ? xasprintf("%s/current/%s", mdir, v->model)
			    : xasprintf("%s/candidates/%s/v%d", mdir, v->model, v->version);
	int err = nf_artifact_place(dir, src, base_of(v));

	if (err < 0) {
		char *msg = xstrdup(nf_error_last());

		err = nf_error_set(err, "%s v%d is registered, but cannot be placed in %s: %s", v->model,
				   v->version, mdir, msg);
		free(msg);
	}
	free(mdir);
	free(src);
	free(dir);
	return err;
}

typedef struct reg_txn {
	const nf_register_req *req;
	const nf_artifact_id *id;
	const char *tmp;            /* the copy, ready to be renamed */
	const char *reg_dir;        /* STATE/registry/MODEL */
	const char *base;
	const char *mdir_rec;
	int64_t now;
	int version;                /* out */
	char *final;                /* out: STATE/registry/MODEL/VERSION once renamed */
} reg_txn;

static int
register_txn(void *vctx, nf_store *st)
{
	reg_txn *t = vctx;
	const nf_register_req *req = t->req;
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *s = NULL;
	const char *status = req->gate && req->gate_passed ? "production" : "candidate";
	char *apath = NULL;
	int rc, err, archived = 0;

	if ((rc = sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) + 1 FROM model_versions"
				     " WHERE model = ?", -1, &s, NULL)) != SQLITE_OK)
		return nf_gov__sql_error(db, rc, "cannot read the model registry");
	sqlite3_bind_text(s, 1, req->model, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	t->version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return nf_gov__sql_error(db, rc, "cannot read the model registry");

	if (strcmp(status, "production") == 0) {
		if ((err = archive_production(db, req->model, "archive", NULL, NULL, t->now, &archived)) < 0)
			return err;
		fault_after_archive();
	}
	apath = xasprintf("registry/%s/%d/%s", req->model, t->version, t->base);
	err = exec_sql(db, "INSERT INTO model_versions (model, version, pipeline, run_id, git_commit,"
		       " artifact_sha256, artifact_size, artifact_kind, artifact_path, source_path, models_dir,"
		       " metrics, params, gate, gate_outcome, status, created_ms, promoted_ms)"
		       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", "titittitttttttttii",
		       req->model, (int64_t)t->version, req->pipeline ? req->pipeline : "", req->run_id,
		       req->commit, t->id->sha256, t->id->size, t->id->kind, apath, req->source_path,
		       t->mdir_rec, req->metrics_json ? req->metrics_json : "{}",
		       req->params_json ? req->params_json : "{}", req->gate,
		       req->gate_outcome ? req->gate_outcome : "none", status, t->now,
		       strcmp(status, "production") == 0 ? t->now : (int64_t)0);
	free(apath);
	if (err < 0 || (err = add_event(db, req->model, t->version, "register", status, req->run_id, false,
					 NULL, NULL, t->now)) < 0)
		return err;
	{
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "model", req->model);
		cJSON_AddNumberToObject(p, "version", t->version);
		cJSON_AddStringToObject(p, "status", status);
		cJSON_AddStringToObject(p, "sha256", t->id->sha256);
		cJSON_AddStringToObject(p, "artifact", req->source_path);
		add_str_or_null(p, "gate", req->gate);
		cJSON_AddStringToObject(p, "gate_outcome", req->gate_outcome ? req->gate_outcome : "none");
		if (archived)
			cJSON_AddNumberToObject(p, "archived", archived);
		else
			cJSON_AddNullToObject(p, "archived");
		if ((err = audit(st, req->run_id, NF_AUDIT_REGISTER, p)) < 0)
			return err;
	}
	/* The copy takes its final name inside the transaction: a crash before the commit leaves
	 * a folder no row names, which the next registration of that number replaces. */
	t->final = xasprintf("%s/%d", t->reg_dir, t->version);
	if ((err = nf_artifact_remove(t->final)) < 0)
		return err;
	if (rename(t->tmp, t->final) < 0)
		return nf_error_set_errno(NF_EIO, "cannot rename '%s' to '%s'", t->tmp, t->final);
	return 0;
}

int
nf_registry_register(nf_model_version *out, nf_store *st, const nf_register_req *req)
{
	char *reg_dir = xasprintf("%s/registry/%s", req->state_dir, req->model);
	char *base = artifact_base(req->source_path ? req->source_path : req->artifact);
	char *tmp = xasprintf("%s/.tmp-%ld", reg_dir, (long)getpid());
	char *copy = xasprintf("%s/%s", tmp, base);
	char *mdir_rec = models_dir_rec(req->state_dir, req->models_dir);
	nf_artifact_id id;
	nf_model_version v = { 0 };
	reg_txn t = { 0 };
	bool unchanged = false;
	int err;

	if (out)
		memset(out, 0, sizeof(*out));
	/* The same bytes are one version: a rerun that restored or rebuilt an identical
	 * artifact registers nothing new. */
	if ((err = nf_artifact_hash(&id, req->artifact)) < 0)
		goto done;
	err = select_one(&v, st, "SELECT " VERSION_COLS " FROM model_versions WHERE model = ?"
			 " AND artifact_sha256 = ? AND status != 'corrupt' ORDER BY version DESC LIMIT 1",
			 req->model, id.sha256, 0, false);
	if (err == 0) {
		/* This run's gate passed for bytes the registry already holds: that version, not
		 * a copy of it, goes back to production. */
		if (req->gate_outcome && strcmp(req->gate_outcome, "pass") == 0 &&
		    strcmp(v.status, "production") != 0) {
			nf_model_version p;
			int version = v.version;

			nf_model_version_release(&v);
			memset(&v, 0, sizeof(v));
			err = nf_registry_promote(&p, NULL, st, req->state_dir, req->model, version, true,
						  "the gate passed again for the same artifact", "ntflow");
			if (err < 0)
				goto done;
			v = p;
		} else {
			unchanged = true;
		}
		goto done;
	}
	if (err != NF_ENOTFOUND)
		goto done;
	if ((err = nf_mkdir_p(reg_dir, 0777)) < 0 || (err = nf_artifact_remove(tmp)) < 0)
		goto done;
	nf_artifact_sweep(reg_dir);
	if (mkdir(tmp, 0777) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create '%s'", tmp);
		goto done;
	}
	/* The copy is hashed, not the source: the hash is of what the registry keeps. */
	if ((err = nf_artifact_copy(req->artifact, copy)) < 0 || (err = nf_artifact_hash(&id, copy)) < 0)
		goto done;
	t.req = req;
	t.id = &id;
	t.tmp = tmp;
	t.reg_dir = reg_dir;
	t.base = base;
	t.mdir_rec = mdir_rec;
	t.now = nf_now_realtime_ms();
	if ((err = nf_store_atomic(st, register_txn, &t)) < 0) {
		if (t.final)
			nf_artifact_remove(t.final);
		goto done;
	}
	if ((err = nf_registry_get(&v, st, req->model, t.version)) < 0)
		goto done;
	err = place(req->state_dir, &v, strcmp(v.status, "production") == 0);
done:
	if (err < 0)
		nf_artifact_remove(tmp);
	else if (out) {
		*out = v;
		memset(&v, 0, sizeof(v));
	}
	nf_model_version_release(&v);
	free(t.final);
	free(reg_dir);
	free(base);
	free(tmp);
	free(copy);
	free(mdir_rec);
	return err < 0 ? err : unchanged;
}

/* Re-hashes v's registry copy. 0 when it matches; NF_ECORRUPT with the problem otherwise. */
static int
check_copy(const char *state_dir, const nf_model_version *v)
{
	char *path = xasprintf("%s/%s", state_dir, v->artifact_path);
	nf_artifact_id id;
	int err = nf_artifact_hash(&id, path);

	if (err == NF_ENOTFOUND)
		err = nf_error_set(NF_ECORRUPT, "%s v%d: the registry copy %s is missing", v->model, v->version,
				   v->artifact_path);
	else if (err < 0)
		err = nf_error_set(NF_ECORRUPT, "%s v%d: %s", v->model, v->version, nf_error_last());
	else if (strcmp(id.sha256, v->sha256) != 0 || strcmp(id.kind, v->kind) != 0)
		err = nf_error_set(NF_ECORRUPT, "%s v%d: the registry copy %s was modified (sha256 %.12s, expected %.12s)",
				   v->model, v->version, v->artifact_path, id.sha256, v->sha256);
	free(path);
	return err;
}

typedef struct corrupt_txn {
	const nf_model_version *v;
	const char *problem;
} corrupt_txn;

static int
corrupt_fn(void *vctx, nf_store *st)
{
	corrupt_txn *t = vctx;
	sqlite3 *db = nf_store_db(st);
	int err;

	if (strcmp(t->v->status, "corrupt") == 0)
		return 0;
	cJSON *p;

	if ((err = exec_sql(db, "UPDATE model_versions SET status = 'corrupt' WHERE id = ?", "i", t->v->id)) < 0 ||
	    (err = add_event(db, t->v->model, t->v->version, "corrupt", "corrupt", 0, false, t->problem, NULL,
			     nf_now_realtime_ms())) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "model", t->v->model);
	cJSON_AddNumberToObject(p, "version", t->v->version);
	cJSON_AddStringToObject(p, "problem", t->problem);
	return audit(st, 0, NF_AUDIT_CORRUPT, p);
}

static int
mark_corrupt(nf_store *st, const nf_model_version *v, const char *problem)
{
	corrupt_txn t = { v, problem };

	return nf_store_atomic(st, corrupt_fn, &t);
}

/* Refuses a version whose copy no longer matches, marking it corrupt. */
static int
check_before_promotion(nf_store *st, const char *state_dir, const nf_model_version *v)
{
	char *msg;
	int err;

	if ((err = check_copy(state_dir, v)) == 0)
		return 0;
	msg = xstrdup(nf_error_last());
	mark_corrupt(st, v, msg);
	err = nf_error_set(NF_ECORRUPT, "%s; it is now marked corrupt and cannot be promoted", msg);
	free(msg);
	return err;
}

typedef struct promote_txn {
	const nf_model_version *v;
	const char *action;         /* promote, rollback */
	bool forced;
	const char *reason, *actor;
	int64_t now;
	int previous;               /* out */
} promote_txn;

static int
promote_fn(void *vctx, nf_store *st)
{
	promote_txn *t = vctx;
	sqlite3 *db = nf_store_db(st);
	cJSON *p;
	int err;

	if ((err = archive_production(db, t->v->model, t->action, t->reason, t->actor, t->now, &t->previous)) < 0)
		return err;
	fault_after_archive();
	if ((err = exec_sql(db, "UPDATE model_versions SET status = 'production', promoted_ms = ?, forced = ?,"
			    " reason = ?, actor = ? WHERE id = ?", "ibtti", t->now, (int)t->forced, t->reason,
			    t->actor, t->v->id)) < 0 ||
	    (err = add_event(db, t->v->model, t->v->version, t->action, "production", 0, t->forced, t->reason,
			     t->actor, t->now)) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "model", t->v->model);
	cJSON_AddNumberToObject(p, "version", t->v->version);
	if (t->previous)
		cJSON_AddNumberToObject(p, "previous", t->previous);
	else
		cJSON_AddNullToObject(p, "previous");
	cJSON_AddBoolToObject(p, "forced", t->forced);
	add_str_or_null(p, "reason", t->reason);
	add_str_or_null(p, "actor", t->actor);
	cJSON_AddStringToObject(p, "gate_outcome", t->v->gate_outcome ? t->v->gate_outcome : "none");
	return audit(st, 0, strcmp(t->action, "rollback") == 0 ? NF_AUDIT_ROLLBACK : NF_AUDIT_PROMOTE, p);
}

static int
make_production(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
		nf_model_version *v, const char *action, bool forced, const char *reason, const char *actor)
{
	promote_txn t = { v, action, forced, reason, actor, nf_now_realtime_ms(), 0 };
	int err;

	if ((err = check_before_promotion(st, state_dir, v)) < 0 ||
	    (err = nf_store_atomic(st, promote_fn, &t)) < 0)
		return err;
	if (previous)
		*previous = t.previous;
	if ((err = nf_registry_get(out, st, v->model, v->version)) < 0)
		return err;
	return place(state_dir, out, true);
}

int
nf_registry_promote(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
		    const char *model, int version, bool force, const char *reason, const char *actor)
{
	nf_model_version v;
	bool needs_force;
	int err;

	memset(out, 0, sizeof(*out));
	if (previous)
		*previous = 0;
	if ((err = nf_registry_get(&v, st, model, version)) < 0)
		return err;
	needs_force = v.gate && strcmp(v.gate_outcome, "pass") != 0;
	if (strcmp(v.status, "corrupt") == 0)
		err = nf_error_set(NF_ECORRUPT, "%s v%d is corrupt (its artifact failed verification) and cannot be promoted",
				   model, version);
	else if (strcmp(v.status, "production") == 0)
		err = nf_error_set(NF_EINVALID, "%s v%d is already in production", model, version);
	else if (needs_force && !force)
		err = nf_error_set(NF_EINVALID, "%s v%d %s gate '%s'; promoting it needs --force and --reason TEXT",
				   model, version, strcmp(v.gate_outcome, "fail") == 0 ? "failed its" : "was not passed by its",
				   v.gate);
	else if (needs_force && (!reason || !*reason))
		err = nf_error_set(NF_EINVALID, "a forced promotion needs --reason TEXT (it is recorded with who promoted)");
	else
		err = make_production(out, previous, st, state_dir, &v, "promote", needs_force, reason, actor);
	nf_model_version_release(&v);
	return err;
}

int
nf_registry_rollback(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
		     const char *model, const char *reason, const char *actor)
{
	nf_model_version v;
	int err;

	memset(out, 0, sizeof(*out));
	if (previous)
		*previous = 0;
	/* A version taken out of production by a rollback is not a rollback target: rolling
	 * back twice goes two versions back, not back and forth. */
	err = select_one(&v, st, "SELECT " VERSION_COLS " FROM model_versions v WHERE model = ?"
			 " AND status = 'archived' AND NOT EXISTS (SELECT 1 FROM model_events e"
			 "  WHERE e.id = (SELECT max(id) FROM model_events WHERE model = v.model AND version = v.version)"
			 "  AND e.action = 'rollback' AND e.status = 'archived')"
			 " ORDER BY archived_ms DESC, version DESC LIMIT 1", model, NULL, 0, false);
	if (err == NF_ENOTFOUND) {
		if ((err = no_model(st, model)) == 0)
			err = nf_error_set(NF_ENOTFOUND, "%s has no earlier production version to roll back to", model);
		return err;
	}
	if (err < 0)
		return err;
	err = make_production(out, previous, st, state_dir, &v, "rollback", false, reason, actor);
	nf_model_version_release(&v);
	return err;
}

/* Compares a workspace copy with the version; a problem text (caller frees) or NULL. */
static char *
check_workspace(const char *state_dir, const nf_model_version *v, bool current)
{
	char *mdir = models_dir_abs(state_dir, v->models_dir);
	char *rel = current ? xasprintf("%s/current/%s/%s", v->models_dir, v->model, base_of(v))
			    : xasprintf("%s/candidates/%s/v%d/%s", v->models_dir, v->model, v->version, base_of(v));
	char *abs = current ? xasprintf("%s/current/%s/%s", mdir, v->model, base_of(v))
			    : xasprintf("%s/candidates/%s/v%d/%s", mdir, v->model, v->version, base_of(v));
	char *problem = NULL;
	nf_artifact_id id;
	int err = nf_artifact_hash(&id, abs);

	if (err == NF_ENOTFOUND) {
		if (current)
			problem = xasprintf("%s v%d is in production but %s is missing", v->model, v->version, rel);
	} else if (err < 0) {
		problem = xasprintf("%s v%d: %s", v->model, v->version, nf_error_last());
	} else if (strcmp(id.sha256, v->sha256) != 0 || strcmp(id.kind, v->kind) != 0) {
		problem = xasprintf("%s v%d: %s was modified (sha256 %.12s, expected %.12s)", v->model, v->version,
				    rel, id.sha256, v->sha256);
	}
	free(mdir);
	free(rel);
	free(abs);
	return problem;
}

int
nf_registry_verify(nf_store *st, const char *state_dir, const char *model,
		   void (*bad)(void *ctx, const nf_model_version *v, const char *problem), void *ctx,
		   size_t *checked, size_t *nbad)
{
	nf_model_version *vs = NULL;
	size_t n = 0;
	int err;

	*checked = *nbad = 0;
	if ((err = nf_registry_list(st, model, &vs, &n)) < 0)
		return err;
	if (model && n == 0) {
		free(vs);
		return nf_error_set(NF_ENOTFOUND, "no model '%s' in the registry", model);
	}
	for (size_t i = 0; i < n && err == 0; i++) {
		nf_model_version *v = &vs[i];
		char *problem;

		(*checked)++;
		if (check_copy(state_dir, v) < 0) {
			problem = xstrdup(nf_error_last());
			(*nbad)++;
			if (bad)
				bad(ctx, v, problem);
			err = mark_corrupt(st, v, problem);
			free(problem);
			continue;
		}
		if (strcmp(v->status, "production") != 0 && strcmp(v->status, "candidate") != 0)
			continue;
		if ((problem = check_workspace(state_dir, v, strcmp(v->status, "production") == 0))) {
			(*nbad)++;
			if (bad)
				bad(ctx, v, problem);
			free(problem);
		}
	}
	nf_model_version_list_free(vs, n);
	return err;
}

int
nf_registry_events(nf_store *st, const char *model, int version, nf_model_event **out, size_t *n)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *s = NULL;
	nf_model_event *e = NULL;
	size_t ne = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(db, "SELECT version, action, status, run_id, forced, reason, actor, at_ms"
				     " FROM model_events WHERE model = ?1 AND (?2 = 0 OR version = ?2) ORDER BY id",
				     -1, &s, NULL)) != SQLITE_OK)
		return nf_gov__sql_error(db, rc, "cannot read the model registry");
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, version);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nf_model_event *x;

		e = xgrow(e, sizeof(*e), ne + 1, &cap);
		x = &e[ne++];
		x->version = sqlite3_column_int(s, 0);
		x->action = col_str(s, 1);
		x->status = col_str(s, 2);
		x->run_id = sqlite3_column_int64(s, 3);
		x->forced = sqlite3_column_int(s, 4) != 0;
		x->reason = col_str(s, 5);
		x->actor = col_str(s, 6);
		x->at_ms = sqlite3_column_int64(s, 7);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		nf_model_event_list_free(e, ne);
		return nf_gov__sql_error(db, rc, "cannot read the model registry");
	}
	*out = e;
	*n = ne;
	return 0;
}

void
nf_model_event_list_free(nf_model_event *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].action);
		free(e[i].status);
		free(e[i].reason);
		free(e[i].actor);
	}
	free(e);
}
