/* preload-step.c: the stat-cache rows of the run's declared outputs read before the first
 * cache lookup, in a few statements, so that checking each output of a cached stage asks
 * the database nothing (a fully cached rerun otherwise made one query per output); and,
 * when the cache holds entries to look up, their stats taken ahead by a second thread (and
 * the entries read ahead by the store's, nf_store_ahead_start). */
#include "config.h"
#include "ntflow/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>

#include "run-internal.h"

bool
nf_run__late_ref(const nf_tmpl *t)
{
	for (size_t i = 0; i < t->nsegs; i++)
		if (t->segs[i].is_ref && strncmp(t->segs[i].text, "stages.", 7) == 0)
			return true;
	return false;
}

/* t's text for node into b: its literal segments as they are (no interpolation to set up),
 * else expanded. NULL when it does not expand. */
static const char *
text_of(nf_buf *b, run_ctx *ctx, const nf_node *node, const nf_tmpl *t)
{
	char *out = NULL;

	nf_buf_reset(b);
	for (size_t i = 0; i < t->nsegs; i++) {
		if (t->segs[i].is_ref)
			return nf_run__expand(&out, ctx, node, t) < 0 ? NULL : out;
		nf_buf_puts(b, t->segs[i].text);
	}
	return nf_buf_cstr(b);
}

/* The folder of normalized path p into b, with a '/' after it ("/" for the root), so that
 * an empty b stands for no folder at all. */
static void
set_folder(nf_buf *b, const char *p)
{
	const char *slash = strrchr(p, '/');

	nf_buf_reset(b);
	nf_buf_add(b, p, slash ? (size_t)(slash - p) : 0);
	nf_buf_putc(b, '/');
}

/* Whether p lies directly in the folder b holds (set_folder). */
static bool
in_folder(const nf_buf *b, const char *p)
{
	const char *slash = strrchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : 0;

	return b->len == n + 1 && strncmp(b->buf, p, n) == 0;
}

