/* model.c: small accessors of the parsed pipeline model and its release; the model itself
 * is built by parse.c, all of it in the dag's arena. */
#include "config.h"
#include "ntflow/dag.h"

#include <stdlib.h>
#include <string.h>

nf_stage *
nf_dag_find_stage(const nf_dag *dag, const char *name)
{
	uint32_t i = dag ? nf_nameidx_find(&dag->by_name, name) : 0;

	return i ? &dag->stages[i - 1] : NULL;
}

const char *
nf_dag_stage_name(const void *dag, uint32_t i)
{
	return ((const nf_dag *)dag)->stages[i].name;
}


static bool
listed(const nf_run_opts *o, const char *name)
{
	for (size_t i = 0; i < o->nsecret_env; i++)
		if (strcmp(o->secret_env[i].name, name) == 0)
			return true;
	return false;
}

bool
nf_dag_is_secret(const nf_dag *dag, const char *name)
{
	if (!dag)
		return false;
	if (listed(&dag->pipeline.defaults, name))
		return true;
	for (size_t i = 0; i < dag->nstages; i++)
		if (listed(dag->stages[i].opts, name))
			return true;
	return false;
}

const char *
nf_tmpl_literal(const nf_tmpl *t)
{
	if (t->nsegs == 0)
		return "";
	if (t->nsegs == 1 && !t->segs[0].is_ref)
		return t->segs[0].text;
	return NULL;
}

static bool
tmpl_reads(const nf_tmpl *t, const char *key)
{
	for (size_t i = 0; t && i < t->nsegs; i++)
		if (t->segs[i].is_ref && strncmp(t->segs[i].text, "params.", 7) == 0 &&
		    strcmp(t->segs[i].text + 7, key) == 0)
			return true;
	return false;
}

bool
nf_stage_uses_param(const nf_stage *s, const char *key)
{
	size_t n;

	if (nf_more(s)->nparam_keys) {
		for (size_t i = 0; i < nf_more(s)->nparam_keys; i++) {
			n = strlen(nf_more(s)->param_keys[i].name);
			if (strncmp(key, nf_more(s)->param_keys[i].name, n) == 0 && (key[n] == '\0' || key[n] == '.'))
				return true;
		}
		return false;
	}
	if (tmpl_reads(s->run, key) || tmpl_reads(nf_more(s)->metrics, key))
		return true;
	for (size_t i = 0; i < s->ninputs; i++)
		if (tmpl_reads(&s->inputs[i], key))
			return true;
	for (size_t i = 0; i < s->noutputs; i++)
		if (tmpl_reads(&s->outputs[i], key))
			return true;
	for (size_t i = 0; i < nf_more(s)->nenv; i++)
		if (nf_more(s)->env[i].value.kind == NF_V_STRING && tmpl_reads(&nf_more(s)->env[i].value.str, key))
			return true;
	return false;
}

/* Whether two templates are written alike (the same segments). */
static bool
same_tmpl(const nf_tmpl *a, const nf_tmpl *b)
{
	nf_buf x = NF_BUF_INIT, y = NF_BUF_INIT;
	bool same;

	for (size_t i = 0; i < a->nsegs; i++)
		nf_buf_printf(&x, a->segs[i].is_ref ? "${%s}" : "%s", a->segs[i].text);
	for (size_t i = 0; i < b->nsegs; i++)
		nf_buf_printf(&y, b->segs[i].is_ref ? "${%s}" : "%s", b->segs[i].text);
	same = !strcmp(nf_buf_cstr(&x), nf_buf_cstr(&y));
	nf_buf_release(&x);
	nf_buf_release(&y);
	return same;
}

bool
nf_stage_output_in(const nf_stage *s, size_t out, const nf_tmpl *list, size_t n)
{
	for (size_t i = 0; i < n && out < s->noutputs; i++)
		if (same_tmpl(&s->outputs[out], &list[i]))
			return true;
	return false;
}

const nf_stage_more nf_stage_more_none;

nf_stage_more *
nf_stage_more_mut(nf_stage *s, nf_arena *a)
{
	if (!s->more)
		s->more = nf_arena_alloc(a, sizeof(nf_stage_more));
	/* allocated here, in the arena: never the const shared instance */
	return (nf_stage_more *)s->more;
}

const char *
nf_stage_kind_name(nf_stage_kind k)
{
	switch (k) {
	case NF_STAGE: return "stage";
	case NF_GATE: return "gate";
	case NF_MONITOR: return "monitor";
	}
	return "stage";
}

const char *
nf_severity_name(nf_severity s)
{
	switch (s) {
	case NF_SEV_NONE: return "none";
	case NF_SEV_LOW: return "low";
	case NF_SEV_MEDIUM: return "medium";
	case NF_SEV_HIGH: return "high";
	}
	return "none";
}

const char *
nf_stage_phase(const nf_stage *s)
{
	return nf_more(s)->phase ? nf_more(s)->phase : NF_PHASE_DEFAULT;
}

const char *
nf_risk_tier(const nf_risk *r, double score)
{
	/* The bounds increase (validate.c); one not written is skipped; none: no tier. */
	if (!r->low_loc.line && !r->normal_loc.line && !r->high_loc.line)
		return NULL;
	if (r->low_loc.line && score <= r->low)
		return "low";
	if (r->normal_loc.line && score <= r->normal)
		return "normal";
	if (r->high_loc.line && score <= r->high)
		return "high";
	return "elevated";
}

const nf_stage *
nf_risk_gate(const nf_dag *dag)
{
	const nf_stage *g;

	if (dag->pipeline.risk.gate)
		return (g = nf_dag_find_stage(dag, dag->pipeline.risk.gate)) && g->kind == NF_GATE ? g : NULL;
	for (size_t i = 0; i < dag->nmodels; i++)
		if (dag->models[i].gate.name && (g = nf_dag_find_stage(dag, dag->models[i].gate.name)) && g->kind == NF_GATE)
			return g;
	for (size_t i = 0; i < dag->nstages; i++)
		if (dag->stages[i].kind == NF_GATE)
			return &dag->stages[i];
	return NULL;
}

void
nf_dag_free(nf_dag *dag)
{
	if (!dag)
		return;
	nf_nameidx_free(&dag->by_name);
	nf_arena_free(dag->needs_arena);
	nf_arena_free(dag->arena);
	free(dag);
}

void
nf_dag_drop_needs(nf_dag *dag)
{
	for (size_t i = 0; i < dag->nstages; i++) {
		dag->stages[i].needs = NULL;
		dag->stages[i].nneeds = 0;
	}
	nf_arena_free(dag->needs_arena);
	dag->needs_arena = NULL;
}
