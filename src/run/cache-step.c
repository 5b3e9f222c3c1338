/* cache-step.c: the cache inside a run. Before a node's first attempt its key is computed
 * (its identity: pipeline, stage and matrix instance; command, env, matrix values, the
 * params it names, its inputs' git identities, its upstream nodes' output digests); a hit
 * restores the outputs and metrics and costs no process. A stage with neither outputs nor
 * metrics is not looked up unless it says cache = true. After a successful attempt the outputs go to the object store and an entry is
 * recorded. Downstream keys use output digests, so an upstream that reran and wrote the
 * same bytes leaves its dependents cached (early cut-off). */
#include "config.h"
#include "run-internal.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/cachekey.h"

/* Why a node is not cached, or NULL when it is. A stage that declares neither outputs
 * nor a metrics file acts outside ntflow's view (a notification, an upload): it is cached
 * only when it says cache = true itself or through the pipeline's defaults. */
static const char *
not_cached_why(const run_ctx *ctx, const nf_node *n)
{
	const nf_stage *st = n->stage;

	if (st->kind == NF_GATE)
		return "a gate";
	if (!st->opts->cache)
		return "caching is off for this stage (cache = false)";
	if (st->noutputs == 0 && !nf_more(st)->metrics &&
	    !((st->opts->set | ctx->dag->pipeline.defaults.set) & NF_OPT_CACHE))
		return "not cached: no declared outputs (set cache = true to cache it)";
	return NULL;
}

static bool
cacheable(const run_ctx *ctx, const nf_node *n)
{
	return not_cached_why(ctx, n) == NULL;
}

static void
key_params(nf_keyb *k, run_ctx *ctx, const nf_tmpl *t)
{
	for (size_t i = 0; t && i < t->nsegs; i++) {
		const char *ref = t->segs[i].text;

		if (t->segs[i].is_ref && strncmp(ref, "params.", 7) == 0) {
			const char *v = nf_strmap_get(ctx->params, ref + 7);

			nf_keyb_param(k, ref + 7, v ? v : "");
		}
	}
}

/* Keys each parameter whose variable a literal segment of t names ($NTFLOW_PARAM_N, as QUOTING
 * advises where a ${params.n} cannot stand), as a ${params.n} would be, else a new value would
 * leave the stage cached with the old one's result. A reference splits segments, so a name
 * lies within one; no allocation (this runs for every node's key). */
static void
key_param_vars(nf_keyb *k, run_ctx *ctx, const nf_tmpl *t)
{
	const nf_pipeline *pl = &ctx->dag->pipeline;

	for (size_t i = 0; t && i < t->nsegs; i++) {
		if (t->segs[i].is_ref)
			continue;
		for (const char *p = t->segs[i].text; (p = strstr(p, "NTFLOW_PARAM_")) != NULL; p += 13) {
			const char *v = p + 13;
			size_t len = 0;

			while ((v[len] >= 'A' && v[len] <= 'Z') || (v[len] >= '0' && v[len] <= '9') || v[len] == '_')
				len++;
			for (size_t j = 0; j < pl->nparams; j++)
				if (nf_run__param_var_is(v, len, pl->params[j].key)) {
					const char *val = nf_strmap_get(ctx->params, pl->params[j].key);

					nf_keyb_param(k, pl->params[j].key, val ? val : "");
				}
		}
	}
}

static void
key_env(nf_keyb *k, run_ctx *ctx, const nf_node *node, const nf_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *v = NULL;

		if (kvs[i].value.kind != NF_V_STRING)
			nf_keyb_env(k, kvs[i].key, nf_value_text(&kvs[i].value));
		else if (nf_run__expand_recorded(&v, ctx, node, &kvs[i].value.str) == 0)
			nf_keyb_env(k, kvs[i].key, v);
		key_params(k, ctx, kvs[i].value.kind == NF_V_STRING ? &kvs[i].value.str : NULL);
	}
}

/* Strips "./" and trailing slashes so that "build/prep/" and "build/prep" compare equal. */
static size_t
path_len(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	return n;
}

/* An input, once interpolated, is a path in the project: not absolute, no ".." above the
 * root (the whole project, ".", is fine to read). */
static int
check_input(const char *path)
{
	nf_path_why why;
	char *norm = nf_path_lexical(path, &why);

	free(norm);
	if (why == NF_PATH_ABSOLUTE || why == NF_PATH_OUTSIDE)
		return nf_path_normalize(&norm, path, "input");
	return 0;
}

/* The outputs a node's inputs are checked against (produced_upstream): its direct
 * upstreams' (their metrics files counting, last) and its own, each expanded once for the
 * node's key, not once per input: a stage reading the 20 000 files another writes expanded
 * 200 million paths into the run's arena (10 s and 2 GB). Built on the first input. */
typedef struct out_ref {
	const char *path;            /* path_within's form: one leading "./" and trailing '/' off */
	const char *raw;             /* as expanded */
	size_t order;                /* in the walk (deps, their outputs), which held keeps */
} out_ref;

typedef struct outs_index {
	nf_arena *a;                 /* the paths, and the held lists handed out (the run's, reset) */
	out_ref *ups, *owns;         /* sorted by path */
	size_t nups, nowns, ups_cap, owns_cap;
	bool built;
} outs_index;

/* p in path_within's form, in a. */
static const char *
within_form(nf_arena *a, const char *p)
{
	if (p[0] == '.' && p[1] == '/')
		p += 2;
	return nf_arena_strndup(a, p, path_len(p));
}

