/* alerts.c: drift alerts. A monitor's rules are evaluated over its metrics; each rule that
 * fires becomes an alert with the values it read, the threshold it crossed, an audit record
 * and, when the monitor's on_alert asks, a trigger row for the scheduler. An alert is
 * identified by its monitor, rule, severity and the data it was computed on (the monitor's
 * cache key): a later run raising it again (a cached rerun) counts it, with an alert-repeat
 * audit record and no trigger; a retried monitor in one run counts once. Also
 * acknowledging (the alerts' rows are the store's: src/store/alerts.c). */
#include "config.h"
#include "ntflow/gov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
is_comparison(nf_expr_op op)
{
	return op == NF_EX_LT || op == NF_EX_LE || op == NF_EX_GT || op == NF_EX_GE ||
	       op == NF_EX_EQ || op == NF_EX_NE;
}

static const char *
op_text(nf_expr_op op)
{
	switch (op) {
	case NF_EX_LT: return "<";
	case NF_EX_LE: return "<=";
	case NF_EX_GT: return ">";
	case NF_EX_GE: return ">=";
	case NF_EX_EQ: return "==";
	case NF_EX_NE: return "!=";
	default: return "?";
	}
}

/* The values a rule read, as a JSON object ("production.NAME" for production ones). */
typedef struct values_walk {
	const nf_alert_source *src;
	cJSON *obj;
	nf_buf list;                  /* "a=1, b=2" for the summary */
} values_walk;

static void
add_value(void *vctx, bool prod, const char *name, int col)
{
	values_walk *vw = vctx;
	char *key = prod ? xasprintf("production.%s", name) : xstrdup(name);
	double v;

	(void)col;
	if (!cJSON_GetObjectItemCaseSensitive(vw->obj, key) && vw->src->lookup(vw->src->ctx, prod, name, &v) == 0) {
		cJSON_AddNumberToObject(vw->obj, key, v);
		nf_buf_printf(&vw->list, "%s%s=", vw->list.len ? ", " : "", key);
		nf_buf_put_double(&vw->list, v);
	}
	free(key);
}

/* "max_psi 0.31 > 0.25" for NAME OP EXPR; otherwise the condition with the values read. */
static char *
summary_text(const nf_alert_rule *rule, const nf_alert *a, const values_walk *vw)
{
	const nf_expr *e = rule->when.expr;
	nf_buf b = NF_BUF_INIT;

	if (is_comparison(e->op) && (e->l->op == NF_EX_NAME || e->l->op == NF_EX_PROD) && a->has_value &&
	    a->has_threshold) {
		nf_buf_printf(&b, "%s%s ", e->l->op == NF_EX_PROD ? "production." : "", e->l->name);
		nf_buf_put_double(&b, a->value);
		nf_buf_printf(&b, " %s ", op_text(e->op));
		nf_expr_format(&b, e->r);
		if (e->r->op != NF_EX_NUM) {
			nf_buf_puts(&b, " (");
			nf_buf_put_double(&b, a->threshold);
			nf_buf_putc(&b, ')');
		}
	} else {
		nf_buf_puts(&b, rule->when.text);
		if (vw->list.len)
			nf_buf_printf(&b, " (%s)", nf_buf_cstr(&vw->list));
	}
	return nf_buf_detach(&b);
}

static int
audit_alert(nf_store *st, nf_audit *audit, const nf_alert *a)
{
	cJSON *p = cJSON_CreateObject();
	int err;

	cJSON_AddNumberToObject(p, "alert", (double)a->id);
	cJSON_AddStringToObject(p, "pipeline", a->pipeline);
	cJSON_AddStringToObject(p, "monitor", a->monitor);
	cJSON_AddStringToObject(p, "rule", a->rule);
	cJSON_AddStringToObject(p, "severity", nf_severity_name(a->severity));
	cJSON_AddStringToObject(p, "when", a->expr);
	cJSON_AddItemToObject(p, "values", cJSON_Parse(a->values_json));
	if (a->has_value)
		cJSON_AddNumberToObject(p, "value", a->value);
	if (a->has_threshold)
		cJSON_AddNumberToObject(p, "threshold", a->threshold);
	cJSON_AddBoolToObject(p, "trigger", a->triggered);
	if (a->data_key)
		cJSON_AddStringToObject(p, "data_key", a->data_key);
	err = audit ? nf_audit_add(audit, a->run_id, NF_AUDIT_ALERT, p)
		    : nf_audit_append(st, a->run_id, NF_AUDIT_ALERT, p);
	cJSON_Delete(p);
	return err;
}

