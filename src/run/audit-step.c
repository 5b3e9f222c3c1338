/* audit-step.c: the audit chain and drift alerts inside a run: the run's start, each node's
 * final state (cached nodes gathered into "nodes" records) and the run's end (with the Merkle root over its records) appended to the
 * chain, and a monitor's alert rules evaluated once its metrics are read. */
#include "config.h"
#include "run-internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/cachekey.h"
#include "ntflow/gov.h"

int
nf_run__audit_begin(run_ctx *ctx, const nf_run_info *info)
{
	cJSON *p;
	int err;

	if ((err = nf_audit_open(&ctx->audit.chain, ctx->store)) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "pipeline", info->pipeline);
	cJSON_AddStringToObject(p, "file", info->file);
	cJSON_AddStringToObject(p, "trigger", info->trigger);
	cJSON_AddStringToObject(p, "logical_date", info->logical_date);
	if (info->interval_start)
		cJSON_AddStringToObject(p, "interval_start", info->interval_start);
	if (info->interval_end)
		cJSON_AddStringToObject(p, "interval_end", info->interval_end);
	if (info->commit)
		cJSON_AddStringToObject(p, "commit", info->commit);
	else
		cJSON_AddNullToObject(p, "commit");
	cJSON_AddItemToObject(p, "params", cJSON_Parse(info->params_json ? info->params_json : "{}"));
	err = nf_audit_add(ctx->audit.chain, ctx->run_id, NF_AUDIT_RUN_START, p);
	cJSON_Delete(p);
	return err;
}

/* A node's record: its key and the run it reused given (what its flight held). */
static void
audit_node(run_ctx *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res, const char *reason,
	   const char *key, int64_t reused)
{
	nf_audit_node n = { 0 };
	char *payload;

	if (!ctx->audit.chain || ctx->audit.err < 0)
		return;
	n.node = node->name;
	n.kind = nf_stage_kind_name(node->stage->kind);
	n.state = nf_state_name(st);
	n.attempt = attempt;
	n.cache_key = key;
	n.reused_run = reused;
	n.has_exit = res && res->exited;
	n.exit_code = n.has_exit ? res->exit_code : 0;
	n.has_signal = res && !res->exited;
	n.signal = n.has_signal ? res->term_signal : 0;
	n.reason = reason;
	/* A cached node's record waits for a "nodes" record of up to 256 (written before the
	 * commit that holds the node's state): a cached rerun would otherwise write, hash and
	 * insert one per stage. A node that ran keeps a record of its own. */
	if (st == NF_ST_CACHED) {
		ctx->audit.err = nf_audit_defer_node(ctx->audit.chain, ctx->run_id, &n);
	} else {
		/* Written as canonical JSON straight away, without a cJSON tree. */
		payload = nf_audit_node_payload(&n);
		ctx->audit.err = nf_audit_add_text(ctx->audit.chain, ctx->run_id, NF_AUDIT_NODE, payload);
		free(payload);
	}
	/* on_state cannot fail: the first error fails the run at its end. */
	if (ctx->audit.err < 0)
		ctx->audit.msg = xstrdup(nf_error_last());
}

void
nf_run__audit_node(run_ctx *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
		   const char *reason)
{
	const nf_run_flight *fl = ctx->nodes ? ctx->nodes[node->id].flight : NULL;

	audit_node(ctx, node, st, attempt, res, reason, nf_run__key(ctx, node->id), fl ? fl->reused : 0);
}

void
nf_run__audit_replayed(run_ctx *ctx, const nf_node *node, nf_state st, int attempt, const nf_job_result *res,
		       const char *reason, int64_t reused)
{
	audit_node(ctx, node, st, attempt, res, reason, NULL, reused);
}

void
nf_run__audit_restart(run_ctx *ctx)
{
	if (!ctx->audit.chain)
		return;
	/* The chain's head is read from the database at each append: a new handle only drops
	 * the deferred node records, which went with the batch. */
	nf_audit_free(ctx->audit.chain);
	ctx->audit.chain = NULL;
	free(ctx->audit.msg);
	ctx->audit.msg = NULL;
	if ((ctx->audit.err = nf_audit_open(&ctx->audit.chain, ctx->store)) < 0)
		ctx->audit.msg = xstrdup(nf_error_last());
}

int
nf_run__audit_end(run_ctx *ctx, nf_run_status status)
{
	int err = 0;

	if (!ctx->audit.chain)
		return 0;
	if (ctx->audit.err < 0)
		err = nf_error_set(ctx->audit.err, "%s", ctx->audit.msg ? ctx->audit.msg : "cannot write the audit log");
	else
		err = nf_audit_close_run(ctx->audit.chain, ctx->run_id, nf_run_status_name(status), NULL);
	nf_audit_free(ctx->audit.chain);
	ctx->audit.chain = NULL;
	free(ctx->audit.msg);
	ctx->audit.msg = NULL;
	return err;
}