static void
index_out(outs_index *ix, out_ref **v, size_t *n, size_t *cap, const char *raw)
{
	out_ref r = { within_form(ix->a, raw), nf_arena_strdup(ix->a, raw), *n };

	NF_PUSH(*v, *n, *cap, r);
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const out_ref *)a)->path, ((const out_ref *)b)->path);
}

static int
by_order(const void *a, const void *b)
{
	size_t x = (*(const out_ref *const *)a)->order, y = (*(const out_ref *const *)b)->order;

	return (x > y) - (x < y);
}

static void
outs_index_build(outs_index *ix, run_ctx *ctx, const nf_node *node)
{
	nf_buf b = NF_BUF_INIT;

	ix->built = true;
	if (!ctx->cache.outs_arena)
		ctx->cache.outs_arena = nf_arena_new();
	ix->a = ctx->cache.outs_arena;
	for (size_t i = 0; i < node->ndeps; i++) {
		const nf_node *d = &ctx->graph->nodes[node->deps[i]];

		for (size_t o = 0; o <= d->stage->noutputs; o++) {
			const char *out;

			if (o == d->stage->noutputs) {
				if (!nf_more(d->stage)->metrics || !(out = nf_run__metrics_output(ctx, d)))
					continue;
			} else if (nf_run__expand_buf(&b, ctx, d, &d->stage->outputs[o]) < 0) {
				nf_error_clear();
				continue;
			} else {
				out = nf_buf_cstr(&b);
			}
			index_out(ix, &ix->ups, &ix->nups, &ix->ups_cap, out);
		}
	}
	for (size_t o = 0; o < node->stage->noutputs; o++) {
		if (nf_run__expand_buf(&b, ctx, node, &node->stage->outputs[o]) < 0) {
			nf_error_clear();
			continue;
		}
		index_out(ix, &ix->owns, &ix->nowns, &ix->owns_cap, nf_buf_cstr(&b));
	}
	nf_buf_release(&b);
	if (ix->nups > 1)
		qsort(ix->ups, ix->nups, sizeof(*ix->ups), by_path);
	if (ix->nowns > 1)
		qsort(ix->owns, ix->nowns, sizeof(*ix->owns), by_path);
}

static void
outs_index_release(outs_index *ix)
{
	free(ix->ups);
	free(ix->owns);
	if (ix->a)
		nf_arena_reset(ix->a);
	memset(ix, 0, sizeof(*ix));
}

/* The first of v[0..n) whose path is not below key (strcmp order). */
static size_t
first_from(const out_ref *v, size_t n, const char *key)
{
	return nf_lower_bound_str(v, n, sizeof(*v), offsetof(out_ref, path), key);
}

/* Whether path is one of the upstream outputs. */
static bool
is_upstream_output(const outs_index *ix, const char *path)
{
	size_t i = first_from(ix->ups, ix->nups, path);

	return i < ix->nups && strcmp(ix->ups[i].path, path) == 0;
}

/* The outputs of v lying inside the folder in (path_within(out, in), not in itself), and
 * with same_raw those that are in itself written otherwise ("data/" for "data"), each once,
 * in walk order, appended to *held as normalized paths in ix's arena. */
static void
hold_inside(outs_index *ix, const out_ref *v, size_t n, const char *in, const char *raw_in, bool same_raw,
	    const char ***held, size_t *nheld, size_t *cap)
{
	size_t il = strlen(in);
	char *prefix = nf_arena_alloc(ix->a, il + 2);
	const out_ref **hits = NULL;
	size_t nhits = 0, hits_cap = 0;

	memcpy(prefix, in, il);
	prefix[il] = '/';
	prefix[il + 1] = '\0';
	if (same_raw)
		for (size_t i = first_from(v, n, in); i < n && strcmp(v[i].path, in) == 0; i++)
			if (strcmp(v[i].raw, raw_in) != 0)
				NF_PUSH(hits, nhits, hits_cap, &v[i]);
	for (size_t i = first_from(v, n, prefix); i < n && strncmp(v[i].path, prefix, il + 1) == 0; i++)
		NF_PUSH(hits, nhits, hits_cap, &v[i]);
	if (nhits > 1)
		qsort(hits, nhits, sizeof(*hits), by_order);
	for (size_t i = 0; i < nhits; i++) {
		nf_path_why why;
		char *norm = nf_path_lexical(hits[i]->raw, &why);

		if (norm) {
			NF_PUSH(*held, *nheld, *cap, nf_arena_strdup(ix->a, norm));
			free(norm);
		}
	}
	free(hits);
}

/* An input that a direct upstream node declares as output, or that lies inside one, is
 * covered by that node's output digest (true); asking git about it would see a file this
 * very run just wrote. Not a folder holding upstream outputs (src/ holding src/gen.h): the
 * digests say nothing of the folder's other files, so git identifies it, with those
 * outputs left out (*held, normalized, in ix's arena; *nheld of them): their digests
 * cover them, and the status git took at the start knows nothing of what they became
 * since, which would key the folder differently in the next run. */
