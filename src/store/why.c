/* store/why.c: why a node ran in a run, or whose result it reused, in words: what `ntflow
 * why` prints and the dashboard's stage detail shows, so that both say the same thing. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

/* "cached: reused the result of run 41 (commit abc1234, 2026-11-20)". The entry the key
 * names says where the result came from; once gc dropped it, the reused run's record does. */
static char *
explain_cached(nf_store *st, const nf_node_cache_info *c)
{
	nf_cache_entry e;
	nf_run_info r;
	char *commit = NULL, when[32] = "", *text;
	int64_t ms = 0;

	memset(&r, 0, sizeof(r));
	if (c->key && nf_store_cache_get(st, c->key, &e) == 0) {
		if (e.run_id == c->reused_run || c->reused_run <= 0) {
			commit = e.commit ? xstrdup(e.commit) : NULL;
			ms = e.created_ms;
		}
		nf_cache_entry_release(&e);
	}
	if (!ms && c->reused_run > 0 && nf_store_run_get(st, c->reused_run, &r) == 0) {
		commit = r.commit ? xstrdup(r.commit) : NULL;
		ms = r.started_ms;
	}
	nf_run_info_release(&r);
	if (ms > 0) {
		nf_store_fmt_local_time(when, sizeof(when), ms);
		when[10] = '\0';   /* the day is enough */
	}
	if (c->reused_run <= 0)
		text = xstrdup("cached: reused an earlier result");
	else if (!ms)
		text = xasprintf("cached: reused the result of run %lld", (long long)c->reused_run);
	else if (commit)
		text = xasprintf("cached: reused the result of run %lld (commit %.7s, %s)",
				 (long long)c->reused_run, commit, when);
	else
		text = xasprintf("cached: reused the result of run %lld (not in git, %s)",
				 (long long)c->reused_run, when);
	free(commit);
	return text;
}

char *
nf_store_node_why(nf_store *st, const nf_node_info *n, const nf_node_cache_info *c)
{
	const char *how;

	/* A rejected gate says why: its failed criteria, with the slices behind a max_gap. */
	if (strcmp(n->kind, "gate") == 0 && n->reason && *n->reason)
		return xasprintf("a gate: evaluated in every run, never cached (%s: %s)", nf_state_name(n->state),
				 n->reason);
	if (strcmp(n->kind, "gate") == 0)
		return xasprintf("a gate: evaluated in every run, never cached (%s)", nf_state_name(n->state));
	/* frozen = true: never run, never looked up (src/run/cache-step.c's nf_run__frozen) */
	if (c->miss_reason && strncmp(c->miss_reason, "frozen:", 7) == 0)
		return xstrdup(c->miss_reason);
	if (c->cached || n->state == NF_ST_CACHED)
		return explain_cached(st, c);
	if (!c->miss_reason) {
		/* Never looked up: the node did not get as far as starting. */
		if (n->reason)
			return xasprintf("not run: %s (%s)", nf_state_name(n->state), n->reason);
		return xasprintf("not run: %s", nf_state_name(n->state));
	}
	switch (n->state) {
	case NF_ST_SUCCEEDED: how = "ran"; break;
	case NF_ST_RUNNING: case NF_ST_RETRYING: how = "running"; break;
	case NF_ST_FAILED: how = "ran and failed"; break;
	case NF_ST_TIMED_OUT: how = "ran and timed out"; break;
	case NF_ST_CANCELLED: how = "ran and was cancelled"; break;
	default: how = "ran"; break;
	}
	return xasprintf("%s: %s", how, c->miss_reason);
}
