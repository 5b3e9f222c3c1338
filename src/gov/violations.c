/* violations.c: cohorts, violations and risk. A gate's failed criteria become violations
 * with a type and a severity (high when the criterion's severe_when holds, medium otherwise),
 * each audited as the gate's decision is; a pipeline's risk block scores the run from the
 * gate's metrics and puts the score in a tier. The rows are the store's (src/store/violations.c). */
#include "config.h"
#include "ntflow/gov.h"

#include <stdlib.h>
#include <string.h>

/* What every refusal of a cohort says, so the rule is read where it was broken. */
#define COHORT_RULE "a cohort is 1 to 128 bytes of valid UTF-8 with no control characters"

int
nf_cohort_check(const char *id)
{
	const char *end = id + strlen(id);
	size_t n = (size_t)(end - id);

	if (n == 0)
		return nf_error_set(NF_EINVALID, "a cohort cannot be empty (" COHORT_RULE ")");
	/* "-" marks the runs without a cohort in every table (violations, report drift) */
	if (strcmp(id, "-") == 0)
		return nf_error_set(NF_EINVALID, "a cohort cannot be \"-\": it marks the runs without one");
	if (n > 128)
		return nf_error_set(NF_EINVALID, "a cohort is at most 128 bytes, not %zu (" COHORT_RULE ")", n);
	for (const char *p = id; p < end;) {
		const unsigned char *c = (const unsigned char *)p;
		size_t len = nf_utf8_seq_len(p, end);

		/* Listings, JSON and the audit chain quote it as text: no bytes that are not. */
		if (len == 0)
			return nf_error_set(NF_EINVALID, "a cohort must be valid UTF-8, byte %zu is 0x%02x (" COHORT_RULE ")",
					    (size_t)(p - id) + 1, *c);
		/* C0, DEL and the C1 controls (U+0080..U+009F, 0xc2 0x80..0x9f) alike. */
		if (*c < 0x20 || *c == 0x7f || (*c == 0xc2 && c[1] < 0xa0))
			return nf_error_set(NF_EINVALID, "a cohort cannot hold control characters, byte %zu is one ("
					    COHORT_RULE ")", (size_t)(p - id) + 1);
		p += len;
	}
	return 0;
}

nf_severity
nf_violation_severity(const nf_criterion *severe_when, nf_expr_lookup_fn lookup, nf_expr_slices_fn slices, void *ctx)
{
	double v = 0;

	if (!severe_when || !severe_when->expr)
		return NF_SEV_MEDIUM;
	/* A severe_when that cannot be judged (a metric missing) does not make it high. */
	if (nf_expr_eval_slices(severe_when->expr, lookup, slices, ctx, &v) < 0)
		return NF_SEV_MEDIUM;
	return v != 0.0 ? NF_SEV_HIGH : NF_SEV_MEDIUM;
}

static int
audit_violation(nf_store *st, nf_audit *audit, const nf_violation *v)
{
	cJSON *p = cJSON_CreateObject();
	int err;

	cJSON_AddStringToObject(p, "pipeline", v->pipeline);
	cJSON_AddStringToObject(p, "gate", v->gate);
	cJSON_AddNumberToObject(p, "criterion", v->idx);
	cJSON_AddStringToObject(p, "expr", v->expr);
	cJSON_AddStringToObject(p, "type", v->type);
	cJSON_AddStringToObject(p, "severity", nf_severity_name(v->severity));
	if (v->cohort)
		cJSON_AddStringToObject(p, "cohort", v->cohort);
	else
		cJSON_AddNullToObject(p, "cohort");
	if (v->has_value)
		cJSON_AddNumberToObject(p, "value", v->value);
	else
		cJSON_AddNullToObject(p, "value");
	if (v->has_threshold)
		cJSON_AddNumberToObject(p, "threshold", v->threshold);
	else
		cJSON_AddNullToObject(p, "threshold");
	err = audit ? nf_audit_add(audit, v->run_id, NF_AUDIT_VIOLATION, p)
		    : nf_audit_append(st, v->run_id, NF_AUDIT_VIOLATION, p);
	cJSON_Delete(p);
	return err;
}

