/* reconcile.c: the files under models/ follow the registry, never the other way round. A
 * crash between a registry change and the copy into models/current/ (or candidates/), or
 * an edit, leaves them disagreeing with the database; every command that writes to the
 * workspace first puts each copy back to what the database says, from the version's
 * registry copy, built in a temporary folder and renamed into place, and says what it did. */
#include "config.h"
#include "ntflow/gov.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/cache.h"
#include "registry-internal.h"

void
nf_reconcile_report_release(nf_reconcile_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

typedef struct rec {
	nf_reconcile_report *out;
	nf_store *st;
	const char *state_dir;
	bool full;
	const nf_model_version *vs;     /* every version of every model, by model then version */
	size_t n;
	size_t cap;
	char *first_failure;
} rec;

static void NF_PRINTF(3, 4)
say(rec *r, bool failed, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	if (failed) {
		r->out->nfailed++;
		if (!r->first_failure)
			r->first_failure = xstrdup(line);
	} else {
		r->out->nrepaired++;
	}
	r->out->lines = xgrow(r->out->lines, sizeof(*r->out->lines), r->out->n + 1, &r->cap);
	r->out->lines[r->out->n++] = line;
}

/* "clf v2" when sha is the bytes of a version of model, else "bytes of no version". */
static char *
whose(const rec *r, const char *model, const char *sha)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->vs[i].model, model) == 0 && strcmp(r->vs[i].sha256, sha) == 0)
			return xasprintf("the files of %s v%d", model, r->vs[i].version);
	return xasprintf("files of no version (sha256 %.12s)", sha);
}

/* A file artifact's bytes from the cache's objects, when its registry copy is missing: a
 * stage's output that was stored there has the same SHA-256. 0 when the copy is back. */
static int
restore_from_cache(const rec *r, const nf_model_version *v)
{
	char *cache_dir = xasprintf("%s/cache", r->state_dir);
	char *path = xasprintf("%s/%s", r->state_dir, v->artifact_path);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	char digest[80];
	nf_objstore *objs = NULL;
	size_t restored = 0;
	int err = NF_ENOTFOUND;

	if (strcmp(v->kind, "file") != 0 || nf_objstore_open(&objs, cache_dir) < 0)
		goto done;
	snprintf(digest, sizeof(digest), "file:%s", v->sha256);
	if (!nf_objstore_has(objs, digest, true))
		goto done;
	if (slash)
		*slash = '\0';
	if ((err = nf_mkdir_p(dir, 0777)) < 0 || (err = nf_objstore_restore(objs, digest, path, &restored)) < 0)
		goto done;
	err = nf_registry__check_copy(r->state_dir, v);
done:
	nf_objstore_free(objs);
	free(cache_dir);
	free(path);
	free(dir);
	if (err < 0)
		nf_error_clear();
	return err;
}

/* Makes v's copy at current/ (current) or candidates/ match it. */
static void
fix_copy(rec *r, const nf_model_version *v, bool current)
{
	const char *role = current ? "the production version" : "a candidate";
	char *rel = NULL, *abs = NULL, *dir_rel = NULL, *dir_abs = NULL, *was = NULL, *problem = NULL;
	nf_artifact_id id;
	struct stat sb;
	int err;

	nf_registry__workspace_path(&rel, &abs, r->state_dir, v, current, false);
	nf_registry__workspace_path(&dir_rel, &dir_abs, r->state_dir, v, current, true);
	if (!current && !r->full) {
		/* A candidate's copy is written once, renamed into place: present means whole. */
		if (lstat(abs, &sb) == 0)
			goto done;
		was = xstrdup("it was missing");
	} else {
		err = nf_artifact_hash_cached(&id, abs, r->full ? NULL : nf_store_statcache(r->st));
		if (err == 0 && strcmp(id.sha256, v->sha256) == 0 && strcmp(id.kind, v->kind) == 0)
			goto done;
		if (err == NF_ENOTFOUND) {
			was = lstat(dir_abs, &sb) < 0 ? xstrdup("it was missing")
						       : xasprintf("it had no %s", nf_registry__base(v));
		} else if (err < 0) {
			was = xasprintf("it could not be read (%s)", nf_error_last());
		} else {
			char *w = whose(r, v->model, id.sha256);

			was = xasprintf("it held %s", w);
			free(w);
		}
	}
	nf_error_clear();
	/* The bytes come from the registry's own copy, checked first. */
	if ((err = nf_registry__check_copy(r->state_dir, v)) < 0)
		problem = xstrdup(nf_error_last());
	if (err == NF_ENOTFOUND && restore_from_cache(r, v) == 0) {
		say(r, false, "restored %s v%d's registry copy %s from the cache", v->model, v->version,
		    v->artifact_path);
		err = 0;
	}
	if (err < 0) {
		say(r, true, "cannot restore %s (%s v%d, %s; %s): %s, and its bytes are nowhere else;"
		    " `ntflow registry verify` marks it corrupt", dir_rel, v->model, v->version, role, was, problem);
		goto done;
	}
	if ((err = nf_registry__place(r->state_dir, v, current)) < 0) {
		say(r, true, "cannot restore %s (%s v%d, %s; %s): %s", dir_rel, v->model, v->version, role, was,
		    nf_error_last());
		goto done;
	}
	say(r, false, "repaired %s: %s; now %s v%d, %s", dir_rel, was, v->model, v->version, role);
done:
	nf_error_clear();
	free(rel);
	free(abs);
	free(dir_rel);
	free(dir_abs);
	free(was);
	free(problem);
}

