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

	if ((err = nf_store_prune_run(st, r->run_id, r->now_ms, r->redact_audit, &r->counts)) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run", (double)r->run_id);
	cJSON_AddNumberToObject(p, "nodes_removed", (double)r->counts.nodes);
	/* What audit verify accepts an emptied record of this run by (nf_audit_verify). */
	if (r->redact_audit)
		cJSON_AddNumberToObject(p, "records_emptied", (double)r->counts.audit_records);
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

static _Thread_local uint64_t tree_bytes;

static int
add_bytes(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F)
		tree_bytes += (uint64_t)sb->st_size;
	return 0;
}

/* Removes STATE/logs/ID (a link there is removed, not followed); a folder already gone is no
 * error. */
static int
remove_logs(const char *state_dir, int64_t id, nf_prune_totals *t)
{
	char *path = xasprintf("%s/logs/%lld", state_dir, (long long)id);
	int err = 0;

	tree_bytes = 0;
	if (nftw(path, add_bytes, 16, FTW_PHYS) == 0 && (err = nf_remove_tree(path)) == 0) {
		t->log_bytes += tree_bytes;
		t->log_folders++;
	}
	free(path);
	return err;
}

/* The log folders of runs pruned before whose removal a crash or a full disk cut short. */
static int
sweep_logs(nf_store *st, const char *state_dir, nf_prune_totals *t)
{
	char *logs = xasprintf("%s/logs", state_dir);
	DIR *d = opendir(logs);
	struct dirent *de;
	int err = 0;

	free(logs);
	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		char *end;
		long long id;
		nf_run_info r;

		errno = 0;
		id = strtoll(de->d_name, &end, 10);
		if (errno || end == de->d_name || *end || id <= 0 || nf_store_run_get(st, id, &r) < 0)
			continue;
		if (r.pruned_ms)
			err = remove_logs(state_dir, id, t);
		nf_run_info_release(&r);
	}
	closedir(d);
	return err;
}

int
nf_prune(nf_store *st, const char *state_dir, const nf_prune_candidate *c, size_t n, bool redact_audit,
	 const char *actor, int64_t now_ms, nf_prune_totals *out)
{
	int err;

	*out = (nf_prune_totals){ 0 };
	if ((err = sweep_logs(st, state_dir, out)) < 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		nf_prune_counts counts;

		if ((err = nf_prune_run(st, c[i].id, actor, now_ms, redact_audit, &counts)) < 0)
			return err;
		out->runs += !c[i].pruned;
		out->nodes += counts.nodes;
		out->audit_records += counts.audit_records;
		if (nf_test_hook("prune-after-commit"))
			raise(SIGKILL);   /* the tests' crash with the run pruned, its logs still there */
		/* After the commit: a crash in between leaves a folder the next prune removes. */
		if ((err = remove_logs(state_dir, c[i].id, out)) < 0)
			return err;
	}
	return 0;
}