/* The audit record of an alert raised again: which alert, by which run, how often now. */
static int
audit_repeat(nf_store *st, nf_audit *audit, const nf_alert *a, int64_t run_id)
{
	cJSON *p = cJSON_CreateObject();
	int err;

	cJSON_AddNumberToObject(p, "alert", (double)a->id);
	cJSON_AddStringToObject(p, "pipeline", a->pipeline);
	cJSON_AddStringToObject(p, "monitor", a->monitor);
	cJSON_AddStringToObject(p, "rule", a->rule);
	cJSON_AddStringToObject(p, "severity", nf_severity_name(a->severity));
	cJSON_AddNumberToObject(p, "count", (double)a->count);
	cJSON_AddNumberToObject(p, "first_run", (double)a->run_id);
	cJSON_AddBoolToObject(p, "open", a->acked_ms == 0);
	if (a->data_key)
		cJSON_AddStringToObject(p, "data_key", a->data_key);
	err = audit ? nf_audit_add(audit, run_id, NF_AUDIT_REPEAT, p) : nf_audit_append(st, run_id, NF_AUDIT_REPEAT, p);
	cJSON_Delete(p);
	return err;
}

/* Records a fired rule: a new alert (with its trigger when want_trigger and its audit
 * record), or one more count of the alert of the same identity an earlier run raised (an
 * alert-repeat record, no trigger), or nothing when this run raised it already. *a is then
 * replaced by the alert as stored (repeat set for the second case). */
static int
record_alert(nf_store *st, nf_audit *audit, nf_alert *a, bool want_trigger)
{
	int64_t id = 0, run_id = a->run_id, now = a->created_ms;
	nf_alert stored;
	int err, again = 0;

	if ((err = nf_store_alert_find(st, a, &id)) < 0)
		return err;
	if (id == 0) {
		a->triggered = want_trigger;
		if ((err = nf_store_alert_insert(st, a)) < 0 || (err = nf_store_alert_sighting(st, a->id, run_id, now)) < 0 ||
		    (want_trigger && (err = nf_store_alert_trigger(st, a)) < 0) || (err = audit_alert(st, audit, a)) < 0)
			return err;
		id = a->id;
	} else if ((again = err = nf_store_alert_sighting(st, id, run_id, now)) < 0 ||
		   (again && (err = nf_store_alert_count_again(st, id, run_id, now)) < 0)) {
		return err;
	}
	if ((err = nf_alert_get(st, id, &stored)) < 0)
		return err;
	stored.repeat = stored.run_id != run_id;
	if (again && (err = audit_repeat(st, audit, &stored, run_id)) < 0) {
		nf_alert_release(&stored);
		return err;
	}
	nf_alert_release(a);
	*a = stored;
	return 0;
}

int
nf_alert_raise(nf_store *st, nf_audit *audit, nf_alert *a, bool want_trigger)
{
	int err;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	return record_alert(st, audit, a, want_trigger);
}

