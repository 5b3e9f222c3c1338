/* preload-step.c: the stat-cache rows of the run's declared outputs read before the first
 * cache lookup, in a few statements, so that checking each output of a cached stage asks
 * the database nothing (a fully cached rerun otherwise made one query per output). */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

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

void
nf_run__statcache_preload(run_ctx *ctx, const bool *selected)
{
	const char **paths = NULL;
	size_t n = 0, cap = 0, rl = strlen(ctx->root);
	nf_arena *a;
	nf_buf b = NF_BUF_INIT;

	if (ctx->req->no_cache)
		return;
	a = nf_arena_new();
	for (size_t i = 0; i < ctx->graph->nnodes; i++) {
		const nf_node *node = &ctx->graph->nodes[i];
		const nf_stage *st = node->stage;

		if (selected && !selected[node->id])
			continue;
		for (size_t o = 0; o < st->noutputs; o++) {
			const char *out;
			char *norm, *abs;
			size_t nl;
			nf_path_why why;

			/* The key the lookups use (cache-step.c: the normalized path beneath the
			 * root); a path that does not expand or normalize here is left to them. */
			if (nf_run__late_ref(&st->outputs[o]) || !(out = text_of(&b, ctx, node, &st->outputs[o])) ||
			    !(norm = nf_path_lexical(out, &why)))
				continue;
			nl = strlen(norm);
			abs = nf_arena_alloc(a, rl + nl + 2);
			memcpy(abs, ctx->root, rl);
			abs[rl] = '/';
			memcpy(abs + rl + 1, norm, nl + 1);
			free(norm);
			NF_PUSH(paths, n, cap, abs);
		}
	}
	nf_error_clear();   /* an output that did not expand says so at its node */
	nf_store_statcache_preload(ctx->store, paths, n);
	nf_buf_release(&b);
	nf_arena_free(a);
	free(paths);
}
