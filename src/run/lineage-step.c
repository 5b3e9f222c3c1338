/* lineage-step.c: the run's OpenLineage events (the pipeline's lineage { }). The run's START
 * is sent when the run starts; the stages' events are built as their states change and kept,
 * then sent with the run's end, so that a slow or absent endpoint holds up no stage (a run
 * waits at most one timeout per endpoint: a failing one is dropped). Without the block,
 * ctx->lineage stays NULL and each call here returns at once. */
#include "config.h"
#include "run-internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/lineage.h"
#include "ntflow/store.h"

struct nf_run_lineage {
	nf_lineage_sink *sink;
	char store_id[NF_STORE_ID_SIZE];
	char run_uuid[37];
	char *dataset_ns;           /* "file://HOST" */
	char **pending;             /* the stages' events, JSON text, sent at the run's end */
	size_t npending, cap;
	int *started;               /* per node id: the attempt that sent START and no end yet */
	char *first_failed;         /* the first node that failed, for the run's errorMessage */
};

static void
warn(run_ctx *ctx)
{
	if (ctx->req->on_warning)
		ctx->req->on_warning(ctx->req->ctx, nf_error_last());
}

static void
send_now(run_ctx *ctx, cJSON *j)
{
	char *text = nf_json_print(j, false);

	cJSON_Delete(j);
	if (nf_lineage_sink_send(ctx->lineage->sink, text) < 0)
		warn(ctx);
	free(text);
}

static void
keep(run_ctx *ctx, cJSON *j)
{
	struct nf_run_lineage *l = ctx->lineage;

	l->pending = xgrow(l->pending, sizeof(*l->pending), l->npending + 1, &l->cap);
	l->pending[l->npending++] = nf_json_print(j, false);
	cJSON_Delete(j);
}

static void
base_event(run_ctx *ctx, nf_lineage_event *ev, const char *type)
{
	const nf_lineage *cfg = &ctx->dag->pipeline.lineage;

	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->time_ms = nf_now_realtime_ms();
	ev->ns = cfg->ns;
	ev->run_id = ctx->run_id;
	ev->dataset_ns = ctx->lineage->dataset_ns;
}

void
nf_run__lineage_begin(run_ctx *ctx)
{
	const nf_lineage *cfg = &ctx->dag->pipeline.lineage;
	struct nf_run_lineage *l;
	nf_lineage_event ev;
	char host[256] = "";
	char *file = NULL;

	if (!ctx->dag->has_pipeline || !cfg->present || (!cfg->file && !cfg->url))
		return;
	l = ctx->lineage = xcalloc(1, sizeof(*l));
	if (nf_store_id(ctx->store, l->store_id) < 0)   /* a store without one: the root names it */
		snprintf(l->store_id, sizeof(l->store_id), "%s", ctx->root);
	nf_lineage_uuid(l->run_uuid, l->store_id, ctx->run_id, NULL, 0);
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	l->dataset_ns = xasprintf("file://%s", host);
	l->started = xcalloc(ctx->graph->nnodes + 1, sizeof(*l->started));
	if (cfg->file)
		file = cfg->file[0] == '/' ? xstrdup(cfg->file) : nf_run__abs(ctx, cfg->file);
	l->sink = nf_lineage_sink_new(file, cfg->url, cfg->timeout_ms);
	free(file);

	base_event(ctx, &ev, "START");
	ev.job = ctx->pipeline;
	ev.run_uuid = l->run_uuid;
	ev.nominal_start = ctx->interval_start;
	ev.nominal_end = ctx->interval_end;
	send_now(ctx, nf_lineage_event_json(&ev));
}

/* The node's inputs (what and which content it read) or outputs (what it wrote: a file's
 * SHA-256) as datasets; names and identities in the run's arena. */
static nf_lineage_dataset *
datasets(run_ctx *ctx, const nf_node *node, bool outputs, size_t *n)
{
	const nf_stage *st = node->stage;
	size_t count = outputs ? st->noutputs : st->ninputs;
	nf_lineage_dataset *ds = count ? nf_arena_alloc(ctx->arena, count * sizeof(*ds)) : NULL;

	*n = 0;
	for (size_t i = 0; i < count; i++) {
		char *rel, *abs, hex[65];
		size_t len;
		nf_path_id id;
		struct stat sb;

		if (nf_run__expand(&rel, ctx, node, outputs ? &st->outputs[i] : &st->inputs[i]) < 0)
			continue;
		abs = rel[0] == '/' ? xstrdup(rel) : nf_run__abs(ctx, rel);
		len = strlen(abs);
		while (len > 1 && abs[len - 1] == '/')   /* a folder is named without its slash */
			abs[--len] = '\0';
		ds[*n].name = nf_arena_strdup(ctx->arena, abs);
		ds[*n].identity = NULL;
		if (!outputs && ctx->cache.repo && rel[0] != '/' && nf_gitrepo_identify(ctx->cache.repo, rel, &id) == 0 &&
		    id.kind != NF_ID_MISSING)
			ds[*n].identity = nf_arena_strdup(ctx->arena, id.id);
		else if (outputs && stat(abs, &sb) == 0 && S_ISREG(sb.st_mode) && nf_hash_file(hex, abs, NULL) == 0)
			ds[*n].identity = nf_arena_printf(ctx->arena, "sha256:%s", hex);
		free(abs);
		(*n)++;
	}
	return ds;
}