static bool
produced_upstream(outs_index *ix, run_ctx *ctx, const nf_node *node, const char *input, const char ***held,
		  size_t *nheld)
{
	const char *in;
	char *probe;
	size_t cap = 0, il;

	*held = NULL;
	*nheld = 0;
	if (!ix->built)
		outs_index_build(ix, ctx, node);
	in = within_form(ix->a, input);
	/* The input itself, or a folder above it, is an upstream output. */
	il = strlen(in);
	probe = nf_arena_strdup(ix->a, in);
	for (size_t k = il; k > 0; k--) {
		if (k < il && probe[k] != '/')
			continue;
		probe[k] = '\0';
		if (is_upstream_output(ix, probe))
			return true;
	}
	/* An output that is nothing once "./" is off covers "./" and ".//x" (path_within's
	 * rule, kept). */
	if ((il == 0 || in[0] == '/') && is_upstream_output(ix, ""))
		return true;
	hold_inside(ix, ix->ups, ix->nups, in, input, false, held, nheld, &cap);
	/* The stage's own outputs in the folder are what it writes, not what it reads: left
	 * out too (else, ignored by git and folded into the folder's identity, or tracked and
	 * rewritten, each run would key the next differently). */
	hold_inside(ix, ix->owns, ix->nowns, in, input, true, held, nheld, &cap);
	return false;
}

/* Opens the folder holding output path beneath the root without following a link:
 * *norm is the path normalized, *dirfd the folder (with NF_PATH_MKDIR, made when missing),
 * *name the last component (in *norm). Released with output_done. While the run is
 * settled (nothing restored, run or moved yet) the folder stays open for the next output
 * in it. */
static int
output_at(run_ctx *ctx, const char *path, unsigned flags, char **norm, int *dirfd, const char **name)
{
	if (!ctx->cache.dirs && !ctx->cache.unsettled)
		ctx->cache.dirs = nf_dircache_new_at(ctx->root, nf_run__root_fd(ctx));
	if (ctx->cache.dirs)
		return nf_dircache_open(ctx->cache.dirs, dirfd, name, norm, path, "output", flags);
	if (ctx->cache.ending_on)
		return nf_dircache_open(ctx->cache.ending, dirfd, name, norm, path, "output", flags);
	return nf_path_open_at(dirfd, name, norm, nf_run__root_fd(ctx), ctx->root, path, "output", flags);
}

static void
output_done(run_ctx *ctx, int dirfd)
{
	if (ctx->cache.dirs)
		nf_dircache_release(ctx->cache.dirs, dirfd);
	else if (ctx->cache.ending_on)
		nf_dircache_release(ctx->cache.ending, dirfd);
	else if (dirfd >= 0)
		close(dirfd);
}

int
nf_run__output_open(run_ctx *ctx, const char *path, char **norm, int *dirfd, const char **name)
{
	return output_at(ctx, path, 0, norm, dirfd, name);
}

void
nf_run__output_close(run_ctx *ctx, int dirfd)
{
	output_done(ctx, dirfd);
}

void
nf_run__outputs_ending(run_ctx *ctx, bool ending)
{
	if (!ending) {
		/* Closed after each node: a stage may move or replace any folder before the next. */
		nf_dircache_clear(ctx->cache.ending);
		ctx->cache.ending_on = false;
		return;
	}
	if (ctx->cache.dirs)
		return;   /* settled: the run's own folders serve */
	if (!ctx->cache.ending)
		ctx->cache.ending = nf_dircache_new_at(ctx->root, nf_run__root_fd(ctx));
	ctx->cache.ending_on = true;
}

void
nf_run__cache_unsettle(run_ctx *ctx)
{
	ctx->cache.unsettled = true;
	nf_gitrepo_memo(ctx->cache.repo, false);   /* folders read for keys may change from here on */
	nf_statahead_free(ctx->cache.ahead);   /* what it took may be stale from here on */
	ctx->cache.ahead = NULL;
	/* Lookups and commits come at the pace of the stages now: not worth a core. */
	nf_store_ahead_stop(ctx->store);
	nf_dircache_free(ctx->cache.dirs);
	ctx->cache.dirs = NULL;
	nf_strmap_free(ctx->cache.present);
	ctx->cache.present = NULL;
}

