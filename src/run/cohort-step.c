/* cohort-step.c: what a gate's evaluation adds in a run beyond its verdict, through gov.h:
 * each failed criterion recorded as a violation in the run's cohort, the pipeline's risk
 * score and tier when this is the gate risk { } reads, and an alert for a high-severity
 * violation or an elevated tier, which the scheduler's triggers and the on_alert hook take
 * as they take a monitor's (audit-step.c). */
#include "config.h"
#include "run-internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/cachekey.h"
#include "ntflow/gov.h"

static void
warn(run_ctx *ctx, const char *msg)
{
	if (ctx->req->on_warning)
		ctx->req->on_warning(ctx->req->ctx, msg);
}

/* The identity of the data a gate's alert was computed on: the values it read (the
 * gate's needs' metrics, which a cached rerun or a rerun on the same data reproduces, so
 * raising it again counts it, as a monitor's alert on its cache key). Caller frees. */
static char *
gate_data_key(const char *values_json)
{
	char hex[65];

	nf_sha256_of(hex, values_json, strlen(values_json));
	return xasprintf("metrics:%s", hex);
}

typedef struct values_walk {
	nf_expr_lookup_fn lookup;
	void *ctx;
	cJSON *obj;
} values_walk;

static void
add_value(void *vctx, bool prod, const char *name, int col)
{
	values_walk *vw = vctx;
	char *key = prod ? xasprintf("production.%s", name) : xstrdup(name);
	double v;

	(void)col;
	if (!cJSON_GetObjectItemCaseSensitive(vw->obj, key) && vw->lookup(vw->ctx, prod, name, &v) == 0)
		cJSON_AddNumberToObject(vw->obj, key, v);
	free(key);
}

/* The metrics two expressions read, as canonical JSON. Caller frees. */
static char *
values_read(const nf_expr *a, const nf_expr *b, nf_expr_lookup_fn lookup, void *lctx)
{
	values_walk vw = { lookup, lctx, cJSON_CreateObject() };
	char *json;

	if (a)
		nf_expr_walk_names(a, add_value, &vw);
	if (b)
		nf_expr_walk_names(b, add_value, &vw);
	json = nf_audit_canonical_json(vw.obj);
	cJSON_Delete(vw.obj);
	return json;
}

/* Raises a (filled but for its run, node and identity) as an alert of the gate, then tells
 * the command and the hooks as a monitor's alert does. */
static int
raise_alert(run_ctx *ctx, const nf_node *gate, nf_alert *a)
{
	int err;

	a->pipeline = xstrdup(ctx->pipeline ? ctx->pipeline : "");
	a->run_id = ctx->run_id;
	a->monitor = xstrdup(gate->name);
	a->severity = NF_SEV_HIGH;
	a->created_ms = nf_now_realtime_ms();
	a->data_key = gate_data_key(a->values_json);
	/* A run an alert started asks for no further runs (audit-step.c does the same). */
	if ((err = nf_alert_raise(ctx->store, ctx->audit.chain, a, strcmp(ctx->trigger, "alert") != 0)) < 0)
		return err;
	if (ctx->req->on_alert) {
		nf_run_alert ra = { gate->name, a->rule, nf_severity_name(a->severity), a->summary, a->id, a->count,
				    a->run_id, a->repeat, a->acked_ms == 0 };

		ctx->req->on_alert(ctx->req->ctx, &ra);
	}
	if (!a->repeat)
		nf_run__hook_alert(ctx, gate->name, a->rule, nf_severity_name(a->severity), a->summary, a->id);
	return 0;
}