void
nf_run__statcache_preload(run_ctx *ctx, const bool *selected)
{
	const char **paths = NULL, **rels = NULL;
	size_t n = 0, cap = 0, nrel = 0, rel_cap = 0, rl = strlen(ctx->root);
	nf_arena *a;
	nf_buf b = NF_BUF_INIT, failed = NF_BUF_INIT;   /* failed: the folder the last warm look missed */
	int any;
	bool ahead, warm, wants;
	size_t outs = 0;

	if (ctx->req->no_cache)
		return;
	/* Stats and entries are worth taking ahead only when lookups can hit (not the first
	 * run); what the first lookup asks (cache-step.c's cache_empty) is known from here.
	 * NTFLOW_TEST_NO_AHEAD: neither thread, each looked at in turn (a test compares). */
	any = nf_store_cache_any(ctx->store);
	ctx->cache.empty = any == 0 ? 1 : any > 0 ? -1 : 0;
	ahead = any > 0 && !nf_test_hook_value("NTFLOW_TEST_NO_AHEAD");
	/* The first run, where every stage will run: see warm below. */
	warm = any == 0;
	/* The absolute paths only when the stat cache reads them path by path (its table holds
	 * many more rows than the run's outputs): else it reads its rows as it goes. */
	for (size_t i = 0; i < ctx->graph->nnodes; i++)
		if (!selected || selected[ctx->graph->nodes[i].id])
			outs += ctx->graph->nodes[i].stage->noutputs;
	wants = nf_store_statcache_preload_wants(ctx->store, outs);
	a = nf_arena_new();
	if (ahead) {
		ctx->cache.ahead_first = xmalloc(ctx->graph->nnodes * sizeof(*ctx->cache.ahead_first));
		for (size_t i = 0; i < ctx->graph->nnodes; i++)
			ctx->cache.ahead_first[i] = UINT32_MAX;
	}
	for (size_t i = 0; i < ctx->graph->nnodes; i++) {
		const nf_node *node = &ctx->graph->nodes[i];
		const nf_stage *st = node->stage;

		if (selected && !selected[node->id])
			continue;
		if (ahead && st->noutputs && nrel + st->noutputs < UINT32_MAX)
			ctx->cache.ahead_first[node->id] = (uint32_t)nrel;
		for (size_t o = 0; o < st->noutputs; o++) {
			const char *out;
			char *norm, *abs;
			size_t nl;
			nf_path_why why;

			/* The key the lookups use (cache-step.c: the normalized path beneath the
			 * root); a path that does not expand or normalize here is left to them. */
			if (nf_run__late_ref(&st->outputs[o]) || !(out = text_of(&b, ctx, node, &st->outputs[o])) ||
			    !(norm = nf_path_lexical(out, &why))) {
				if (ctx->cache.ahead_first && ctx->cache.ahead_first[node->id] != UINT32_MAX)
					NF_PUSH(rels, nrel, rel_cap, NULL);   /* its slot, left empty */
				continue;
			}
			if (warm && !in_folder(&failed, norm)) {
				struct stat sb;
				const char *name;
				char *checked = NULL;
				int dirfd = -1;

				/* Looked at once now, as ninja stats every output at its start: each
				 * stage looks for its outputs before it starts (aside.c), when their
				 * folder may hold thousands of files, and an absent name is a search of
				 * the folder then (8 us of the 80 a stage costs at 10 000 stages). Now,
				 * the folders are at their smallest, and the kernel keeps the answer
				 * (a negative dentry) for that look and for the stage's own creation.
				 * Through the folders the lookups open (beneath the root, no link on
				 * the way, each opened once), never elsewhere. */
				if (nf_run__output_open(ctx, norm, &checked, &dirfd, &name) == 0) {
					(void)fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW);
					nf_run__output_close(ctx, dirfd);
				} else {
					/* not there yet (build/ before the stage that makes it), or not
					 * ours to look in: the folder's next outputs neither */
					set_folder(&failed, norm);
				}
				free(checked);
			}
			if (!wants && !(ctx->cache.ahead_first && ctx->cache.ahead_first[node->id] != UINT32_MAX)) {
				free(norm);   /* looked at (warm) and needed by neither */
				continue;
			}
			nl = strlen(norm);
			abs = nf_arena_alloc(a, (wants ? rl + 1 : 0) + nl + 1);
			if (wants) {
				memcpy(abs, ctx->root, rl);
				abs[rl] = '/';
			}
			memcpy(abs + (wants ? rl + 1 : 0), norm, nl + 1);
			free(norm);
			if (wants)
				NF_PUSH(paths, n, cap, abs);
			if (ctx->cache.ahead_first && ctx->cache.ahead_first[node->id] != UINT32_MAX)
				NF_PUSH(rels, nrel, rel_cap, abs + (wants ? rl + 1 : 0));
		}
	}
	nf_error_clear();   /* an output that did not expand says so at its node */
	/* The entries the lookups will read, read ahead in a thread too, which then
	 * checkpoints (the store's). */
	if (ahead)
		nf_store_ahead_start(ctx->store, ctx->pipeline, ctx->run_id, ctx->graph->nnodes);
	/* Started first, so that the thread is well ahead by the first lookup. */
	if (nrel && !(ctx->cache.ahead = nf_statahead_start(nf_run__root_fd(ctx), rels, nrel))) {
		free(ctx->cache.ahead_first);
		ctx->cache.ahead_first = NULL;
	}
	nf_store_statcache_preload(ctx->store, paths, n);
	nf_buf_release(&b);
	nf_buf_release(&failed);
	nf_arena_free(a);
	free(paths);
	free(rels);
	/* The paths (about 5 MB at 100 000 outputs) lay beneath what the run keeps. */
	nf_memory_trim();
}

bool
nf_run__stat_ahead(run_ctx *ctx, const nf_node *node, size_t o, const char *norm, struct stat *st)
{
	uint32_t first;

	/* The unsettle frees ctx->cache.ahead: what is there is still good. */
	if (!ctx->cache.ahead || o >= node->stage->noutputs ||
	    (first = ctx->cache.ahead_first[node->id]) == UINT32_MAX)
		return false;
	return nf_statahead_get(ctx->cache.ahead, (size_t)first + o, norm, st);
}
