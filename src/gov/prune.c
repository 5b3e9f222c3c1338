/* prune.c: one run's details forgotten (`ntflow prune`) with a record of it in the audit
 * chain, in one transaction: the chain says who let which run go, and when, while the
 * records the run itself wrote stay, so `audit verify` holds across a prune. */
#include "config.h"
#include "ntflow/gov.h"

#include <signal.h>
#include <cjson/cJSON.h>

#include "ntflow/util.h"

typedef struct prune_req {
	int64_t run_id, now_ms;
	bool redact_audit;
	const char *actor;
	nf_prune_counts counts;
} prune_req;

static int
prune_fn(void *ctx, nf_store *st)
{
	prune_req *r = ctx;
	cJSON *p;
	int err;

	if ((err = nf_store_prune_run(st, r->run_id, r->now_ms, r->redact_audit, &r->counts)) < 0)
		return err;
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run", (double)r->run_id);
	cJSON_AddNumberToObject(p, "nodes_removed", (double)r->counts.nodes);
	/* What audit verify accepts an emptied record of this run by (nf_audit_verify). */
	if (r->redact_audit)
		cJSON_AddNumberToObject(p, "records_emptied", (double)r->counts.audit_records);
	cJSON_AddStringToObject(p, "by", r->actor);
	/* run_id 0: a run's Merkle root covers the records it wrote, closed when it ended. */
	err = nf_audit_append(st, 0, NF_AUDIT_PRUNE, p);
	cJSON_Delete(p);
	if (err == 0 && nf_test_hook("prune-before-commit"))
		raise(SIGKILL);   /* the tests' crash with the rows deleted, not committed */
	return err;
}

int
nf_prune_run(nf_store *st, int64_t run_id, const char *actor, int64_t now_ms, bool redact_audit,
	     nf_prune_counts *out)
{
	prune_req r = { run_id, now_ms, redact_audit, actor ? actor : "?", { 0 } };
	int err = nf_store_atomic(st, prune_fn, &r);

	*out = err < 0 ? (nf_prune_counts){ 0 } : r.counts;
	return err;
}