static int
violation_alert(run_ctx *ctx, const nf_node *gate, const nf_violation *v, const nf_gate_check *chk,
		nf_expr_lookup_fn lookup, void *lctx)
{
	nf_alert a;
	nf_buf s = NF_BUF_INIT;
	int err;

	memset(&a, 0, sizeof(a));
	a.rule = xasprintf("violation:%s", v->type);
	a.expr = xstrdup(chk->severe_when.text);
	a.values_json = values_read(chk->require.expr, chk->severe_when.expr, lookup, lctx);
	a.has_value = v->has_value;
	a.value = v->value;
	a.has_threshold = v->has_threshold;
	a.threshold = v->threshold;
	nf_buf_printf(&s, "%s violation: %s failed", v->type, v->expr);
	if (v->has_value && v->has_threshold)
		nf_buf_printf(&s, " (%g vs %g)", v->value, v->threshold);
	nf_buf_printf(&s, "; %s", chk->severe_when.text);
	a.summary = nf_buf_detach(&s);
	err = raise_alert(ctx, gate, &a);
	nf_alert_release(&a);
	return err;
}

static int
record_violations(run_ctx *ctx, const nf_node *gate, const nf_gate_result *r, nf_expr_lookup_fn lookup,
		  nf_expr_slices_fn slices, void *lctx)
{
	const nf_stage *st = gate->stage;
	nf_violation_source src = { ctx->pipeline, ctx->run_id, ctx->cohort, st, r, lookup, lctx, slices };
	nf_violation *v = NULL;
	size_t n = 0;
	int err;

	if ((err = nf_violations_record(&v, &n, ctx->store, ctx->audit.chain, &src)) < 0)
		return err;
	for (size_t i = 0; i < n && err == 0; i++) {
		size_t k = (size_t)v[i].idx;

		if (v[i].severity == NF_SEV_HIGH && k < nf_more(st)->nchecks)
			err = violation_alert(ctx, gate, &v[i], &nf_more(st)->checks[k], lookup, lctx);
	}
	nf_violation_list_free(v, n);
	return err;
}

static int
record_risk(run_ctx *ctx, const nf_node *gate, nf_expr_lookup_fn lookup, nf_expr_slices_fn slices, void *lctx)
{
	const nf_risk *r = &ctx->dag->pipeline.risk;
	const char *tier;
	double score;
	nf_alert a;
	char *msg;
	int err;

	if (!ctx->dag->has_pipeline || !r->present || nf_risk_gate(ctx->dag) != gate->stage)
		return 0;
	if (nf_risk_evaluate(&score, &tier, r, lookup, slices, lctx) < 0) {
		/* No score is recorded: the run's risk stays unknown, which listings show. */
		msg = xasprintf("risk score (%s): %s; the run has no risk tier", r->score.text, nf_error_last());
		warn(ctx, msg);
		free(msg);
		return 0;
	}
	if ((err = nf_risk_record(ctx->store, ctx->audit.chain, ctx->run_id, r, score, tier)) < 0)
		return err;
	if (!tier || strcmp(tier, "elevated") != 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.rule = xstrdup("risk:elevated");
	/* The condition that held: above the highest bound written. */
	a.has_threshold = true;
	a.threshold = r->high_loc.line ? r->high : r->normal_loc.line ? r->normal : r->low;
	a.expr = xasprintf("%s > %g", r->score.text, a.threshold);
	a.values_json = values_read(r->score.expr, NULL, lookup, lctx);
	a.has_value = true;
	a.value = score;
	a.summary = xasprintf("risk elevated: %s = %g > %g", r->score.text, score, a.threshold);
	err = raise_alert(ctx, gate, &a);
	nf_alert_release(&a);
	return err;
}

int
nf_run__gate_findings(run_ctx *ctx, const nf_node *gate, const nf_gate_result *r, nf_expr_lookup_fn lookup,
		      nf_expr_slices_fn slices, void *lctx)
{
	int err;

	/* severe_when and the score read slices (max_gap(accuracy)) as the gate's criteria do. */
	if ((err = record_violations(ctx, gate, r, lookup, slices, lctx)) < 0)
		return err;
	return record_risk(ctx, gate, lookup, slices, lctx);
}
