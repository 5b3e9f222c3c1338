/* registry.c: the model registry: versions registered at the end of runs, promotion and
 * rollback (each status change with the archive of the previous production version in one
 * transaction), verification of the artifact copies, and the history of every change. */
#include "config.h"
#include "ntflow/gov.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry-internal.h"

static int
no_model(nf_store *st, const char *model)
{
	int err = nf_store_model_exists(st, model);

	if (err != 0)
		return err < 0 ? err : 0;
	return nf_error_set(NF_ENOTFOUND, "no model '%s' in the registry", model);
}

int
nf_registry_get(nf_model_version *out, nf_store *st, const char *model, int version)
{
	int err;

	err = nf_store_model_version(out, st, model, version);
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
	err = nf_store_model_production(&v, st, model);
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

/* Takes the production version of model, if any, out of production: archived, or
 * rolled-back by a rollback; *archived is its number (0: none). */
static int
archive_production(nf_store *st, const char *model, const char *action, const char *reason,
		   const char *actor, int64_t run_id, int64_t now, int *archived)
{
	const char *status = strcmp(action, "rollback") == 0 ? "rolled-back" : "archived";
	int err;

	if ((err = nf_store_model_production_number(st, model, archived)) < 0)
		return err;
	if (*archived == 0)
		return 0;
	if ((err = nf_store_model_set_archived(st, model, *archived, status, now)) < 0)
		return err;
	return nf_store_model_event_add(st, model, *archived, action, status, run_id, false, reason, actor, now);
}

/* The test-only crash between archiving the old production version and recording the new
 * one, inside the transaction: what survives must still have one production version. */
static void
fault_after_archive(void)
{
	nf_gov__crash("registry-after-archive");
}

/* rec (a models folder as recorded) joined to the parent of state_dir. */
static char *
join_parent(const char *state_dir, const char *rec)
{
	const char *slash = strrchr(state_dir, '/');

	if (!slash)
		return xstrdup(rec);
	return xasprintf("%.*s/%s", (int)(slash - state_dir), state_dir, rec);
}

char *
nf_registry__models_dir(const char *state_dir, const char *rec)
{
	char *canon, *dir, *real, *old;
	struct stat sb;

	if (!rec || !*rec)
		rec = "models";
	if (rec[0] == '/')
		return xstrdup(rec);
	/* The project's: the parent of the state folder where it sits, not where a link to
	 * another disk leads (a rollback placed the model under that disk, outside the project,
	 * and left the project's models/current as it was). */
	canon = nf_state_dir_canon(state_dir);
	dir = join_parent(canon, rec);
	/* A version recorded while the state folder was a link, by an ntflow that took the
	 * link's end for the project's folder, names its folder from there ("proj/models" from
	 * the link's end's parent): found there when it is not where it should be, and only
	 * inside the project (a "models" beside the link's end is some other folder). */
	if (stat(dir, &sb) < 0 && (real = realpath(state_dir, NULL))) {
		size_t pl = (size_t)(strrchr(canon, '/') - canon);

		old = join_parent(real, rec);
		if (strcmp(real, canon) != 0 && strncmp(old, canon, pl) == 0 && old[pl] == '/' &&
		    stat(old, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			free(dir);
			dir = old;
		} else {
			free(old);
		}
		free(real);
	}
	free(canon);
	return dir;
}

/* models_dir as recorded: relative to the state directory's parent (the project) when
 * inside it. */
static char *
models_dir_rec(const char *state_dir, const char *abs)
{
	char *canon = nf_state_dir_canon(state_dir), *out;
	const char *slash = strrchr(canon, '/');
	size_t pl = slash ? (size_t)(slash - canon) : 0;

	if (slash && strncmp(abs, canon, pl) == 0 && abs[pl] == '/' && abs[pl + 1])
		out = xstrdup(abs + pl + 1);
	else
		out = xstrdup(abs);
	free(canon);
	return out;
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

const char *
nf_registry__base(const nf_model_version *v)
{
	const char *slash = strrchr(v->artifact_path, '/');

	return slash ? slash + 1 : v->artifact_path;
}

/* The folder of a version's workspace copy under mdir: current/MODEL, or
 * candidates/MODEL/vN (version 0: a name beside the model's candidates, to build one in). */
static char *
place_dir(const char *mdir, const char *model, int version, bool current)
{
	return current ? xasprintf("%s/current/%s", mdir, model) : xasprintf("%s/candidates/%s/v%d", mdir, model, version);
}

/* err (< 0) of placing v under mdir, its change recorded: said so. */
static int
not_placed(int err, const nf_model_version *v, const char *mdir)
{
	char *msg = xstrdup(nf_error_last());

	err = nf_error_set(err, "%s v%d is registered, but cannot be placed in %s: %s", v->model, v->version, mdir, msg);
	free(msg);
	return err;
}

/* Renames staged (nf_artifact_stage's, taken) into v's place under mdir. */
static int
install_place(const char *mdir, const nf_model_version *v, bool current, char *staged)
{
	char *dir = place_dir(mdir, v->model, v->version, current);
	int err = nf_artifact_install(dir, staged);

	free(dir);
	return err < 0 ? not_placed(err, v, mdir) : 0;
}

int
nf_registry__place(const char *state_dir, const nf_model_version *v, bool current)
{
	char *mdir = nf_registry__models_dir(state_dir, v->models_dir);
	char *src = xasprintf("%s/%s", state_dir, v->artifact_path);
	char *dir = place_dir(mdir, v->model, v->version, current);
	int err = nf_artifact_place(dir, src, nf_registry__base(v));

	if (err < 0)
		err = not_placed(err, v, mdir);
	free(mdir);
	free(src);
	free(dir);
	return err;
}

/* Builds the workspace copy of src (named base) for model beside where it goes under mdir,
 * before the change that puts it there is recorded: a full disk then fails the change, with
 * the production version and its files as they were, instead of recording one version and
 * leaving the other's files in place (a run "failed" that had changed production). what
 * names the change in the message. *staged goes to nf_artifact_install once recorded. */
static int
stage_place(char **staged, const char *mdir, const char *model, bool current, const char *src, const char *base,
	    const char *what)
{
	char *dir = place_dir(mdir, model, 0, current), *msg;
	int err = nf_artifact_stage(staged, dir, src, base);

	if (err < 0) {   /* a full disk: the copy's message names the file system (nf_error_set_io) */
		msg = xstrdup(nf_error_last());
		err = nf_error_set(err, "%s cannot be placed in %s: %s; %s", model, mdir, msg, what);
		free(msg);
	}
	free(dir);
	return err;
}

/* Whether a new version of req goes to production (else it is a candidate). */
static bool
goes_to_production(const nf_register_req *req)
{
	return req->gate && req->gate_passed && !req->hold;
}

typedef struct reg_txn {
	const nf_register_req *req;
	const nf_artifact_id *id;
	const char *tmp;            /* the copy, ready to be renamed */
	const char *reg_dir;        /* STATE/registry/MODEL */
	const char *base;
	const char *mdir_rec;
	const char *note;           /* why a passed gate left a candidate (the run's hold) */
	int64_t now;
	int version;                /* out */
	char *final;                /* out: STATE/registry/MODEL/VERSION once renamed */
} reg_txn;

static int
register_txn(void *vctx, nf_store *st)
{
	reg_txn *t = vctx;
	const nf_register_req *req = t->req;
	const char *status = goes_to_production(req) ? "production" : "candidate";
	char *apath = NULL;
	nf_model_version row;
	int err, archived = 0;

	if ((err = nf_store_model_next_number(st, req->model, &t->version)) < 0)
		return err;

	if (strcmp(status, "production") == 0) {
		if ((err = archive_production(st, req->model, "archive", NULL, NULL, 0, t->now, &archived)) < 0)
			return err;
		fault_after_archive();
	}
	apath = xasprintf("registry/%s/%d/%s", req->model, t->version, t->base);
	row = (nf_model_version){
		.model = (char *)req->model, .version = t->version, .pipeline = (char *)(req->pipeline ? req->pipeline : ""),
		.run_id = req->run_id, .commit = (char *)req->commit, .sha256 = (char *)t->id->sha256, .size = t->id->size,
		.kind = (char *)t->id->kind, .artifact_path = apath, .source_path = (char *)req->source_path,
		.models_dir = (char *)t->mdir_rec, .metrics_json = (char *)(req->metrics_json ? req->metrics_json : "{}"),
		.params_json = (char *)(req->params_json ? req->params_json : "{}"), .gate = (char *)req->gate,
		.gate_outcome = (char *)(req->gate_outcome ? req->gate_outcome : "none"), .status = (char *)status,
		.created_ms = t->now, .promoted_ms = strcmp(status, "production") == 0 ? t->now : (int64_t)0,
		.cohort = (char *)req->cohort,
	};
	err = nf_store_model_insert(st, &row);
	free(apath);
	if (err < 0 || (err = nf_store_model_event_add(st, req->model, t->version, "register", status, req->run_id, false,
					 t->note, NULL, t->now)) < 0)
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
		if (t->note)   /* only then: the records of earlier versions keep their shape */
			cJSON_AddStringToObject(p, "note", t->note);
		{
			int touched[2] = { archived, t->version };

			if ((err = nf_registry__add_rows(p, st, req->model, touched, 2)) < 0) {
				cJSON_Delete(p);
				return err;
			}
		}
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

typedef struct held_txn {
	const nf_register_req *req;
	const nf_model_version *v;
	const char *why;
} held_txn;

static int
held_fn(void *vctx, nf_store *st)
{
	held_txn *t = vctx;
	cJSON *p;
	int err;

	if ((err = nf_store_model_event_add(st, t->v->model, t->v->version, "held", t->v->status, t->req->run_id,
			     false, t->why, NULL, nf_now_realtime_ms())) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "model", t->v->model);
	cJSON_AddNumberToObject(p, "version", t->v->version);
	cJSON_AddStringToObject(p, "status", t->v->status);
	add_str_or_null(p, "gate", t->req->gate);
	cJSON_AddStringToObject(p, "reason", t->why);
	return audit(st, t->req->run_id, NF_AUDIT_HELD, p);
}

/* Why the version v, whose bytes this run's gate passed again, must not go back to
 * production: the run's own hold, a rollback of v, or a person's decision about the
 * current production version that still stands (it was made after v was registered: a
 * version registered since is a model with different bytes). *why NULL: nothing holds it
 * back. */
static int
held_back(char **why, nf_store *st, const nf_register_req *req, const nf_model_version *v)
{
	nf_model_event *ev = NULL;
	nf_model_version prod;
	size_t nev = 0;
	int err;

	*why = NULL;
	if (req->hold) {
		*why = xasprintf("not returned to production: %s", req->hold);
		return 0;
	}
	if ((err = nf_registry_events(st, v->model, 0, &ev, &nev)) < 0)
		return err;
	if (strcmp(v->status, "rolled-back") == 0) {
		char *how = nf_registry_why(v, ev, nev);

		*why = xasprintf("not returned to production: v%d was %s", v->version,
				 how ? how : "rolled back; only registry promote --force returns it");
		free(how);
		goto done;
	}
	err = nf_store_model_production(&prod, st, v->model);
	if (err == NF_ENOTFOUND) {
		err = 0;
		goto done;
	}
	if (err < 0)
		goto done;
	{
		const nf_model_event *e = nf_registry_last_event(ev, nev, prod.version, "production");
		const nf_model_event *born = NULL;

		for (size_t i = 0; i < nev && !born; i++)
			if (ev[i].version == v->version && strcmp(ev[i].action, "register") == 0)
				born = &ev[i];
		if (e && nf_registry_event_is_human(e) && (!born || born < e))
			*why = xasprintf("not returned to production: the %s v%d by %s stands until a model"
					 " with different bytes passes the gate", strcmp(e->action, "rollback") == 0
					 ? "rollback to" : e->forced ? "forced promotion of" : "promotion of", prod.version,
					 e->actor ? e->actor : "a person");
	}
	nf_model_version_release(&prod);
done:
	nf_model_event_list_free(ev, nev);
	return err;
}

static int make_production(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
			   nf_model_version *v, const char *action, bool forced, const char *reason,
			   const char *actor, int64_t run_id);

/* A run's gate passed for bytes version *v already holds: v goes back to production unless
 * something holds it back (recorded as a held event, the reason in *note). *v is replaced by
 * the promoted version. */
static int
passed_again(nf_model_version *v, char **note, nf_store *st, const nf_register_req *req)
{
	nf_model_version p;
	char *why = NULL, *reason;
	int err;

	if ((err = held_back(&why, st, req, v)) < 0)
		return err;
	if (why) {
		held_txn t = { req, v, why };

		if ((err = nf_store_atomic(st, held_fn, &t)) < 0) {
			free(why);
			return err;
		}
		if (note)
			*note = why;
		else
			free(why);
		return 0;
	}
	reason = xasprintf("its bytes passed gate %s again in run %lld", req->gate, (long long)req->run_id);
	err = make_production(&p, NULL, st, req->state_dir, v, "promote", false, reason, NULL, req->run_id);
	free(reason);
	if (err < 0)
		return err;
	nf_model_version_release(v);
	*v = p;
	return 0;
}

int
nf_registry_register(nf_model_version *out, char **note, nf_store *st, const nf_register_req *req)
{
	char *reg_dir = xasprintf("%s/registry/%s", req->state_dir, req->model);
	char *base = artifact_base(req->source_path ? req->source_path : req->artifact);
	char *tmp = xasprintf("%s/.tmp-%ld", reg_dir, (long)getpid());
	char *copy = xasprintf("%s/%s", tmp, base);
	char *mdir_rec = models_dir_rec(req->state_dir, req->models_dir);
	char *mdir = nf_registry__models_dir(req->state_dir, mdir_rec), *staged = NULL;
	char *held = NULL;
	nf_artifact_id id;
	nf_model_version v = { 0 };
	reg_txn t = { 0 };
	bool unchanged = false, passed = req->gate && req->gate_passed;
	int err;

	if (out)
		memset(out, 0, sizeof(*out));
	if (note)
		*note = NULL;
	/* Nothing acts on a registry edited outside ntflow. */
	if ((err = nf_registry_chain_check(st, NULL)) < 0)
		goto done;
	/* What a registration killed midway left (.tmp-PID, its process gone) goes at every
	 * registration, not only at the next new version: a model that no longer changes kept
	 * a partial copy for good. */
	nf_artifact_sweep(reg_dir);
	/* The same bytes are one version: a rerun that restored or rebuilt an identical
	 * artifact registers nothing new. */
	if ((err = nf_artifact_hash(&id, req->artifact)) < 0)
		goto done;
	err = nf_store_model_by_sha256(&v, st, req->model, id.sha256);
	if (err == 0) {
		/* This run's gate passed for bytes the registry already holds: that version, not
		 * a copy of it, goes back to production, unless a person decided otherwise. */
		if (passed && strcmp(v.status, "production") != 0) {
			if ((err = passed_again(&v, &held, st, req)) < 0)
				goto done;
			unchanged = held != NULL;
		} else {
			unchanged = true;
		}
		goto done;
	}
	if (err != NF_ENOTFOUND)
		goto done;
	if ((err = nf_mkdir_p(reg_dir, 0777)) < 0 || (err = nf_artifact_remove(tmp)) < 0)
		goto done;
	if (mkdir(tmp, 0777) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create '%s'", tmp);
		goto done;
	}
	/* The copy is hashed, not the source: the hash is of what the registry keeps. */
	if ((err = nf_artifact_copy(req->artifact, copy)) < 0 || (err = nf_artifact_hash(&id, copy)) < 0)
		goto done;
	if ((err = stage_place(&staged, mdir, req->model, goes_to_production(req), copy, base,
			       "nothing was registered")) < 0)
		goto done;
	if (passed && req->hold)
		held = xasprintf("not promoted: %s", req->hold);
	t.req = req;
	t.id = &id;
	t.tmp = tmp;
	t.reg_dir = reg_dir;
	t.base = base;
	t.mdir_rec = mdir_rec;
	t.note = held;
	t.now = nf_now_realtime_ms();
	if ((err = nf_store_atomic(st, register_txn, &t)) < 0) {
		if (t.final)
			nf_artifact_remove(t.final);
		goto done;
	}
	nf_gov__crash("registry-after-commit");
	if ((err = nf_registry_get(&v, st, req->model, t.version)) < 0)
		goto done;
	err = install_place(mdir, &v, strcmp(v.status, "production") == 0, staged);
	staged = NULL;
done:
	if (staged) {
		nf_artifact_remove(staged);
		free(staged);
	}
	if (err < 0)
		nf_artifact_remove(tmp);
	else if (out) {
		*out = v;
		memset(&v, 0, sizeof(v));
	}
	if (err >= 0 && note) {
		*note = held;
		held = NULL;
	}
	nf_model_version_release(&v);
	free(held);
	free(t.final);
	free(reg_dir);
	free(base);
	free(tmp);
	free(copy);
	free(mdir_rec);
	free(mdir);
	return err < 0 ? err : unchanged;
}

int
nf_registry__check_copy(const char *state_dir, const nf_model_version *v)
{
	char *path = xasprintf("%s/%s", state_dir, v->artifact_path);
	nf_artifact_id id;
	int err = nf_artifact_hash(&id, path);

	if (err == NF_ENOTFOUND)
		err = nf_error_set(NF_ENOTFOUND, "%s v%d: the registry copy %s is missing", v->model, v->version,
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
	int err;

	if (strcmp(t->v->status, "corrupt") == 0)
		return 0;
	cJSON *p;

	if ((err = nf_store_model_mark_corrupt(st, t->v->id)) < 0 ||
	    (err = nf_store_model_event_add(st, t->v->model, t->v->version, "corrupt", "corrupt", 0, false, t->problem, NULL,
			     nf_now_realtime_ms())) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "model", t->v->model);
	cJSON_AddNumberToObject(p, "version", t->v->version);
	cJSON_AddStringToObject(p, "problem", t->problem);
	if ((err = nf_registry__add_rows(p, st, t->v->model, &t->v->version, 1)) < 0) {
		cJSON_Delete(p);
		return err;
	}
	return audit(st, 0, NF_AUDIT_CORRUPT, p);
}

int
nf_registry__mark_corrupt(nf_store *st, const nf_model_version *v, const char *problem)
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

	if ((err = nf_registry__check_copy(state_dir, v)) == 0)
		return 0;
	msg = xstrdup(nf_error_last());
	nf_registry__mark_corrupt(st, v, msg);
	err = nf_error_set(NF_ECORRUPT, "%s; it is now marked corrupt and cannot be promoted", msg);
	free(msg);
	return err;
}

typedef struct promote_txn {
	const nf_model_version *v;
	const char *action;         /* promote, rollback */
	bool forced;
	const char *reason, *actor;
	int64_t run_id;             /* a run's gate passed again (0: a person) */
	int64_t now;
	int previous;               /* out */
} promote_txn;

static int
promote_fn(void *vctx, nf_store *st)
{
	promote_txn *t = vctx;
	cJSON *p;
	int err;

	if ((err = archive_production(st, t->v->model, t->action, t->reason, t->actor, t->run_id, t->now,
				      &t->previous)) < 0)
		return err;
	fault_after_archive();
	if ((err = nf_store_model_promote(st, t->v->id, t->now, t->forced, t->reason, t->actor)) < 0 ||
	    (err = nf_store_model_event_add(st, t->v->model, t->v->version, t->action, "production", t->run_id, t->forced,
			     t->reason, t->actor, t->now)) < 0)
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
	{
		int touched[2] = { t->previous, t->v->version };

		if ((err = nf_registry__add_rows(p, st, t->v->model, touched, 2)) < 0) {
			cJSON_Delete(p);
			return err;
		}
	}
	return audit(st, t->run_id, strcmp(t->action, "rollback") == 0 ? NF_AUDIT_ROLLBACK : NF_AUDIT_PROMOTE, p);
}

/* Removes a version's copy under candidates/ once it is no longer a candidate (and the
 * model's candidates folder when that leaves it empty). */
static int
remove_candidate_copy(const char *state_dir, const nf_model_version *v)
{
	char *mdir = nf_registry__models_dir(state_dir, v->models_dir);
	char *parent = xasprintf("%s/candidates/%s", mdir, v->model);
	char *dir = xasprintf("%s/v%d", parent, v->version);
	int err = nf_artifact_remove(dir);

	if (err == 0)
		rmdir(parent);   /* fails, as it should, while other candidates remain */
	free(mdir);
	free(parent);
	free(dir);
	return err;
}

static int
make_production(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
		nf_model_version *v, const char *action, bool forced, const char *reason, const char *actor,
		int64_t run_id)
{
	promote_txn t = { v, action, forced, reason, actor, run_id, nf_now_realtime_ms(), 0 };
	char *mdir, *src, *staged = NULL;
	int err;

	if ((err = check_before_promotion(st, state_dir, v)) < 0)
		return err;
	mdir = nf_registry__models_dir(state_dir, v->models_dir);
	src = xasprintf("%s/%s", state_dir, v->artifact_path);
	err = stage_place(&staged, mdir, v->model, true, src, nf_registry__base(v), "production is unchanged");
	free(src);
	if (err == 0 && (err = nf_store_atomic(st, promote_fn, &t)) < 0) {
		nf_artifact_remove(staged);
		free(staged);
	}
	if (err < 0) {
		free(mdir);
		return err;
	}
	nf_gov__crash("registry-after-commit");
	if (previous)
		*previous = t.previous;
	err = install_place(mdir, v, true, staged);
	free(mdir);
	if (err < 0 || (err = nf_registry_get(out, st, v->model, v->version)) < 0)
		return err;
	nf_gov__crash("registry-after-place");
	return remove_candidate_copy(state_dir, out);
}

int
nf_registry_promote(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
		    const char *model, int version, bool force, const char *reason, const char *actor)
{
	nf_model_version v;
	bool needs_force, rolled_back;
	int err;

	memset(out, 0, sizeof(*out));
	if (previous)
		*previous = 0;
	if ((err = nf_registry_chain_check(st, NULL)) < 0 || (err = nf_registry_get(&v, st, model, version)) < 0)
		return err;
	/* A version a person rolled back returns only by another person's explicit decision. */
	rolled_back = strcmp(v.status, "rolled-back") == 0;
	needs_force = rolled_back || (v.gate && strcmp(v.gate_outcome, "pass") != 0);
	if (strcmp(v.status, "corrupt") == 0)
		err = nf_error_set(NF_ECORRUPT, "%s v%d is corrupt (its artifact failed verification) and cannot be promoted",
				   model, version);
	else if (strcmp(v.status, "production") == 0)
		err = nf_error_set(NF_EINVALID, "%s v%d is already in production", model, version);
	else if (needs_force && !force && rolled_back)
		err = nf_error_set(NF_EINVALID, "%s v%d was rolled back; returning it to production needs --force and --reason TEXT",
				   model, version);
	else if (needs_force && !force)
		err = nf_error_set(NF_EINVALID, "%s v%d %s gate '%s'; promoting it needs --force and --reason TEXT",
				   model, version, strcmp(v.gate_outcome, "fail") == 0 ? "failed its" : "was not passed by its",
				   v.gate);
	else if (needs_force && (!reason || !*reason))
		err = nf_error_set(NF_EINVALID, "a forced promotion needs --reason TEXT (it is recorded with who promoted)");
	else
		err = make_production(out, previous, st, state_dir, &v, "promote", needs_force, reason, actor, 0);
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
	if ((err = nf_registry_chain_check(st, NULL)) < 0)
		return err;
	/* A rolled-back version is not a rollback target: rolling back twice goes two versions
	 * back, not back and forth. */
	err = nf_store_model_last_archived(&v, st, model);
	if (err == NF_ENOTFOUND) {
		if ((err = no_model(st, model)) == 0)
			err = nf_error_set(NF_ENOTFOUND, "%s has no earlier production version to roll back to", model);
		return err;
	}
	if (err < 0)
		return err;
	err = make_production(out, previous, st, state_dir, &v, "rollback", false, reason, actor, 0);
	nf_model_version_release(&v);
	return err;
}

void
nf_registry__workspace_path(char **rel, char **abs, const char *state_dir, const nf_model_version *v,
			    bool current, bool folder)
{
	char *mdir = nf_registry__models_dir(state_dir, v->models_dir);
	char *tail = current ? xasprintf("current/%s", v->model) : xasprintf("candidates/%s/v%d", v->model, v->version);

	if (folder) {
		*rel = xasprintf("%s/%s", v->models_dir, tail);
		*abs = xasprintf("%s/%s", mdir, tail);
	} else {
		*rel = xasprintf("%s/%s/%s", v->models_dir, tail, nf_registry__base(v));
		*abs = xasprintf("%s/%s/%s", mdir, tail, nf_registry__base(v));
	}
	free(mdir);
	free(tail);
}

/* Compares a workspace copy with the version; a problem text (caller frees) or NULL. A copy
 * holding another version's bytes was not edited: a promotion or rollback was cut short. */
static char *
check_workspace(nf_store *st, const char *state_dir, const nf_model_version *v, bool current)
{
	nf_model_version other = { 0 };
	char *rel, *abs, *problem = NULL;
	nf_artifact_id id;
	int err;

	nf_registry__workspace_path(&rel, &abs, state_dir, v, current, false);
	err = nf_artifact_hash(&id, abs);
	if (err == NF_ENOTFOUND)
		problem = xasprintf("%s v%d is %s but %s is missing", v->model, v->version,
				    current ? "in production" : "a candidate", rel);
	else if (err < 0)
		problem = xasprintf("%s v%d: %s", v->model, v->version, nf_error_last());
	else if ((strcmp(id.sha256, v->sha256) != 0 || strcmp(id.kind, v->kind) != 0) &&
		 nf_store_model_by_sha256(&other, st, v->model, id.sha256) == 0 && other.version != v->version)
		problem = xasprintf("%s v%d: %s holds the files of %s v%d, not its own (a promotion or rollback"
				    " cut short: ntflow registry verify --repair, or the next run, puts them right)",
				    v->model, v->version, rel, other.model, other.version);
	else if (strcmp(id.sha256, v->sha256) != 0 || strcmp(id.kind, v->kind) != 0)
		problem = xasprintf("%s v%d: %s was modified (sha256 %.12s, expected %.12s)", v->model, v->version,
				    rel, id.sha256, v->sha256);
	nf_model_version_release(&other);
	nf_error_clear();
	free(rel);
	free(abs);
	return problem;
}

/* A copy under candidates/ of a version that is no longer a candidate (it was promoted);
 * a problem text (caller frees) or NULL. */
static char *
check_left_over(const char *state_dir, const nf_model_version *v)
{
	char *rel, *abs, *problem = NULL;
	struct stat sb;

	nf_registry__workspace_path(&rel, &abs, state_dir, v, false, true);
	if (lstat(abs, &sb) == 0)
		problem = xasprintf("%s v%d is %s but %s is still there", v->model, v->version, v->status, rel);
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
	/* A version is marked corrupt only in a registry that agrees with its chain. */
	if ((err = nf_registry_chain_check(st, NULL)) < 0 || (err = nf_registry_list(st, model, &vs, &n)) < 0)
		return err;
	if (model && n == 0) {
		free(vs);
		return nf_error_set(NF_ENOTFOUND, "no model '%s' in the registry", model);
	}
	for (size_t i = 0; i < n && err == 0; i++) {
		nf_model_version *v = &vs[i];
		char *problem;

		(*checked)++;
		if (nf_registry__check_copy(state_dir, v) < 0) {
			problem = xstrdup(nf_error_last());
			(*nbad)++;
			if (bad)
				bad(ctx, v, problem);
			err = nf_registry__mark_corrupt(st, v, problem);
			free(problem);
			continue;
		}
		if (strcmp(v->status, "production") == 0 || strcmp(v->status, "candidate") == 0)
			problem = check_workspace(st, state_dir, v, strcmp(v->status, "production") == 0);
		else if (strcmp(v->status, "corrupt") != 0)
			problem = NULL;
		else
			continue;
		if (strcmp(v->status, "candidate") != 0 && !problem)
			problem = check_left_over(state_dir, v);
		if (problem) {
			(*nbad)++;
			if (bad)
				bad(ctx, v, problem);
			free(problem);
		}
	}
	nf_model_version_list_free(vs, n);
	return err;
}
