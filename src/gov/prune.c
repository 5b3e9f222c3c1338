/* prune.c: runs' details forgotten (`ntflow prune`, a pipeline's keep_runs): each run with a
 * record of it in the audit chain, in one transaction, so the chain says who let which run
 * go, and when, while the records the run itself wrote stay (or keep their hashes) and
 * `audit verify` holds across a prune; then the run's log folder. */
#include "config.h"
#include "ntflow/gov.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/util.h"

typedef struct prune_req {
	int64_t run_id, now_ms;
	bool redact_audit;
	const char *actor;
	nf_prune_counts counts;
} prune_req;

static int
prune_fn(void *ctx, nf_store *st)
{
	prune_req *r = ctx;
	cJSON *p;
	int err;

	if (r->redact_audit && (err = nf_audit_check_emptiable(st, r->run_id)) < 0)
		return err;
	if ((err = nf_store_prune_run(st, r->run_id, r->now_ms, r->redact_audit, &r->counts)) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run", (double)r->run_id);
	cJSON_AddNumberToObject(p, "nodes_removed", (double)r->counts.nodes);
	/* What audit verify accepts the run's emptied records by (nf_audit_verify): every one of
	 * them, those emptied before included, pinned with its seq, time and kind. */
	if (r->redact_audit) {
		char sha[65];
		int64_t n;

		if ((err = nf_audit_emptied_digest(st, r->run_id, sha, &n)) < 0) {
			cJSON_Delete(p);
			return err;
		}
		cJSON_AddStringToObject(p, "emptied_sha256", sha);
		cJSON_AddNumberToObject(p, "records_emptied", (double)n);
	}
	cJSON_AddStringToObject(p, "by", r->actor);
	/* run_id 0: a run's Merkle root covers the records it wrote, closed when it ended. */
	err = nf_audit_append(st, 0, NF_AUDIT_PRUNE, p);
	cJSON_Delete(p);
	if (err == 0 && nf_test_hook("prune-before-commit"))
		raise(SIGKILL);   /* the tests' crash with the rows deleted, not committed */
	return err;
}

int
nf_prune_run(nf_store *st, int64_t run_id, const char *actor, int64_t now_ms, bool redact_audit,
	     nf_prune_counts *out)
{
	prune_req r = { run_id, now_ms, redact_audit, actor ? actor : "?", { 0 } };
	int err = nf_store_atomic(st, prune_fn, &r);

	*out = err < 0 ? (nf_prune_counts){ 0 } : r.counts;
	return err;
}

/* What one walk of a log folder keeps and has removed (nftw has no context argument). */
struct keep_file {
	dev_t dev;
	ino_t ino;
};
static _Thread_local struct log_walk {
	const struct keep_file *keep;
	size_t nkeep;
	uint64_t bytes;
	size_t files;
	int err;          /* the first failure, its message set */
} *walk_now;

static int
by_inode(const void *a, const void *b)
{
	const struct keep_file *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

static int
remove_unkept(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	struct log_walk *w = walk_now;
	struct keep_file key = { sb->st_dev, sb->st_ino };

	(void)ftw;
	if (type == FTW_DP) {   /* after its files: gone when nothing is kept in it */
		if (rmdir(path) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT && !w->err)
			w->err = nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
		return 0;
	}
	if (type == FTW_DNR || type == FTW_NS) {   /* what is under it, or it, stays: say so */
		if (!w->err)
			w->err = nf_error_set(NF_EIO, "cannot read '%s'", path);
		return 0;
	}
	if (type != FTW_F && type != FTW_SL && type != FTW_SLN)
		return 0;
	if (type == FTW_F && w->nkeep && bsearch(&key, w->keep, w->nkeep, sizeof(key), by_inode))
		return 0;
	if (unlink(path) == 0) {
		w->bytes += type == FTW_F ? (uint64_t)sb->st_blocks * 512 : 0;
		w->files++;
	} else if (errno != ENOENT && !w->err) {
		w->err = nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
	}
	return 0;
}

static void
warn(const nf_prune_opts *o, nf_prune_totals *t, int64_t id)
{
	char *msg = xasprintf("%s (a file of pruned run %lld; the next prune tries again)", nf_error_last(),
			      (long long)id);

	t->file_errors++;
	if (o->on_warning)
		o->on_warning(o->ctx, msg);
	free(msg);
}

/* Removes a pruned run's files: under STATE/logs/ID every file but the logs of the attempts
 * it keeps (referenced: those of the nodes a run that stays refers to, as the plan found;
 * else those its remaining rows name), and empty folders (a link is removed, not followed);
 * then the log of its detached executor, STATE/executor/ID.log. One already gone is no
 * error; one that cannot be removed is a warning (on_warning), not a failure: the run stays
 * pruned and later prunes go on. */
static void
remove_files(nf_store *st, const char *state_dir, int64_t id, bool referenced, const nf_prune_opts *o,
	     nf_prune_totals *t)
{
	char *path = xasprintf("%s/logs/%lld", state_dir, (long long)id), **logs = NULL;
	struct keep_file *keep = NULL;
	struct log_walk w = { 0 };
	struct stat sb;
	size_t nlogs = 0, nkeep = 0;

	if (lstat(path, &sb) == 0) {
		if (nf_store_run_log_paths(st, id, referenced, &logs, &nlogs) < 0) {
			warn(o, t, id);   /* nothing removed: what to keep is not known */
			goto executor;
		}
		keep = xcalloc(nlogs ? nlogs : 1, sizeof(*keep));
		for (size_t i = 0; i < nlogs; i++) {
			char *file = nf_store_log_path(state_dir, logs[i]);
			struct stat fs;

			if (file && stat(file, &fs) == 0)
				keep[nkeep++] = (struct keep_file){ fs.st_dev, fs.st_ino };
			free(file);
			free(logs[i]);
		}
		free(logs);
		qsort(keep, nkeep, sizeof(*keep), by_inode);
		w.keep = keep;
		w.nkeep = nkeep;
		walk_now = &w;
		if (nftw(path, remove_unkept, 16, FTW_PHYS | FTW_DEPTH) < 0 && errno != ENOENT && !w.err)
			w.err = nf_error_set_errno(NF_EIO, "cannot read '%s'", path);
		walk_now = NULL;
		free(keep);
		t->log_bytes += w.bytes;
		t->log_files += w.files;
		if (w.err)
			warn(o, t, id);
	}
executor:
	free(path);
	path = xasprintf("%s/executor/%lld.log", state_dir, (long long)id);
	if (lstat(path, &sb) == 0) {
		if (unlink(path) == 0) {
			t->log_bytes += (uint64_t)sb.st_blocks * 512;
			t->log_files++;
		} else {
			nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
			warn(o, t, id);
		}
	}
	free(path);
}

/* The files of runs pruned before whose removal a crash, a full disk or a file that could
 * not be removed left: each folder of STATE/logs and log of STATE/executor named by a
 * pruned run's id. */
static void
sweep(nf_store *st, const char *state_dir, const char *sub, const char *suffix, const nf_prune_opts *o,
      nf_prune_totals *t)
{
	char *dir = xasprintf("%s/%s", state_dir, sub);
	DIR *d = opendir(dir);
	struct dirent *de;

	free(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long long id;
		nf_run_info r;

		errno = 0;
		id = strtoll(de->d_name, &end, 10);
		if (errno || end == de->d_name || strcmp(end, suffix) || id <= 0 || nf_store_run_get(st, id, &r) < 0)
			continue;
		if (r.pruned_ms)
			remove_files(st, state_dir, id, false, o, t);
		nf_run_info_release(&r);
	}
	closedir(d);
}

/* Below this much free space where the state lives, a run's files go before its rows: the
 * database needs room to delete (its write-ahead log), and the logs are what fills a disk. */
#define NF_PRUNE_LOW_SPACE (16u << 20)

int
nf_prune(nf_store *st, const char *state_dir, const nf_prune_candidate *c, size_t n, const nf_prune_opts *o,
	 nf_prune_totals *out)
{
	int err;

	*out = (nf_prune_totals){ 0 };
	sweep(st, state_dir, "logs", "", o, out);
	sweep(st, state_dir, "executor", ".log", o, out);
	for (size_t i = 0; i < n; i++) {
		nf_prune_counts counts;
		uint64_t avail = 0, size = 0;
		bool first = nf_fs_space(state_dir, &avail, &size) == 0 && avail < NF_PRUNE_LOW_SPACE;

		if (first)
			remove_files(st, state_dir, c[i].id, true, o, out);
		/* Stopped here, a run that stays may refer to a row of one pruned again before:
		 * the references were found for all the candidates; the next prune goes on. */
		if ((err = nf_prune_run(st, c[i].id, o->actor, o->now_ms, c[i].redact, &counts)) < 0)
			return err;
		out->runs += !c[i].pruned;
		out->nodes += counts.nodes;
		out->audit_records += counts.audit_records;
		out->audit_runs += c[i].redact;
		if (nf_test_hook("prune-after-commit"))
			raise(SIGKILL);   /* the tests' crash with the run pruned, its logs still there */
		/* After the commit: a crash in between leaves files the next prune removes. */
		if (!first)
			remove_files(st, state_dir, c[i].id, false, o, out);
	}
	return 0;
}