int
nf_violations_record(nf_violation **out, size_t *n, nf_store *st, nf_audit *audit, const nf_violation_source *src)
{
	const nf_stage *g = src->gate;
	const nf_gate_result *r = src->result;
	nf_violation *list = NULL;
	size_t count = 0, cap = 0;
	int64_t now = nf_now_realtime_ms();
	int err = 0;

	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	for (size_t i = 0; i < r->n; i++) {
		const nf_gate_criterion *c = &r->criteria[i];
		const nf_gate_check *chk = i < nf_more(g)->nchecks ? &nf_more(g)->checks[i] : NULL;
		nf_violation v;

		if (c->passed)
			continue;
		memset(&v, 0, sizeof(v));
		v.pipeline = xstrdup(src->pipeline ? src->pipeline : "");
		v.run_id = src->run_id;
		v.cohort = src->cohort ? xstrdup(src->cohort) : NULL;
		v.gate = xstrdup(r->name);
		v.idx = (int)i;
		v.expr = xstrdup(c->expr);
		v.type = xstrdup(chk && chk->violation ? chk->violation : g->name);
		v.severity = chk ? nf_violation_severity(&chk->severe_when, src->lookup, src->slices, src->ctx) : NF_SEV_MEDIUM;
		v.has_value = c->has_left;
		v.value = c->left;
		v.has_threshold = c->has_right;
		v.threshold = c->right;
		v.created_ms = now;
		if ((err = nf_store_violation_put(st, &v)) < 0 || (err = audit_violation(st, audit, &v)) < 0) {
			nf_violation_release(&v);
			break;
		}
		NF_PUSH(list, count, cap, v);
	}
	if (err < 0 || !out) {
		nf_violation_list_free(list, count);
		return err;
	}
	*out = list;
	*n = count;
	return 0;
}

int
nf_violations_set_model(nf_store *st, nf_audit *audit, int64_t run_id, const char *gate, const char *model,
			int version)
{
	nf_violation_filter f = { .run_id = run_id };
	nf_violation *v = NULL;
	size_t n = 0;
	int err;

	if ((err = nf_store_violation_set_model(st, run_id, gate, model, version)) < 0 ||
	    (err = nf_store_violation_list(st, &f, &v, &n)) < 0)
		return err;
	/* The violation's record was written when its gate decided, before the run registered
	 * a version; this one names it, so the chain has what the violations table has. */
	for (size_t i = 0; i < n && err == 0; i++) {
		cJSON *p;

		if (gate && strcmp(v[i].gate, gate) != 0)
			continue;
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "pipeline", v[i].pipeline);
		cJSON_AddStringToObject(p, "gate", v[i].gate);
		cJSON_AddNumberToObject(p, "criterion", v[i].idx);
		cJSON_AddStringToObject(p, "type", v[i].type);
		cJSON_AddStringToObject(p, "model", model);
		cJSON_AddNumberToObject(p, "version", version);
		err = audit ? nf_audit_add(audit, run_id, NF_AUDIT_VIOLATION_MODEL, p)
			    : nf_audit_append(st, run_id, NF_AUDIT_VIOLATION_MODEL, p);
		cJSON_Delete(p);
	}
	nf_violation_list_free(v, n);
	return err;
}

int
nf_risk_evaluate(double *score, const char **tier, const nf_risk *r, nf_expr_lookup_fn lookup,
		 nf_expr_slices_fn slices, void *ctx)
{
	int err;

	*score = 0;
	*tier = NULL;
	if (!r->score.expr)
		return nf_error_set(NF_EINVALID, "the risk score '%s' did not parse", r->score.text ? r->score.text : "");
	if ((err = nf_expr_eval_slices(r->score.expr, lookup, slices, ctx, score)) < 0)
		return err;
	*tier = nf_risk_tier(r, *score);
	return 0;
}

int
nf_risk_record(nf_store *st, nf_audit *audit, int64_t run_id, const nf_risk *r, double score, const char *tier)
{
	cJSON *p;
	int err;

	if ((err = nf_store_run_set_risk(st, run_id, score, tier)) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "score_expr", r->score.text ? r->score.text : "");
	cJSON_AddNumberToObject(p, "score", score);
	if (tier)
		cJSON_AddStringToObject(p, "tier", tier);
	else
		cJSON_AddNullToObject(p, "tier");
	err = audit ? nf_audit_add(audit, run_id, NF_AUDIT_RISK, p) : nf_audit_append(st, run_id, NF_AUDIT_RISK, p);
	cJSON_Delete(p);
	return err;
}