/* Removes the copies under candidates/MODEL/ of versions that are no longer candidates
 * (promoted, then maybe archived or rolled back), and leftovers of dead processes. Folders
 * not named after a version of the model are not ntflow's and stay. */
static void
clean_candidates(rec *r, const nf_model_version *first, size_t count)
{
	char *mdir = nf_registry__models_dir(r->state_dir, first->models_dir);
	char *dir = xasprintf("%s/candidates/%s", mdir, first->model);
	DIR *d;
	struct dirent *de;

	nf_artifact_sweep(dir);
	if (!(d = opendir(dir)))
		goto done;
	while ((de = readdir(d))) {
		const nf_model_version *v = NULL;
		char *end;
		long n;

		if (de->d_name[0] != 'v')
			continue;
		errno = 0;
		n = strtol(de->d_name + 1, &end, 10);
		if (*end || errno || n <= 0 || n > INT_MAX)
			continue;
		for (size_t i = 0; i < count && !v; i++)
			if (first[i].version == n)
				v = &first[i];
		if (!v || strcmp(v->status, "candidate") == 0 || strcmp(v->status, "corrupt") == 0)
			continue;
		{
			char *path = xasprintf("%s/%s", dir, de->d_name);

			if (nf_artifact_remove(path) == 0)
				say(r, false, "removed %s/candidates/%s/%s: %s v%ld is %s, no longer a candidate",
				    v->models_dir, v->model, de->d_name, v->model, n, v->status);
			else
				say(r, true, "cannot remove %s/candidates/%s/%s: %s", v->models_dir, v->model,
				    de->d_name, nf_error_last());
			free(path);
		}
	}
	closedir(d);
	rmdir(dir);   /* only when empty */
done:
	nf_error_clear();
	free(mdir);
	free(dir);
}

/* One model: its versions are first[0..count). */
static void
reconcile_model(rec *r, const nf_model_version *first, size_t count)
{
	const nf_model_version *prod = NULL;

	for (size_t i = 0; i < count; i++)
		if (strcmp(first[i].status, "production") == 0)
			prod = &first[i];
	if (prod) {
		char *mdir = nf_registry__models_dir(r->state_dir, prod->models_dir);
		char *cur = xasprintf("%s/current", mdir);

		nf_artifact_sweep(cur);   /* a placement a kill interrupted */
		free(mdir);
		free(cur);
		fix_copy(r, prod, true);
	}
	clean_candidates(r, first, count);
	for (size_t i = 0; i < count; i++)
		if (strcmp(first[i].status, "candidate") == 0)
			fix_copy(r, &first[i], false);
}

int
nf_registry_reconcile(nf_reconcile_report *out, nf_store *st, const char *state_dir, bool full)
{
	nf_model_version *vs = NULL;
	size_t n = 0;
	rec r;
	int err;

	memset(out, 0, sizeof(*out));
	/* The files follow the database only when the database is what ntflow wrote: an edited
	 * row must not put its files in models/. */
	if ((err = nf_registry_chain_check(st, NULL)) < 0 || (err = nf_registry_list(st, NULL, &vs, &n)) < 0)
		return err;
	memset(&r, 0, sizeof(r));
	r.out = out;
	r.st = st;
	r.state_dir = state_dir;
	r.full = full;
	r.vs = vs;
	r.n = n;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(vs[j].model, vs[i].model) == 0; j++)
			;
		reconcile_model(&r, &vs[i], j - i);
	}
	if (r.first_failure)
		err = nf_error_set(NF_ECORRUPT, "%s", r.first_failure);
	free(r.first_failure);
	nf_model_version_list_free(vs, n);
	return err;
}