int
nf_run__root_fd(run_ctx *ctx)
{
	if (!ctx->cache.rootfd_tried) {
		ctx->cache.rootfd_tried = true;
		ctx->cache.rootfd = open(ctx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return ctx->cache.rootfd;
}

void
nf_run__cache_release(run_ctx *ctx)
{
	if (ctx->cache.rootfd_tried && ctx->cache.rootfd >= 0)
		close(ctx->cache.rootfd);
	ctx->cache.rootfd_tried = false;
	nf_statahead_free(ctx->cache.ahead);
	ctx->cache.ahead = NULL;
	free(ctx->cache.ahead_first);
	ctx->cache.ahead_first = NULL;
	nf_dircache_free(ctx->cache.dirs);
	ctx->cache.dirs = NULL;
	nf_dircache_free(ctx->cache.ending);
	ctx->cache.ending = NULL;
	nf_arena_free(ctx->cache.outs_arena);
	ctx->cache.outs_arena = NULL;
	nf_strmap_free(ctx->cache.present);
	ctx->cache.present = NULL;
	nf_keyb_free(ctx->cache.keyb);
	ctx->cache.keyb = NULL;
	nf_cache_outs_release(&ctx->cache.outs);
}

/* nf_objstore_has, each digest looked at once while the run is settled: objects are
 * immutable, and nothing but a restore (which unsettles) removes a damaged one. */
static bool
object_present(run_ctx *ctx, const char *digest)
{
	if (ctx->cache.present && nf_strmap_get(ctx->cache.present, digest))
		return true;
	if (!nf_objstore_has(ctx->cache.objs, digest, false))
		return false;
	if (!ctx->cache.unsettled) {
		if (!ctx->cache.present)
			ctx->cache.present = nf_strmap_new(64);
		nf_strmap_put(ctx->cache.present, nf_arena_strdup(ctx->arena, digest), (void *)1);
	}
	return true;
}

/* Whether the store held no cache entry when the run's first lookup came (see empty). An
 * error reading it: looked up as usual. */
static bool
cache_empty(run_ctx *ctx)
{
	if (ctx->cache.empty == 0)
		ctx->cache.empty = nf_store_cache_any(ctx->store) == 0 ? 1 : -1;
	return ctx->cache.empty > 0;
}

/* A node's outputs as [{"path","digest","mode"}] and their combined digest; store puts them
 * in the object store, else they are only hashed. "mode" is a file's permission bits in
 * octal ("0600"), restored with it; a folder's are in its manifest. The metrics file that
 * counts as an output comes last (nf_run__metrics_output): restored with the rest, and in
 * the digest a reader of it is keyed on. */
static int
hash_outputs(run_ctx *ctx, const nf_node *node, bool store, char **outputs_json, char **combined)
{
	const nf_stage *st = node->stage;
	const char *mpath = nf_run__metrics_output(ctx, node);
	size_t nout = st->noutputs + (mpath ? 1 : 0);
	/* The JSON written straight into a buffer, byte for byte as cJSON printed the tree it
	 * replaces (which cost a dozen allocations per output). */
	nf_buf json = NF_BUF_INIT, all = NF_BUF_INIT, pb = NF_BUF_INIT;
	char hex[65];
	int err = 0;

	nf_buf_putc(&json, '[');
	for (size_t i = 0; i < nout; i++) {
		char *abs = NULL, *norm = NULL;
		const char *path;
		char digest[80];
		const char *name;
		int perm = -1, dirfd = -1;
		/* uncached: hashed, so that a skip can check it, never stored */
		bool uncached = i < st->noutputs && nf_stage_output_in(st, i, nf_more(st)->uncached, nf_more(st)->nuncached);
		bool put = store && !uncached;

		if (i == st->noutputs) {
			path = mpath;
		} else if ((err = nf_run__expand_buf(&pb, ctx, node, &st->outputs[i])) < 0) {
			goto done;
		} else {
			path = nf_buf_cstr(&pb);
		}
		if ((err = output_at(ctx, path, 0, &norm, &dirfd, &name)) == 0) {
			abs = nf_run__abs(ctx, norm);
			err = put ? nf_objstore_put_at(ctx->cache.objs, dirfd, name, abs, digest, &perm)
				: nf_objstore_digest_at(ctx->cache.objs, dirfd, name, abs, digest);
		}
		output_done(ctx, dirfd);
		free(norm);
		free(abs);
		if (err < 0) {
			if (store) {
				err = nf_run__stage_error(err, node);
				goto done;
			}
			snprintf(digest, sizeof(digest), "missing");
			nf_error_clear();
			err = 0;
		}
		nf_buf_puts(&json, i ? ",{\"path\":" : "{\"path\":");
		nf_cachekey_json_string(&json, path);
		nf_buf_puts(&json, ",\"digest\":");
		nf_cachekey_json_string(&json, digest);
		if (uncached)
			nf_buf_puts(&json, ",\"uncached\":true");
		if (perm >= 0) {
			char mode[] = ",\"mode\":\"0000\"";   /* "0%03o", without a printf per output */

			mode[10] = (char)('0' + ((perm >> 6) & 7));
			mode[11] = (char)('0' + ((perm >> 3) & 7));
			mode[12] = (char)('0' + (perm & 7));
			nf_buf_puts(&json, mode);
		}
		nf_buf_putc(&json, '}');
		nf_buf_add(&all, path, strlen(path) + 1);   /* the path and its NUL */
		nf_buf_puts(&all, digest);
		nf_buf_putc(&all, '\n');
	}
	nf_buf_putc(&json, ']');
	nf_sha256_of(hex, all.buf ? all.buf : "", all.len);
	*combined = xasprintf("out:%s", hex);
	*outputs_json = nf_buf_detach(&json);
done:
	nf_buf_release(&json);
	nf_buf_release(&all);
	nf_buf_release(&pb);
	return err;
}

/* Holds digest (taken) as node's output digest: "out:" and 64 hex digits, as almost every
 * node's is, as its 32 bytes in the node (a run of 100 000 nodes holds them all to its
 * end), anything else as the string. */
static void
set_out_digest(run_ctx *ctx, const nf_node *node, char *digest)
{
	nf_run_node *n = &ctx->nodes[node->id];
	unsigned char raw[32];

	if (!n->out_is_raw)
		free(n->out.text);
	n->out_is_raw = strlen(digest) == 4 + 64 && strncmp(digest, "out:", 4) == 0 &&
			nf_hex_decode(raw, sizeof(raw), digest + 4) == 0;
	if (n->out_is_raw) {
		memcpy(n->out.raw, raw, sizeof(raw));
		free(digest);
	} else {
		n->out.text = digest;
	}
}

/* node's output digest as held, or NULL; a raw one written out in ctx (till the next call). */
static const char *
held_out_digest(run_ctx *ctx, const nf_node *node)
{
	const nf_run_node *n = &ctx->nodes[node->id];

	if (!n->out_is_raw)
		return n->out.text;
	memcpy(ctx->out_digest_text, "out:", 4);
	nf_hex_encode(ctx->out_digest_text + 4, n->out.raw, sizeof(n->out.raw));
	return ctx->out_digest_text;
}

const char *
nf_run__out_digest(run_ctx *ctx, const nf_node *node)
{
	char *json = NULL, *combined = NULL;
	const char *held = held_out_digest(ctx, node);

	if (held)
		return held;
	if (node->stage->kind == NF_GATE)
		return "gate";
	if (node->stage->noutputs == 0)
		return "no-outputs";
	/* Not run in this run (--only, --from): what its outputs hold in the workspace now. */
	if (hash_outputs(ctx, node, false, &json, &combined) < 0)
		combined = xstrdup("unknown");
	free(json);
	set_out_digest(ctx, node, combined);
	return held_out_digest(ctx, node);
}

/* Whether output i of node, at path with digest and perm, is in place as the stat taken
 * ahead shows it (preload-step.c): then nothing is opened nor looked at again. */
static bool
in_place_ahead(run_ctx *ctx, const nf_node *node, size_t i, const char *path, const char *digest, int perm)
{
	struct stat sb;
	nf_path_why why;
	char *norm, *abs;
	bool yes;

	if (!ctx->cache.ahead || !(norm = nf_path_lexical(path, &why)))
		return false;
	yes = nf_run__stat_ahead(ctx, node, i, norm, &sb);
	if (yes) {
		abs = nf_run__abs(ctx, norm);
		yes = nf_objstore_matches(ctx->cache.objs, digest, perm, abs, &sb);
		free(abs);
	}
	free(norm);
	return yes;
}

/* Restores an entry's outputs (outs: read from its outputs_json) when all their objects
 * are present. 0, or NF_ENOTFOUND when an object is missing (the entry is then useless), or
 * another error. */
static int
restore_entry(run_ctx *ctx, const nf_node *node, const nf_cache_entry *e, const nf_cache_outs *outs)
{
	int err = 0;

	for (size_t i = 0; i < outs->n; i++) {
		const char *digest = outs->v[i].digest;

		if (outs->v[i].uncached)
			continue;   /* not in the store: uncached_changed checked it is in place */
		if (!digest || !object_present(ctx, digest)) {
			err = nf_error_set(NF_ENOTFOUND, "an object of cache entry %.12s is missing", e->key);
			goto done;
		}
	}
	for (size_t i = 0; i < outs->n; i++) {
		const char *path = outs->v[i].path, *digest = outs->v[i].digest, *mode = outs->v[i].mode;
		char *abs = NULL, *norm = NULL, *end;
		const char *name;
		size_t restored = 0;
		long perm = mode ? strtol(mode, &end, 8) : -1;
		int dirfd = -1;

		if (!path || outs->v[i].uncached)
			continue;
		if (mode && (*end || perm < 0 || perm > 0777))
			perm = -1;   /* not ours: the mode of what is there, or the default */
		if (in_place_ahead(ctx, node, i, path, digest, (int)perm))
			continue;
		/* Written only beneath the root, through real folders (made when missing). */
		if ((err = output_at(ctx, path, NF_PATH_MKDIR, &norm, &dirfd, &name)) == 0) {
			struct stat sb;
			bool there = true;

			/* A link where the output goes: said as written (restore refuses it too). */
			if ((err = nf_path_stat_at(dirfd, name, "output", path, &sb)) == NF_ENOTFOUND) {
				err = 0;
				there = false;
			}
			abs = nf_run__abs(ctx, norm);
			/* Unchanged since it was stored or restored (the stat cache says so): nothing
			 * to read or write. */
			if (err == 0 && !(there && nf_objstore_matches(ctx->cache.objs, digest, (int)perm, abs, &sb))) {
				err = nf_objstore_restore_at(ctx->cache.objs, digest, (int)perm, dirfd, name, abs, &restored);
				/* The tree changed (a folder output may have been replaced): the folders
				 * kept open are stale from here on. */
				output_done(ctx, dirfd);
				dirfd = -1;
				nf_run__cache_unsettle(ctx);
			}
		}
		output_done(ctx, dirfd);
		free(norm);
		free(abs);
		if (err < 0)
			goto done;
	}
done:
	return err;
}

/* Whether template t of node gives exactly path: a template of literal text alone is
 * compared piece by piece (no expansion on a cached rerun's path); one with references is
 * expanded into b. */
static bool
tmpl_gives(run_ctx *ctx, const nf_node *node, const nf_tmpl *t, const char *path, nf_buf *b)
{
	const char *p = path;

	for (size_t i = 0; i < t->nsegs; i++) {
		size_t len;

		if (t->segs[i].is_ref) {
			nf_buf_reset(b);
			if (nf_run__expand_buf(b, ctx, node, t) < 0) {
				nf_error_clear();
				return false;
			}
			return strcmp(nf_buf_cstr(b), path) == 0;
		}
		len = strlen(t->segs[i].text);
		if (strncmp(p, t->segs[i].text, len) != 0)
			return false;
		p += len;
	}
	return *p == '\0';
}

/* Whether paths a and b name the same file once normalized (./a//b/ is a/b). */
static bool
same_path(const char *a, const char *b)
{
	nf_path_why why;
	char *na = nf_path_lexical(a, &why), *nb = nf_path_lexical(b, &why);
	bool same = na && nb && !strcmp(na, nb);

	free(na);
	free(nb);
	return same;
}

/* Whether output template t of node names path: as written (no expansion for a literal
 * one), else once both are normalized. */
static bool
output_is(run_ctx *ctx, const nf_node *node, const nf_tmpl *t, const char *path, nf_buf *b)
{
	if (tmpl_gives(ctx, node, t, path, b))
		return true;
	nf_buf_reset(b);
	if (nf_run__expand_buf(b, ctx, node, t) < 0) {
		nf_error_clear();
		return false;
	}
	return same_path(nf_buf_cstr(b), path);
}

/* The outputs the node declares now are not the ones an entry of its key holds (outs):
 * the key covers the command and its inputs, not where the outputs go, which a ${run.*}
 * or ${env.*} in an output path, or an output added to the list, changes. The reason to
 * rerun (caller frees), else NULL. */
static char *
outputs_moved(run_ctx *ctx, const nf_node *node, const nf_cache_entry *e, const nf_cache_outs *outs)
{
	const nf_stage *st = node->stage;
	const char *mpath = nf_more(st)->metrics ? nf_run__metrics_output(ctx, node) : NULL;
	size_t nout = st->noutputs + (mpath ? 1 : 0);
	nf_buf b = NF_BUF_INIT;
	char *why = NULL;

	if (mpath && outs->n == st->noutputs) {
		why = xasprintf("its cached result (run %lld) was made before ntflow kept its metrics file '%s' with"
				" its outputs", (long long)e->run_id, mpath);
	} else if (outs->n != nout) {
		why = xasprintf("its outputs changed: the cached result of run %lld has %zu output%s, the stage"
				" declares %zu", (long long)e->run_id, (size_t)outs->n, outs->n == 1 ? "" : "s", nout);
	} else {
		/* As a set: each declared output in the entry, in its place (the usual case, one
		 * comparison each) or in another (the list reordered). No allocation for the
		 * usual few outputs: this runs for every cached node. */
		bool few[16] = { false }, *used = nout <= 16 ? few : xcalloc(nout, sizeof(*used));

		for (size_t i = 0; i < nout && !why; i++) {
			bool found = false;

			for (size_t k = 0; k < nout && !found; k++) {
				size_t j = (i + k) % nout;   /* its own place first */

				if (used[j] || !outs->v[j].path)
					continue;
				found = i < st->noutputs ? output_is(ctx, node, &st->outputs[i], outs->v[j].path, &b)
							 : same_path(outs->v[j].path, mpath);
				used[j] = found;
			}
			if (!found) {
				nf_buf_reset(&b);
				if (i >= st->noutputs)
					nf_buf_puts(&b, mpath);
				else if (nf_run__expand_buf(&b, ctx, node, &st->outputs[i]) < 0)
					nf_error_clear();
				why = xasprintf("its outputs changed: the cached result of run %lld has no output '%s'",
						(long long)e->run_id, nf_buf_cstr(&b));
			}
		}
		if (used != few)
			free(used);
	}
	nf_buf_release(&b);
	return why;
}

/* An entry's uncached outputs (outs: read from its outputs_json) must be in place with the
 * digest recorded (the store cannot bring them back): the reason to rerun when one is not
 * (caller frees), else NULL. */
static char *
uncached_changed(run_ctx *ctx, const nf_cache_entry *e, const nf_cache_outs *outs)
{
	char *why = NULL;

	for (size_t i = 0; i < outs->n; i++) {
		const char *path = outs->v[i].path, *digest = outs->v[i].digest;
		char now[80], *norm = NULL, *abs = NULL;
		const char *name;
		int dirfd = -1, err;

		if (!path || !digest || !outs->v[i].uncached)
			continue;
		if ((err = output_at(ctx, path, 0, &norm, &dirfd, &name)) == 0) {
			abs = nf_run__abs(ctx, norm);
			err = nf_objstore_digest_at(ctx->cache.objs, dirfd, name, abs, now);
		}
		output_done(ctx, dirfd);
		free(norm);
		free(abs);
		if (err < 0) {
			nf_error_clear();
			why = xasprintf("uncached output '%s' is missing (it is not in the cache)", path);
		} else if (strcmp(now, digest) != 0) {
			why = xasprintf("uncached output '%s' changed since run %lld (it is not in the cache)", path,
					(long long)e->run_id);
		}
		if (why)
			break;
	}
	return why;
}

static void
load_entry_metrics(run_ctx *ctx, const nf_node *node, const nf_cache_entry *e)
{
	/* Most entries have none: "{}" not parsed (two parses per cached stage were 3% of a
	 * cached rerun). */
	bool none = !e->metrics_json || strcmp(e->metrics_json, "{}") == 0;
	cJSON *o = none ? NULL : cJSON_Parse(e->metrics_json);
	nf_metric_set set = { 0 }, *m = &set;
	const cJSON *it;

	cJSON_ArrayForEach(it, o) {
		if (cJSON_IsNumber(it)) {
			nf_metrics_add(m, it->string, it->valuedouble);
			nf_store_metric_put(ctx->store, ctx->run_id, node->name, it->string, it->valuedouble);
		}
	}
	nf_run__keep_metrics(ctx, node, m, nf_more(node->stage)->metrics != NULL || m->n > 0);
	cJSON_Delete(o);
}

int
nf_run__cache_lookup(run_ctx *ctx, const nf_node *node, const char *command)
{
	const nf_stage *st = node->stage;
	nf_keyb *k;
	char key[65], *reason = NULL;
	const char *comps;
	nf_cache_entry e;
	nf_run_flight *fl;
	outs_index upouts = { 0 };
	int err = 0, hit = 0;
	bool lazy = false;
	const char *off = not_cached_why(ctx, node);

	/* Off altogether (gates, cache = false): no key. Without outputs the key is still
	 * computed, for show and for dependents' keys, but never looked up nor stored. */
	if (off && (st->kind == NF_GATE || !st->opts->cache)) {
		if (st->kind != NF_GATE) {
			nf_store_node_cache(ctx->store, ctx->run_id, node->name, NULL, NULL, false, 0, off);
			nf_run__cache_unsettle(ctx);   /* it runs next */
		}
		return 0;
	}
	if (!ctx->cache.keyb)
		ctx->cache.keyb = nf_keyb_new();
	k = ctx->cache.keyb;
	nf_keyb_reset(k);
	nf_keyb_identity(k, ctx->cache.identity, st->name, nf_node_instance(node));
	nf_keyb_command(k, command);
	for (size_t a = 0; a < nf_more(st)->nmatrix; a++)
		nf_keyb_matrix(k, nf_more(st)->matrix[a].name, nf_value_text(nf_node_matrix(node)[a]));
	/* The params the stage declares (params = [...], a section standing for its keys);
	 * whether declared or not, those its templates reference (their values are in the
	 * command and paths anyway). Only these: editing another key leaves the stage cached. */
	for (size_t i = 0; nf_more(st)->nparam_keys && i < ctx->dag->pipeline.nparams; i++) {
		const char *name = ctx->dag->pipeline.params[i].key;

		if (nf_stage_uses_param(st, name)) {
			const char *v = nf_strmap_get(ctx->params, name);

			nf_keyb_param(k, name, v ? v : "");
		}
	}
	/* a foreach instance's fields and the folder the command runs in, when there are */
	for (size_t a = 0; nf_node_item(node) && a < nf_node_item(node)->nfields; a++)
		nf_keyb_matrix(k, nf_arena_printf(ctx->arena, "item.%s", nf_node_item(node)->fields[a].key),
			       nf_value_text(&nf_node_item(node)->fields[a].value));
	if (nf_more(st)->dir) {
		char *dir = NULL;

		if ((err = nf_run__expand(&dir, ctx, node, nf_more(st)->dir)) < 0)
			goto done;
		nf_keyb_matrix(k, "dir", dir);
	}
	/* The pipeline's path folders, ahead of PATH: another folder is another program of the
	 * same name (tools/v1 to tools/v2). Not when there are none, so the keys of pipelines
	 * without one stay as they were. */
	if (ctx->cache.path_key)
		nf_keyb_matrix(k, "path", ctx->cache.path_key);
	key_params(k, ctx, st->run);
	key_param_vars(k, ctx, st->run);
	for (size_t w = 0; w < nf_more(st)->nrun_words; w++)
		key_param_vars(k, ctx, &nf_more(st)->run_words[w]);
	key_params(k, ctx, nf_more(st)->metrics);
	for (size_t i = 0; i < st->noutputs; i++)
		key_params(k, ctx, &st->outputs[i]);
	key_env(k, ctx, node, ctx->dag->pipeline.env, ctx->dag->pipeline.nenv);
	key_env(k, ctx, node, nf_more(st)->env, nf_more(st)->nenv);
	for (size_t i = 0; i < st->ninputs; i++) {
		char *path = NULL;
		const char **held = NULL;
		size_t nheld = 0;
		nf_path_id id;

		key_params(k, ctx, &st->inputs[i]);
		if ((err = nf_run__expand(&path, ctx, node, &st->inputs[i])) < 0)
			goto done;
		if ((err = check_input(path)) < 0) {
			err = nf_run__stage_error(err, node);
			goto done;
		}
		if (produced_upstream(&upouts, ctx, node, path, &held, &nheld)) {
			nf_keyb_input(k, path, "upstream");
			continue;
		}
		/* Keyed on where it leads: a link's target, which must be in the project. */
		err = nheld ? nf_gitrepo_identify_except(ctx->cache.repo, path, held, nheld, &id)
			    : nf_gitrepo_identify(ctx->cache.repo, path, &id);
		free(held);
		held = NULL;
		if (err < 0) {
			err = nf_run__stage_error(err, node);
			goto done;
		}
		if (id.kind == NF_ID_DIRTY)
			ctx->cache.dirty = true;
		nf_keyb_input(k, path, id.id);
	}
	for (size_t i = 0; i < node->ndeps; i++) {
		const nf_node *d = &ctx->graph->nodes[node->deps[i]];

		nf_keyb_upstream(k, d->name, nf_run__out_digest(ctx, d));
	}
	comps = nf_keyb_finish_borrow(k, key);
	fl = nf_run__flight(ctx, node->id);
	free(fl->key);
	fl->key = xstrdup(key);
	free(fl->comps);
	fl->comps = NULL;

	if (off) {
		reason = xstrdup(off);
	} else if (ctx->req->no_cache) {
		reason = xstrdup("forced: --no-cache");
	} else if (ctx->nodes[node->id].forced) {
		reason = xstrdup("forced");
	} else if (!cache_empty(ctx) && nf_store_cache_hit(ctx->store, key, &e) == 0) {
		nf_cache_outs *outs = &ctx->cache.outs;   /* read once, for both checks */
		bool readable = nf_cache_outs_read(outs, e.outputs_json) == 0;

		e.key = key;   /* for the messages: not the entry's to free */

		if (readable && (reason = outputs_moved(ctx, node, &e, outs)) != NULL) {
			;   /* rerun: its outputs go elsewhere now */
		} else if (readable && (reason = uncached_changed(ctx, &e, outs)) != NULL) {
			;   /* rerun: an uncached output is not as the entry left it */
		} else if ((err = readable ? restore_entry(ctx, node, &e, outs)
				 : nf_error_set(NF_ECORRUPT, "cache entry %.12s has unreadable outputs", key)) == 0) {
			load_entry_metrics(ctx, node, &e);
			set_out_digest(ctx, node, e.out_digest);
			e.out_digest = NULL;
			fl->reused = e.run_id;
			/* The key says which entry; its components are the entry's (and the reused
			 * run's node row): not written again with every cached rerun. */
			nf_store_node_cache(ctx->store, ctx->run_id, node->name, key, NULL, true, e.run_id, NULL);
			hit = 1;
		} else if (err == NF_EINVALID) {
			/* An output that leads out of the project or through a link: not restored,
			 * and not run either (moving it aside would refuse the same). */
			err = nf_run__stage_error(err, node);
		} else {
			reason = xasprintf("the cached result of run %lld is incomplete (%s)", (long long)e.run_id,
					   nf_error_last());
			nf_store_cache_delete(ctx->store, key);
			err = 0;
		}
		e.key = NULL;
		nf_cache_entry_release(&e);
	} else {
		/* Explained when asked (why, show): the store notes which entry it is compared with. */
		nf_store_node_cache_miss(ctx->store, ctx->run_id, node->name, key, comps, ctx->pipeline);
		lazy = true;
	}
	if (!hit && !lazy)
		nf_store_node_cache(ctx->store, ctx->run_id, node->name, key, comps, false, 0, reason);
	if (!hit) {
		fl->comps = xstrdup(comps);   /* kept for the entry written after success */
		nf_run__cache_unsettle(ctx);   /* it runs next: its outputs are moved aside first */
	}
done:
	outs_index_release(&upouts);
	free(reason);
	return err < 0 ? err : hit;
}

int
nf_run__frozen(run_ctx *ctx, const nf_node *node)
{
	const nf_stage *st = node->stage;
	char *json = NULL, *combined = NULL;
	int err = 0;

	for (size_t i = 0; i < st->noutputs && err == 0; i++) {
		char *path = NULL, *norm = NULL;
		const char *name;
		struct stat sb;
		int dirfd = -1;

		if ((err = nf_run__expand(&path, ctx, node, &st->outputs[i])) < 0)
			return err;
		if ((err = output_at(ctx, path, 0, &norm, &dirfd, &name)) == 0)
			err = nf_path_stat_at(dirfd, name, "output", path, &sb);
		output_done(ctx, dirfd);
		free(norm);
		if (err == NF_ENOTFOUND)
			err = nf_error_set(NF_EINVALID, "%s \"%s\" is frozen (frozen = true), but its output '%s' does not"
					   " exist: a frozen stage is never run to make it", nf_stage_kind_name(st->kind),
					   node->name, path);
		else if (err < 0)
			err = nf_run__stage_error(err, node);
	}
	if (err < 0)
		return err;
	if ((err = hash_outputs(ctx, node, false, &json, &combined)) < 0)
		return err;
	free(json);
	set_out_digest(ctx, node, st->noutputs ? combined : (free(combined), xstrdup("frozen")));
	nf_store_node_cache(ctx->store, ctx->run_id, node->name, NULL, NULL, false, 0,
			    "frozen: never run (frozen = true); its outputs are used as they are");
	return 0;
}

int
nf_run__cache_store(run_ctx *ctx, const nf_node *node)
{
	const char *key = nf_run__key(ctx, node->id);
	bool store = cacheable(ctx, node) && key;
	char *outputs = NULL, *combined = NULL;
	int err;

	if ((err = hash_outputs(ctx, node, store, &outputs, &combined)) < 0)
		return err;
	if (node->stage->noutputs == 0) {
		/* Nothing to compare: dependents see the key, or (no caching) this very run. */
		free(combined);
		combined = key ? xasprintf("key:%s", key) : xasprintf("ran:%lld", (long long)ctx->run_id);
	}
	if (store) {
		nf_cache_entry e;
		cJSON *m = cJSON_CreateObject();
		const nf_metric_set *ms_of = nf_run__metrics(ctx, node->id);
		char *ms;

		for (size_t i = 0; ms_of && i < ms_of->n; i++)
			cJSON_AddNumberToObject(m, ms_of->names[i], ms_of->values[i]);
		ms = cJSON_PrintUnformatted(m);
		memset(&e, 0, sizeof(e));
		e.key = (char *)key;
		e.node = (char *)node->name;
		e.outputs_json = outputs;
		e.out_digest = combined;
		e.metrics_json = ms;
		e.run_id = ctx->run_id;
		e.commit = (char *)nf_gitrepo_head(ctx->cache.repo);
		e.created_ms = nf_now_realtime_ms();
		/* A node with a key that runs had a miss, which wrote its components to its row
		 * (nf_run__cache_lookup): the entry reads them from there. */
		e.components_in_node = true;
		err = nf_store_cache_put(ctx->store, ctx->pipeline, &e);
		cJSON_free(ms);
		cJSON_Delete(m);
	}
	set_out_digest(ctx, node, combined);
	free(outputs);
	return err;
}
