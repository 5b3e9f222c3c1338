/* cache-gc.c: the cache's retention, for `ntflow cache gc` and a pipeline's cache_gc after
 * each of its runs: which cache entries a policy lets go (those no kept run made or used),
 * then the objects no remaining entry reaches. A weekly schedule that retrains a model
 * stores new objects every week; without this nothing ever removes the old ones. */
#include "config.h"
#include "ntflow/gov.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/cache.h"

int
nf_cache_entry_each_digest(const nf_cache_entry *e, int (*fn)(void *ctx, const char *digest), void *ctx)
{
	cJSON *arr = cJSON_Parse(e->outputs_json ? e->outputs_json : "");
	const cJSON *it;
	int err = 0;

	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return nf_error_set(NF_ECORRUPT, "cache entry %.12s has unreadable outputs", e->key ? e->key : "(no key)");
	}
	cJSON_ArrayForEach(it, arr) {
		const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "digest"));

		if (!d) {
			err = nf_error_set(NF_ECORRUPT, "cache entry %.12s has an output without a digest",
					   e->key ? e->key : "(no key)");
			break;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "uncached")))
			continue;   /* uncached = [...]: hashed, never in the store */
		if ((err = fn(ctx, d)) < 0)
			break;
	}
	cJSON_Delete(arr);
	return err;
}

/* A set of strings (cache keys, run ids as text), its keys in its arena. */
typedef struct strset {
	nf_strmap *map;
	nf_arena *arena;
} strset;

static void
strset_init(strset *s)
{
	s->map = nf_strmap_new(256);
	s->arena = nf_arena_new();
}

static void
strset_release(strset *s)
{
	nf_strmap_free(s->map);
	nf_arena_free(s->arena);
}

static void
strset_add(strset *s, const char *k)
{
	char *copy;

	if (!k || nf_strmap_get(s->map, k))
		return;
	copy = nf_arena_strdup(s->arena, k);
	nf_strmap_put(s->map, copy, copy);
}

static bool
strset_has(const strset *s, const char *k)
{
	return k && nf_strmap_get(s->map, k) != NULL;
}

static void
add_key(void *keys, const char *key)
{
	strset_add(keys, key);
}

/* Run ids are kept in the sets as their text. */
static const char *
id_text(char text[24], int64_t id)
{
	snprintf(text, 24, "%lld", (long long)id);
	return text;
}

static void
add_id(strset *s, int64_t id)
{
	char text[24];

	strset_add(s, id_text(text, id));
}

typedef struct mark_ctx {
	nf_objstore *objs;
	nf_objstore_marks *marks;
} mark_ctx;

static int
mark_digest(void *vctx, const char *digest)
{
	mark_ctx *m = vctx;

	return nf_objstore_mark(m->objs, m->marks, digest);
}

/* What a policy keeps: in keys, those the runs it keeps and each pipeline's last successful
 * run made or used (one set: at 100 000 stages the two lists are mostly the same keys); in
 * recent_runs, the ids of the runs it keeps and of the runs whose results the pruned ones
 * among them reused (their rows no longer say which entries). */
typedef struct gc_keep {
	strset keys, recent_runs, seen_pipelines, own_runs;
	int64_t cutoff;
} gc_keep;

/* The ids of the runs a prune policy lets go, pruned before or not, into let_go. The plan
 * refills the store's temporary tables a prune works from: never between a plan and its
 * nf_prune (the retention step prunes first, then collects). */
static int
let_go_of(nf_store *st, const nf_prune_policy *policy, strset *let_go)
{
	nf_prune_policy every = *policy;
	nf_prune_candidate *c = NULL;
	size_t n = 0;
	int err;

	every.every = true;
	every.redact_audit = false;
	if ((err = nf_store_prune_plan(st, &every, &c, &n)) < 0)
		return err;
	for (size_t i = 0; i < n; i++)
		add_id(let_go, c[i].id);
	nf_prune_candidate_list_free(c, n);
	return 0;
}