/* Evaluates one rule; *fires set when it did. */
static int
evaluate_rule(nf_alert *a, bool *fires, const nf_alert_source *src, const nf_alert_rule *rule)
{
	const nf_expr *e = rule->when.expr;
	values_walk vw = { src, NULL, NF_BUF_INIT };
	double v = 0;
	int err;

	*fires = false;
	if (!e)
		return nf_error_set(NF_EINVALID, "alert %s: the condition '%s' did not parse", rule->name, rule->when.text);
	err = nf_expr_eval(e, src->lookup, src->ctx, &v);
	if (err == NF_ENOPROD)
		return 0;   /* nothing in production to compare with: the rule cannot fire */
	if (err < 0) {
		char *why = xstrdup(nf_error_last());   /* the message buffer is about to be rewritten */

		nf_error_set(NF_EINVALID, "alert %s (%s): %s", rule->name, rule->when.text, why);
		free(why);
		return NF_EINVALID;
	}
	if (v == 0.0)
		return 0;
	*fires = true;
	memset(a, 0, sizeof(*a));
	a->pipeline = xstrdup(src->pipeline ? src->pipeline : "");
	a->run_id = src->run_id;
	a->monitor = xstrdup(src->monitor);
	a->rule = xstrdup(rule->name);
	a->severity = rule->severity;
	a->expr = xstrdup(rule->when.text);
	a->created_ms = nf_now_realtime_ms();
	if (is_comparison(e->op)) {
		a->has_value = nf_expr_eval(e->l, src->lookup, src->ctx, &a->value) == 0;
		a->has_threshold = nf_expr_eval(e->r, src->lookup, src->ctx, &a->threshold) == 0;
	}
	vw.obj = cJSON_CreateObject();
	nf_expr_walk_names(e, add_value, &vw);
	a->values_json = nf_audit_canonical_json(vw.obj);
	a->summary = summary_text(rule, a, &vw);
	cJSON_Delete(vw.obj);
	nf_buf_release(&vw.list);
	return 0;
}

int
nf_alerts_evaluate(nf_alert **fired, size_t *nfired, nf_store *st, nf_audit *audit, const nf_alert_source *src)
{
	const nf_stage *stage = src->stage;
	nf_alert *out = NULL;
	size_t n = 0, cap = 0;
	char *bad = NULL;           /* the first rule that could not be evaluated */
	int err = 0;

	*fired = NULL;
	*nfired = 0;
	for (size_t i = 0; i < nf_more(stage)->nalerts; i++) {
		const nf_alert_rule *rule = &nf_more(stage)->alerts[i];
		nf_alert a;
		bool fires;

		/* A rule that cannot be judged does not keep the others from firing. */
		if (evaluate_rule(&a, &fires, src, rule) < 0) {
			if (!bad)
				bad = xstrdup(nf_error_last());
			continue;
		}
		if (!fires)
			continue;
		a.data_key = src->data_key ? xstrdup(src->data_key) : NULL;
		if ((err = nf_store_batch(st)) < 0 ||
		    (err = record_alert(st, audit, &a, !src->no_triggers && nf_more(stage)->on_alert != NF_SEV_NONE &&
					a.severity >= nf_more(stage)->on_alert)) < 0) {
			nf_alert_release(&a);
			nf_alert_list_free(out, n);
			free(bad);
			return err;
		}
		err = 0;
		NF_PUSH(out, n, cap, a);
	}
	*fired = out;
	*nfired = n;
	if (bad) {
		err = nf_error_set(NF_EINVALID, "%s", bad);
		free(bad);
	}
	return err;
}

/* ---- reading and acknowledging ---- */

typedef struct ack_req {
	int64_t id;
	const char *note, *actor;
} ack_req;

static int
ack_fn(void *vctx, nf_store *st)
{
	ack_req *r = vctx;
	nf_alert a;
	cJSON *p = NULL;
	int64_t now = nf_now_realtime_ms();
	int err;

	if ((err = nf_alert_get(st, r->id, &a)) < 0)
		return err;
	if (a.acked_ms) {
		char t[32];

		nf_store_fmt_local_time(t, sizeof(t), a.acked_ms);
		err = nf_error_set(NF_EEXISTS, "alert %lld was acknowledged already (%s by %s)", (long long)r->id, t,
				   a.ack_by ? a.ack_by : "?");
		goto done;
	}
	if ((err = nf_store_alert_ack(st, r->id, now, r->note, r->actor)) < 0)
		goto done;
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "alert", (double)r->id);
	cJSON_AddNumberToObject(p, "run", (double)a.run_id);
	cJSON_AddStringToObject(p, "monitor", a.monitor);
	cJSON_AddStringToObject(p, "rule", a.rule);
	cJSON_AddStringToObject(p, "by", r->actor);
	if (r->note)
		cJSON_AddStringToObject(p, "note", r->note);
	err = nf_audit_append(st, 0, NF_AUDIT_ACK, p);
done:
	cJSON_Delete(p);
	nf_alert_release(&a);
	return err;
}

int
nf_alert_ack(nf_store *st, int64_t id, const char *note, const char *actor)
{
	ack_req r = { id, note, actor ? actor : "?" };

	return nf_store_atomic(st, ack_fn, &r);
}
