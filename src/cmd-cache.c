/* cmd-cache.c: `ntflow cache ls|verify|gc`, the cache entries of the workspace and the
 * object store under .ntflow/cache/objects/ they point into: list them, re-hash every
 * object (dropping the entries a damaged object breaks), and collect what is no longer
 * needed. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/cache.h"
#include "ntflow/store.h"
#include "ntflow/gov.h"

typedef struct cache_opts {
	const char *state;
	bool json;
	long keep_days, keep_runs;   /* -1: not given */
} cache_opts;

/* The workspace's store and object store; both NULL on error (reported). With lock_opts
 * (the subcommands that remove entries or objects) the workspace's write lock first. */
static int
open_cache(nf_store **st, nf_objstore **objs, char **dir, nf_wslock **lock, const char *state,
	   const nf_wslock_opts *lock_opts)
{
	char *cache_dir;
	int err;

	*objs = NULL;
	*lock = NULL;
	if ((err = lock_opts ? nf_cmd_open_store_locked(st, dir, lock, state, lock_opts)
			     : nf_cmd_open_store(st, dir, state)) < 0)
		return err;
	cache_dir = xasprintf("%s/cache", *dir);
	err = nf_objstore_open(objs, cache_dir);
	free(cache_dir);
	if (err < 0)
		nf_cmd_error("%s", nf_error_last());
	return err;
}

typedef struct size_ctx {
	nf_objstore *objs;
	uint64_t total;
} size_ctx;

static int
add_size(void *vctx, const char *digest)
{
	size_ctx *c = vctx;
	uint64_t bytes;
	int err;

	if ((err = nf_objstore_size(c->objs, digest, &bytes)) == 0)
		c->total += bytes;
	return err;
}

/* "512B", "1.5K", "3.2M", "1.1G". */
static void
fmt_bytes(char *out, size_t size, uint64_t b)
{
	if (b < 1024)
		snprintf(out, size, "%lluB", (unsigned long long)b);
	else if (b < 1024ULL * 1024)
		snprintf(out, size, "%.1fK", b / 1024.0);
	else if (b < 1024ULL * 1024 * 1024)
		snprintf(out, size, "%.1fM", b / (1024.0 * 1024));
	else
		snprintf(out, size, "%.1fG", b / (1024.0 * 1024 * 1024));
}

static int
cache_ls(nf_store *st, nf_objstore *objs, const cache_opts *o)
{
	nf_cache_entry *e = NULL;
	size_t n = 0;
	cJSON *arr = NULL;
	nf_table *tab = NULL;
	static const char *const head[] = { "KEY", "NODE", "RUN", "COMMIT", "CREATED", "SIZE" };
	int err;

	if ((err = nf_store_cache_list(st, &e, &n)) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return err;
	}
	if (o->json)
		arr = cJSON_CreateArray();
	else
		tab = nf_table_new(NF_ARRAY_SIZE(head), head);
	for (size_t i = 0; i < n; i++) {
		size_ctx sc = { objs, 0 };
		bool sized = nf_cache_entry_each_digest(&e[i], add_size, &sc) == 0;
		char when[40], sz[32], **row;

		if (o->json) {
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "key", e[i].key);
			cJSON_AddStringToObject(x, "node", e[i].node);
			cJSON_AddNumberToObject(x, "run_id", (double)e[i].run_id);
			if (e[i].commit)
				cJSON_AddStringToObject(x, "commit", e[i].commit);
			else
				cJSON_AddNullToObject(x, "commit");
			nf_store_fmt_iso_utc(when, sizeof(when), e[i].created_ms);
			cJSON_AddStringToObject(x, "created", when);
			if (sized)
				cJSON_AddNumberToObject(x, "size_bytes", (double)sc.total);
			else
				cJSON_AddNullToObject(x, "size_bytes");
			cJSON_AddItemToObject(x, "outputs", cJSON_Parse(e[i].outputs_json ? e[i].outputs_json : "[]"));
			cJSON_AddItemToArray(arr, x);
			continue;
		}
		nf_store_fmt_local_time(when, sizeof(when), e[i].created_ms);
		fmt_bytes(sz, sizeof(sz), sc.total);
		row = nf_table_add_row(tab);
		row[0] = xasprintf("%.12s", e[i].key);
		row[1] = xstrdup(e[i].node);
		row[2] = xasprintf("%lld", (long long)e[i].run_id);
		row[3] = e[i].commit ? xasprintf("%.7s", e[i].commit) : xstrdup("-");
		row[4] = xstrdup(when);
		row[5] = xstrdup(sized ? sz : "missing");
	}
	if (o->json) {
		char *text = nf_json_print(arr, true);

		printf("%s\n", text);
		free(text);
		cJSON_Delete(arr);
	} else if (n > 0) {
		nf_cmd_print_table(tab);
	}
	nf_table_free(tab);
	nf_cache_entry_list_free(e, n);
	return 0;
}

