/* retention-step.c: the pipeline's keep_runs / keep_days applied once a run has ended and its
 * hooks ran, while it still holds the workspace lock, as `ntflow prune` would for its own
 * pipeline; with cache_gc, then its cache entries that only the runs it lets go made or
 * used: a schedule that runs every week for a year keeps a bounded history, and a bounded
 * cache, with nobody there to prune them. A failure is a warning; the run's outcome stands. */
#include "config.h"
#include "run-internal.h"

#include <stdlib.h>

#include "ntflow/gov.h"

static void
on_broken(void *vctx, const nf_cache_entry *e, const char *why)
{
	run_ctx *ctx = vctx;
	char *msg;

	if (!ctx->req->on_warning)
		return;
	msg = xasprintf("cache_gc dropped cache entry %.12s (%s, run %lld): %s", e->key, e->node,
			(long long)e->run_id, why);
	ctx->req->on_warning(ctx->req->ctx, msg);
	free(msg);
}

/* The cache entries of the pipeline that only the runs policy lets go made or used (it
 * keeps more than the numbers: the newest and the last successful runs, those of the
 * production and newest candidate versions; and whether a run was pruned before, by it or
 * by hand, does not matter), and then the objects no entry of any pipeline reaches. */
static void
cache_gc(run_ctx *ctx, const nf_prune_policy *policy, int64_t now)
{
	nf_cache_gc_policy p = { -1, -1, ctx->pipeline, policy, now, on_broken, ctx };
	nf_cache_gc_totals t;

	if (nf_cache_gc(ctx->store, ctx->cache.objs, &p, &t) < 0 && ctx->req->on_warning) {
		char *msg = xasprintf("cache_gc of %s: %s", ctx->pipeline, nf_error_last());

		ctx->req->on_warning(ctx->req->ctx, msg);
		free(msg);
	}
}

void
nf_run__retention(run_ctx *ctx)
{
	const nf_pipeline *pl = &ctx->dag->pipeline;
	nf_prune_policy policy = {
		.keep_runs = pl->keep_runs ? pl->keep_runs : -1,
		.keep_days = pl->keep_days ? pl->keep_days : -1,
		.redact_audit = pl->redact_audit,
		.pipeline = ctx->pipeline,
	};
	nf_prune_candidate *c = NULL;
	nf_prune_totals tot;
	nf_prune_opts opts;
	int64_t now = nf_now_realtime_ms();
	size_t n = 0;
	char *actor, *by;

	if (!pl->keep_runs && !pl->keep_days)
		return;
	policy.now_ms = now;
	if (nf_store_prune_plan(ctx->store, &policy, &c, &n) < 0) {
		if (ctx->req->on_warning)
			ctx->req->on_warning(ctx->req->ctx, nf_error_last());
		return;
	}
	actor = nf_registry_actor();
	by = xasprintf("%s (the keep_runs or keep_days of run %lld)", actor, (long long)ctx->run_id);
	opts = (nf_prune_opts){ by, now, ctx->req->on_warning, ctx->req->ctx };
	/* With nothing to prune too: the files a crash left of runs pruned before go. */
	if (nf_prune(ctx->store, ctx->state_dir, c, n, &opts, &tot) < 0 && ctx->req->on_warning) {
		char *msg = xasprintf("pruning old runs of %s: %s", ctx->pipeline, nf_error_last());

		ctx->req->on_warning(ctx->req->ctx, msg);
		free(msg);
	}
	free(by);
	free(actor);
	nf_prune_candidate_list_free(c, n);
	if (pl->cache_gc && ctx->cache.objs)
		cache_gc(ctx, &policy, now);
}
