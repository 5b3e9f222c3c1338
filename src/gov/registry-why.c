/* registry-why.c: why a model version has its status, told from the registry's events:
 * which gate passed in which run, or which person promoted or rolled back and why. A
 * person's decision is what a registry command did, as opposed to a run; it stands until a
 * model with different bytes passes the gate (registry.c enforces that). */
#include "config.h"
#include "ntflow/gov.h"

#include <stdlib.h>
#include <string.h>

#define STANDS "a person's decision: it stands until a model with different bytes passes the gate"

const nf_model_event *
nf_registry_last_event(const nf_model_event *ev, size_t n, int version, const char *status)
{
	/* A held promotion records the status the version kept: it changed nothing. */
	for (size_t i = n; i-- > 0;)
		if (ev[i].version == version && ev[i].status && strcmp(ev[i].status, status) == 0 &&
		    strcmp(ev[i].action, "held") != 0)
			return &ev[i];
	return NULL;
}

bool
nf_registry_event_is_human(const nf_model_event *e)
{
	if (strcmp(e->action, "promote") != 0 && strcmp(e->action, "rollback") != 0)
		return false;
	/* Before runs recorded themselves on it, the same bytes passing again were promoted
	 * with the actor "ntflow". */
	return e->run_id == 0 && !(e->actor && strcmp(e->actor, "ntflow") == 0);
}

/* ": REASON", or nothing. */
static const char *
colon(const char *reason)
{
	return reason && *reason ? ": " : "";
}

static const char *
text(const char *reason)
{
	return reason && *reason ? reason : "";
}

static const char *
who(const nf_model_event *e)
{
	return e->actor && *e->actor ? e->actor : "an unknown user";
}

static char *
why_production(const nf_model_version *v, const nf_model_event *e)
{
	const char *gate = v->gate ? v->gate : "-";

	if (strcmp(e->action, "register") == 0)
		return xasprintf("its gate %s passed in run %lld", gate, (long long)e->run_id);
	if (strcmp(e->action, "rollback") == 0)
		return xasprintf("returned to production by %s's rollback%s%s; " STANDS, who(e), colon(e->reason),
				 text(e->reason));
	if (!nf_registry_event_is_human(e)) {
		if (e->reason && *e->reason)
			return xstrdup(e->reason);
		return xasprintf("its bytes passed gate %s again", gate);
	}
	if (e->forced && v->gate && strcmp(v->gate_outcome, "pass") != 0)
		return xasprintf("promoted by %s past its %s gate %s%s%s; " STANDS, who(e),
				 strcmp(v->gate_outcome, "fail") == 0 ? "failed" : "undecided", v->gate,
				 colon(e->reason), text(e->reason));
	if (e->forced)   /* past an earlier rollback */
		return xasprintf("returned to production by %s after a rollback%s%s; " STANDS, who(e),
				 colon(e->reason), text(e->reason));
	return xasprintf("promoted by %s%s%s; " STANDS, who(e), colon(e->reason), text(e->reason));
}

static char *
why_candidate(const nf_model_version *v, const nf_model_event *e)
{
	if (e && e->reason && *e->reason)
		return xstrdup(e->reason);   /* the run's hold: "not promoted: run 4 failed: ..." */
	if (!v->gate)
		return xstrdup("the model has no gate: only registry promote puts it in production");
	if (strcmp(v->gate_outcome, "fail") == 0)
		return xasprintf("gate %s rejected it in run %lld", v->gate, (long long)v->run_id);
	if (strcmp(v->gate_outcome, "pass") == 0)
		return xasprintf("gate %s passed in run %lld, but it was not promoted", v->gate, (long long)v->run_id);
	return xasprintf("gate %s did not decide in run %lld", v->gate, (long long)v->run_id);
}

char *
nf_registry_why_brief(const nf_model_version *v, const nf_model_event *ev, size_t n)
{
	const nf_model_event *e = nf_registry_last_event(ev, n, v->version, v->status);

	if (!e || strcmp(v->status, "production") != 0)
		return NULL;
	if (strcmp(e->action, "register") == 0)
		return xasprintf("gate passed in run %lld", (long long)e->run_id);
	if (strcmp(e->action, "rollback") == 0)
		return xasprintf("rollback by %s", who(e));
	if (!nf_registry_event_is_human(e))
		return e->run_id ? xasprintf("passed again in run %lld", (long long)e->run_id) : xstrdup("passed again");
	return xasprintf("%s by %s", e->forced ? "forced" : "promoted", who(e));
}

char *
nf_registry_why(const nf_model_version *v, const nf_model_event *ev, size_t n)
{
	const nf_model_event *e = nf_registry_last_event(ev, n, v->version, v->status);

	if (strcmp(v->status, "production") == 0)
		return e ? why_production(v, e) : NULL;
	if (strcmp(v->status, "rolled-back") == 0 && !e) {
		/* Rolled back before the status existed: left archived by a rollback event. */
		for (size_t i = n; i-- > 0 && !e;)
			if (ev[i].version == v->version && strcmp(ev[i].action, "rollback") == 0)
				e = &ev[i];
	}
	if (strcmp(v->status, "rolled-back") == 0)
		return e ? xasprintf("rolled back by %s%s%s; only registry promote --force returns it to production",
				     who(e), colon(e->reason), text(e->reason))
			 : xstrdup("rolled back; only registry promote --force returns it to production");
	if (strcmp(v->status, "candidate") == 0)
		return why_candidate(v, e);
	if (strcmp(v->status, "corrupt") == 0 && e && e->reason)
		return xstrdup(e->reason);
	return NULL;
}