/* ---- verify ---- */

typedef struct verify_ctx {
	size_t corrupt;
} verify_ctx;

static void
on_bad(void *vctx, const char *sha)
{
	verify_ctx *v = vctx;

	printf("corrupt object %s (removed)\n", sha);
	v->corrupt++;
}

static int
check_present(void *ctx, const char *digest)
{
	if (!nf_objstore_has(ctx, digest, false))
		return nf_error_set(NF_ENOTFOUND, "%s", digest);
	return 0;
}

static int
cache_verify(nf_store *st, nf_objstore *objs)
{
	verify_ctx v = { 0 };
	nf_cache_entry *e = NULL;
	size_t n = 0, dropped = 0;
	int64_t checked;

	if ((checked = nf_objstore_verify(objs, on_bad, &v)) < 0 || nf_store_cache_list(st, &e, &n) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	/* Corrupt objects are gone now: an entry missing any of its objects cannot be restored. */
	for (size_t i = 0; i < n; i++) {
		if (nf_cache_entry_each_digest(&e[i], check_present, objs) == 0)
			continue;
		printf("dropped cache entry %.12s (%s, run %lld): an object it needs is missing or corrupt\n",
		       e[i].key, e[i].node, (long long)e[i].run_id);
		if (nf_store_cache_delete(st, e[i].key) < 0) {
			nf_cmd_error("%s", nf_error_last());
			nf_cache_entry_list_free(e, n);
			return NF_EXIT_FAILED;
		}
		dropped++;
	}
	nf_cache_entry_list_free(e, n);
	if (nf_store_flush(st) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	printf("checked %lld object%s: %zu corrupt; %zu of %zu cache entr%s dropped\n", (long long)checked,
	       checked == 1 ? "" : "s", v.corrupt, dropped, n, n == 1 ? "y" : "ies");
	return v.corrupt || dropped ? NF_EXIT_FAILED : NF_EXIT_OK;
}

/* ---- gc ---- */

static void
on_broken(void *ctx, const nf_cache_entry *e, const char *why)
{
	(void)ctx;
	printf("dropped cache entry %.12s (%s, run %lld): %s\n", e->key, e->node, (long long)e->run_id, why);
}

static int
cache_gc(nf_store *st, nf_objstore *objs, const cache_opts *o)
{
	nf_cache_gc_policy p = { o->keep_runs, o->keep_days, NULL, NULL, nf_now_realtime_ms(), on_broken, NULL };
	nf_cache_gc_totals t;
	char freed[32];
	int err = nf_cache_gc(st, objs, &p, &t);

	if (err == NF_EBUSY) {
		nf_cmd_error("%s; run 'ntflow cache gc' when it has finished", nf_error_last());
		return NF_EXIT_FAILED;
	}
	if (err < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	fmt_bytes(freed, sizeof(freed), t.bytes);
	printf("dropped %zu of %zu cache entr%s; removed %llu object%s; freed %s (%llu bytes)\n", t.dropped,
	       t.entries, t.entries == 1 ? "y" : "ies", (unsigned long long)t.objects, t.objects == 1 ? "" : "s",
	       freed, (unsigned long long)t.bytes);
	if (t.pruned_kept)
		printf("%zu of the runs kept were pruned (ntflow prune): the entries made by the runs whose results"
		       " they reused stay\n", t.pruned_kept);
	return NF_EXIT_OK;
}

static int
cmd_cache_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep-days", required_argument, NULL, 'd' },
		{ "keep-runs", required_argument, NULL, 'r' },
		NF_CMD_LOCK_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	static const char *const subs[] = { "ls", "verify", "gc" };
	cache_opts o = { NULL, false, -1, -1 };
	nf_wslock_opts lock_opts = { .on_wait = nf_cmd_lock_wait_message };
	bool lock_given = false;
	nf_wslock *lock = NULL;
	nf_store *st = NULL;
	nf_objstore *objs = NULL;
	const char *sub;
	char *dir = NULL, *what = NULL;
	int c, rc = NF_EXIT_USAGE, err;

	while ((c = nf_cmd_getopt(&nf_cmd_cache, argc, argv, "", longopts)) != NF_CMD_DONE) {
		int lk = nf_cmd_lock_option(&nf_cmd_cache, &lock_opts, c, optarg);

		if (lk < 0)
			return NF_EXIT_USAGE;
		if (lk > 0) {
			lock_given = true;
			continue;
		}
		switch (c) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'd':
			if (!nf_cmd_parse_count(&nf_cmd_cache, &o.keep_days, "--keep-days", optarg))
				return NF_EXIT_USAGE;
			break;
		case 'r':
			if (!nf_cmd_parse_count(&nf_cmd_cache, &o.keep_runs, "--keep-runs", optarg))
				return NF_EXIT_USAGE;
			break;
		default:
			return NF_EXIT_USAGE;
		}
	}
	o.state = nf_cmd_opt.state;
	o.json = nf_cmd_opt.json;
	if (argc - optind != 1) {
		nf_cmd_eprintf("ntflow cache: %s\n", argc - optind < 1 ? "which subcommand? (ls, verify or gc)"
			: "too many arguments");
		nf_cmd_usage(&nf_cmd_cache, stderr);
		return NF_EXIT_USAGE;
	}
	sub = argv[optind];
	if (strcmp(sub, "ls") && strcmp(sub, "verify") && strcmp(sub, "gc")) {
		const char *hint = nf_suggest(sub, subs, NF_ARRAY_SIZE(subs));

		if (hint)
			nf_cmd_eprintf("ntflow cache: no subcommand '%s'; did you mean '%s'?\n", sub, hint);
		else
			nf_cmd_eprintf("ntflow cache: no subcommand '%s' (ls, verify or gc)\n", sub);
		nf_cmd_usage(&nf_cmd_cache, stderr);
		return NF_EXIT_USAGE;
	}
	if (o.json && strcmp(sub, "ls")) {
		nf_cmd_eprintf("ntflow cache: --json goes with 'cache ls'\n");
		return NF_EXIT_USAGE;
	}
	if ((o.keep_days >= 0 || o.keep_runs >= 0) && strcmp(sub, "gc")) {
		nf_cmd_eprintf("ntflow cache: --keep-days and --keep-runs go with 'cache gc'\n");
		return NF_EXIT_USAGE;
	}
	if (lock_given && !strcmp(sub, "ls")) {
		nf_cmd_eprintf("ntflow cache: --wait, --no-wait and --wait-timeout go with 'cache gc' and 'cache verify'\n");
		return NF_EXIT_USAGE;
	}
	rc = NF_EXIT_FAILED;
	/* gc and verify remove entries and objects a run may be restoring or writing: they
	 * take the workspace lock; ls only reads. */
	if (strcmp(sub, "ls"))
		lock_opts.what = what = xasprintf("ntflow cache %s", sub);
	if ((err = open_cache(&st, &objs, &dir, &lock, o.state, strcmp(sub, "ls") ? &lock_opts : NULL)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	if (!strcmp(sub, "ls"))
		rc = cache_ls(st, objs, &o) < 0 ? NF_EXIT_FAILED : NF_EXIT_OK;
	else if (!strcmp(sub, "verify"))
		rc = cache_verify(st, objs);
	else
		rc = cache_gc(st, objs, &o);
done:
	nf_objstore_free(objs);
	nf_store_close(st);
	nf_workspace_unlock(lock);
	free(what);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_cache = {
	.name    = "cache",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage   = "cache ls [--json] [--state DIR]\n"
		   "   or: ntflow cache verify [--state DIR] [--wait | --no-wait | --wait-timeout DURATION]\n"
		   "   or: ntflow cache gc [--keep-days N] [--keep-runs N] [--state DIR]\n"
		   "                       [--wait | --no-wait | --wait-timeout DURATION]",
	.summary = "List, check or collect the cache of stage outputs (.ntflow/cache/).",
	.help    =
		"  ls           one line per cache entry: its key, node, run and commit, when it\n"
		"               was made and the size of its outputs in the store\n"
		"    --json     the same as a JSON array (with each entry's outputs and digests)\n"
		"  verify       re-hash every object of the store; report and remove corrupt ones,\n"
		"               and drop the entries that needed them (those stages run again).\n"
		"               Exit status 1 when anything was corrupt or missing.\n"
		"  gc           drop cache entries, then remove the objects no remaining entry\n"
		"               uses, and print the bytes freed. Without options only unused\n"
		"               objects go. An entry stays when either option keeps it:\n"
		"    --keep-days N  made, or used by a run started, in the last N days\n"
		"    --keep-runs N  made or used by one of the last N runs\n"
		"               What the last successful run of each pipeline used always stays.\n"
		"  --state DIR  the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"               root of the git repository holding the current directory)\n"
		"\n"
		"verify and gc take the workspace lock (one writer per workspace, as a run\n"
		"does), so they wait for a run in progress; ls only reads:\n"
		"  --wait       wait while a run or another writer holds it (the default)\n"
		"  --no-wait    exit 75 at once, naming the holder's run and pid\n"
		"  --wait-timeout DURATION  wait at most DURATION (30s, 10m), then exit 75\n",
	.exec    = cmd_cache_exec,
};
