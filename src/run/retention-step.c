/* retention-step.c: the pipeline's keep_runs / keep_days applied once a run has ended and its
 * hooks ran, while it still holds the workspace lock, as `ntflow prune` would for its own
 * pipeline: a schedule that runs every week for a year keeps a bounded history with nobody
 * there to prune it. A failure is a warning; the run's outcome stands. */
#include "config.h"
#include "run-internal.h"

#include <stdlib.h>

#include "ntflow/gov.h"

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
}