typedef struct monitor_env {
	run_ctx *ctx;
	const nf_node *node;
	bool loaded;
	int prod_err;
	cJSON *prod;
} monitor_env;

/* A monitor's own metrics; production.NAME from the production version of the pipeline's
 * (first) model, as a gate without a model of its own reads it. */
static int
monitor_lookup(void *vctx, bool production, const char *name, double *out)
{
	monitor_env *me = vctx;
	const nf_dag *dag = me->ctx->dag;

	if (production) {
		const cJSON *item;

		if (!me->loaded) {
			me->loaded = true;
			me->prod_err = dag->nmodels ? nf_registry_production_metrics(&me->prod, me->ctx->store,
										     dag->models[0].name)
						    : NF_ENOPROD;
		}
		if (me->prod_err < 0)
			return me->prod_err == NF_ENOPROD ? NF_ENOPROD : NF_ENOTFOUND;
		item = cJSON_GetObjectItemCaseSensitive(me->prod, name);
		if (!cJSON_IsNumber(item))
			return NF_ENOTFOUND;
		*out = item->valuedouble;
		return 0;
	}
	if (nf_run__metrics(me->ctx, me->node->id) && nf_metrics_get(nf_run__metrics(me->ctx, me->node->id), name, out) == 0)
		return 0;
	return NF_ENOTFOUND;
}

/* The identity of the data a monitor's metrics were computed on: its cache key (command,
 * inputs, upstream outputs), which a cached rerun shares; for a monitor without one
 * (cache = false) the metrics themselves stand for it: "metrics:" and the SHA-256 of them
 * as canonical JSON. Caller frees. */
static char *
monitor_data_key(run_ctx *ctx, const nf_node *node)
{
	const nf_metric_set *m = nf_run__metrics(ctx, node->id);
	cJSON *o;
	char *json, hex[65];

	if (nf_run__key(ctx, node->id))
		return xstrdup(nf_run__key(ctx, node->id));
	o = cJSON_CreateObject();
	for (size_t i = 0; m && i < m->n; i++)
		if (!cJSON_GetObjectItemCaseSensitive(o, m->names[i]))
			cJSON_AddNumberToObject(o, m->names[i], m->values[i]);
	json = nf_audit_canonical_json(o);
	nf_sha256_of(hex, json, strlen(json));
	free(json);
	cJSON_Delete(o);
	return xasprintf("metrics:%s", hex);
}

int
nf_run__alerts(run_ctx *ctx, const nf_node *node)
{
	const nf_stage *st = node->stage;
	monitor_env me = { ctx, node, false, 0, NULL };
	nf_alert_source src = { ctx->pipeline, ctx->run_id, node->name, st, monitor_lookup, &me,
				strcmp(ctx->trigger, "alert") == 0, NULL };
	nf_alert *fired = NULL;
	size_t n = 0;
	const nf_alert *worst = NULL;
	char *unevaluable = NULL, *data_key;
	int err;

	if (st->kind != NF_MONITOR || nf_more(st)->nalerts == 0)
		return 0;
	src.data_key = data_key = monitor_data_key(ctx, node);
	err = nf_alerts_evaluate(&fired, &n, ctx->store, ctx->audit.chain, &src);
	free(data_key);
	cJSON_Delete(me.prod);
	if (err < 0 && err != NF_EINVALID)
		return err;
	if (err < 0)
		unevaluable = xstrdup(nf_error_last());
	for (size_t i = 0; i < n; i++) {
		if (ctx->req->on_alert) {
			nf_run_alert ra = { node->name, fired[i].rule, nf_severity_name(fired[i].severity),
					    fired[i].summary, fired[i].id, fired[i].count, fired[i].run_id,
					    fired[i].repeat, fired[i].acked_ms == 0 };

			ctx->req->on_alert(ctx->req->ctx, &ra);
		}
		if (!fired[i].repeat)
			nf_run__hook_alert(ctx, node->name, fired[i].rule, nf_severity_name(fired[i].severity),
					   fired[i].summary, fired[i].id);
		if (nf_more(st)->fail_on != NF_SEV_NONE && fired[i].severity >= nf_more(st)->fail_on &&
		    (!worst || fired[i].severity > worst->severity))
			worst = &fired[i];
	}
	if (unevaluable)
		err = nf_error_set(NF_EINVALID, "%s", unevaluable);
	else if (worst)
		err = nf_error_set(NF_EINVALID, "alert %s (%s) fired: %s, and fail_on = \"%s\"", worst->rule,
				   nf_severity_name(worst->severity), worst->summary, nf_severity_name(nf_more(st)->fail_on));
	free(unevaluable);
	nf_alert_list_free(fired, n);
	return err;
}