static int
plan(nf_store *st, const nf_cache_gc_policy *p, gc_keep *k, nf_cache_gc_totals *out)
{
	nf_run_info *runs = NULL;
	size_t nruns = 0;
	strset let_go;
	int err;

	strset_init(&let_go);
	if ((p->prune && (err = let_go_of(st, p->prune, &let_go)) < 0) ||
	    (err = nf_store_run_list(st, 0, &runs, &nruns)) < 0) {
		strset_release(&let_go);
		return err;
	}
	for (size_t i = 0; i < nruns; i++) {
		if (runs[i].status == NF_RUN_RUNNING) {
			err = nf_error_set(NF_EBUSY, "run %lld is in progress", (long long)runs[i].id);
			goto done;
		}
	}
	/* Newest first: the first succeeded run of each pipeline is its last successful one;
	 * with a pipeline, only its runs count towards keep_runs. */
	for (size_t i = 0, nth = 0; i < nruns; i++) {
		const nf_run_info *r = &runs[i];
		bool ours = !p->pipeline || !strcmp(r->pipeline, p->pipeline);
		char id[24];
		bool keep_run = ours && (p->prune ? !strset_has(&let_go, id_text(id, r->id)) :
				    (p->keep_runs >= 0 && nth < (size_t)p->keep_runs) ||
				    (p->keep_days >= 0 && r->started_ms >= k->cutoff));

		if (ours) {
			nth++;
			add_id(&k->own_runs, r->id);
		}
		/* Another pipeline's entries stay whatever its runs: its own are not read. */
		if (ours && r->status == NF_RUN_SUCCEEDED && !strset_has(&k->seen_pipelines, r->pipeline)) {
			strset_add(&k->seen_pipelines, r->pipeline);
			if ((err = nf_store_run_cache_keys(st, r->id, add_key, &k->keys)) < 0)
				goto done;
		}
		if (!keep_run)
			continue;
		add_id(&k->recent_runs, r->id);
		if ((err = nf_store_run_cache_keys(st, r->id, add_key, &k->keys)) < 0)
			goto done;
		if (r->pruned_ms) {
			int64_t *from = NULL;
			size_t nfrom = 0;

			out->pruned_kept++;
			if ((err = nf_store_pruned_reused(st, r->id, &from, &nfrom)) < 0)
				goto done;
			for (size_t j = 0; j < nfrom; j++)
				add_id(&k->recent_runs, from[j]);
			free(from);
		}
	}
done:
	strset_release(&let_go);
	nf_run_info_list_free(runs, nruns);
	return err;
}

/* What the walk over the entries needs: the policy, what it keeps, the marks, and the keys
 * of the entries to drop (deleted once the walk is over). */
typedef struct gc_walk {
	const nf_cache_gc_policy *p;
	const gc_keep *k;
	bool any_rule;
	nf_objstore *objs;
	nf_objstore_marks *marks;
	nf_arena *drop_keys;
	char **drop;
	size_t ndrop, drop_cap;
	nf_cache_gc_totals *out;
} gc_walk;

static int
walk_entry(void *vw, const nf_cache_entry *e)
{
	gc_walk *w = vw;
	const gc_keep *k = w->k;
	char id[24];
	bool keep;

	w->out->entries++;
	if (!e->key) {   /* nothing to delete it by: it stays, and so do its objects */
		mark_ctx mc = { w->objs, w->marks };

		nf_cache_entry_each_digest(e, mark_digest, &mc);
		nf_error_clear();
		return 0;
	}
	id_text(id, e->run_id);
	if (!w->any_rule || (w->p->pipeline && !strset_has(&k->own_runs, id)))
		keep = true;   /* no rule, or another pipeline's: only unreferenced objects go */
	else
		keep = strset_has(&k->keys, e->key) || strset_has(&k->recent_runs, id) ||
		       (w->p->keep_days >= 0 && e->created_ms >= k->cutoff);
	/* An entry whose folder manifest is gone cannot be restored: it goes too. */
	if (keep) {
		mark_ctx mc = { w->objs, w->marks };

		if (nf_cache_entry_each_digest(e, mark_digest, &mc) == 0)
			return 0;
		if (w->p->on_broken)
			w->p->on_broken(w->p->ctx, e, nf_error_last());
	}
	NF_PUSH(w->drop, w->ndrop, w->drop_cap, nf_arena_strdup(w->drop_keys, e->key));
	return 0;
}

int
nf_cache_gc(nf_store *st, nf_objstore *objs, const nf_cache_gc_policy *p, nf_cache_gc_totals *out)
{
	gc_keep k = { .cutoff = p->keep_days >= 0 ? p->now_ms - (int64_t)p->keep_days * 86400000 : 0 };
	gc_walk w = { .p = p, .k = &k, .any_rule = p->prune || p->keep_days >= 0 || p->keep_runs >= 0, .objs = objs,
		      .marks = nf_objstore_marks_new(), .drop_keys = nf_arena_new(), .out = out };
	int err;

	memset(out, 0, sizeof(*out));
	strset_init(&k.keys);
	strset_init(&k.recent_runs);
	strset_init(&k.seen_pipelines);
	strset_init(&k.own_runs);
	if ((err = plan(st, p, &k, out)) < 0 || (err = nf_store_cache_each(st, walk_entry, &w)) < 0)
		goto done;
	for (size_t i = 0; i < w.ndrop; i++) {
		if ((err = nf_store_cache_delete(st, w.drop[i])) < 0)
			goto done;
		out->dropped++;
	}
	if ((err = nf_store_flush(st)) < 0)
		goto done;
	err = nf_objstore_sweep(objs, w.marks, p->now_ms, &out->objects, &out->bytes);
done:
	strset_release(&k.keys);
	strset_release(&k.recent_runs);
	strset_release(&k.seen_pipelines);
	strset_release(&k.own_runs);
	nf_objstore_marks_free(w.marks);
	nf_arena_free(w.drop_keys);
	free(w.drop);
	return err;
}