static void
node_event(run_ctx *ctx, const nf_node *node, const char *type, int attempt, const char *state,
	   const char *error)
{
	struct nf_run_lineage *l = ctx->lineage;
	nf_lineage_event ev;
	char uuid[37];
	char *job = xasprintf("%s.%s", ctx->pipeline, node->name);

	nf_lineage_uuid(uuid, l->store_id, ctx->run_id, node->name, attempt);
	base_event(ctx, &ev, type);
	ev.job = job;
	ev.run_uuid = uuid;
	ev.parent_job = ctx->pipeline;
	ev.parent_uuid = l->run_uuid;
	ev.node = node->name;
	ev.attempt = attempt;
	ev.state = state;
	ev.error = error;
	if (!strcmp(type, "START"))
		ev.inputs = datasets(ctx, node, false, &ev.ninputs);
	else if (!strcmp(type, "COMPLETE"))
		ev.outputs = datasets(ctx, node, true, &ev.noutputs);
	keep(ctx, nf_lineage_event_json(&ev));
	free(job);
}

void
nf_run__lineage_node(run_ctx *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
		     const char *reason)
{
	struct nf_run_lineage *l = ctx->lineage;
	int *started;
	char why[64];
	const char *type;

	if (!l)
		return;
	started = &l->started[node->id];
	if (attempt < 1)
		attempt = 1;
	if (st == NF_ST_RUNNING) {
		node_event(ctx, node, "START", attempt, NULL, NULL);
		*started = attempt;
		return;
	}
	switch (st) {
	case NF_ST_SUCCEEDED: type = "COMPLETE"; break;
	case NF_ST_CACHED: type = "COMPLETE"; break;
	case NF_ST_REJECTED: type = "COMPLETE"; break;   /* the gate ran and decided */
	case NF_ST_FAILED:
	case NF_ST_TIMED_OUT:
	case NF_ST_RETRYING: type = "FAIL"; break;
	case NF_ST_CANCELLED: type = "ABORT"; break;
	default: return;   /* waiting, ready; skipped: it never started */
	}
	if (!*started) {
		if (st == NF_ST_CANCELLED)
			return;   /* cancelled before it started: no run of its own */
		node_event(ctx, node, "START", attempt, NULL, NULL);   /* a cached node, a gate */
	}
	*started = 0;
	if (!strcmp(type, "FAIL") && !reason) {
		if (res && res->exited)
			snprintf(why, sizeof(why), "exited with status %d", res->exit_code);
		else if (res)
			snprintf(why, sizeof(why), "killed by signal %d", res->term_signal);
		else
			snprintf(why, sizeof(why), "%s", nf_state_name(st));
		reason = why;
	}
	if ((st == NF_ST_FAILED || st == NF_ST_TIMED_OUT) && !l->first_failed)
		l->first_failed = xasprintf("stage \"%s\" %s: %s", node->name, nf_state_name(st), reason);
	node_event(ctx, node, type, attempt, st == NF_ST_SUCCEEDED ? NULL : nf_state_name(st),
		   !strcmp(type, "COMPLETE") ? NULL : reason);
}

void
nf_run__lineage_end(run_ctx *ctx, nf_run_status status, const char *error)
{
	struct nf_run_lineage *l = ctx->lineage;
	nf_lineage_event ev;
	const char *type;

	if (!l)
		return;
	switch (status) {
	case NF_RUN_SUCCEEDED:
	case NF_RUN_GATED: type = "COMPLETE"; break;
	case NF_RUN_CANCELLED: type = "ABORT"; break;
	default: type = "FAIL"; break;
	}
	/* The stages' events first, in the order they happened, then the run's end. */
	for (size_t i = 0; i < l->npending; i++) {
		if (nf_lineage_sink_send(l->sink, l->pending[i]) < 0)
			warn(ctx);
		free(l->pending[i]);
	}
	base_event(ctx, &ev, type);
	ev.job = ctx->pipeline;
	ev.run_uuid = l->run_uuid;
	ev.nominal_start = ctx->interval_start;
	ev.nominal_end = ctx->interval_end;
	ev.state = nf_run_status_name(status);
	if (strcmp(type, "COMPLETE"))
		ev.error = error ? error : l->first_failed ? l->first_failed : nf_run_status_name(status);
	send_now(ctx, nf_lineage_event_json(&ev));
	nf_lineage_sink_free(l->sink);
	free(l->pending);
	free(l->started);
	free(l->first_failed);
	free(l->dataset_ns);
	free(l);
	ctx->lineage = NULL;
}
