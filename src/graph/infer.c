/* infer.c: dependencies inferred from files, as DVC and Snakemake infer them: stage B
 * depends on stage A when an input of B is an output of A, lies inside an output folder of
 * A, or is a folder holding an output of A. Also finds the inputs no stage produces, for
 * `validate`. Outputs are indexed once (a map of exact paths, a sorted array for "what lies
 * below this folder"), so each input costs a few lookups: O(n log n) for the file.
 *
 * Paths are compared as written, normalized (nf_path_lexical). A ${...} whose value is the
 * same for every stage of a run (params, run, env, dag) is kept as text: two paths that
 * write it alike name the same file. A ${...} that differs between instances (matrix,
 * item, key, stages) cannot be matched: such a path only contributes the folder written
 * before its first such reference ("build/tune/${matrix.id}/m.json" lies in "build/tune"),
 * and no edge is ever inferred from what cannot be matched. */
#include "config.h"
#include "infer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One output in the sorted array: an exact path, or the folder a templated output surely
 * lies in (prefix). */
typedef struct out_ent {
	const char *key;
	size_t stage;
	bool prefix;
} out_ent;

typedef struct out_index {
	nf_arena *a;
	nf_strmap *exact;              /* normalized output -> stage index + 1 */
	nf_strmap *folders;            /* folder of a templated output -> stage index + 1 */
	out_ent *ents;                 /* sorted by key at the first search (lower_bound) */
	size_t nents, capents;
	bool sorted;
} out_index;

/* Whether a reference has the same value in every stage of one run. */
static bool
run_constant(const char *ref)
{
	return !strncmp(ref, "params.", 7) || !strncmp(ref, "run.", 4) || !strncmp(ref, "env.", 4) ||
	       !strcmp(ref, "dag.dir");
}

/* The normalized path of t (arena), with *exact false when only the folder before its
 * first instance-dependent reference is known; NULL when nothing is (or it leaves the
 * project: validate reports that). */
static const char *
path_key_as(nf_arena *a, const nf_tmpl *t, bool *exact, bool no_refs);

static const char *
path_key(nf_arena *a, const nf_tmpl *t, bool *exact)
{
	return path_key_as(a, t, exact, false);
}

/* path_key, with no_refs: every reference counts as unknown (the folder a path surely lies
 * in, whatever the values). */
static const char *
path_key_as(nf_arena *a, const nf_tmpl *t, bool *exact, bool no_refs)
{
	nf_buf text = NF_BUF_INIT;
	nf_path_why why;
	char *norm, *r = NULL;

	*exact = true;
	for (size_t i = 0; i < t->nsegs && *exact; i++) {
		if (!t->segs[i].is_ref)
			nf_buf_puts(&text, t->segs[i].text);
		else if (!no_refs && run_constant(t->segs[i].text)) {
			nf_buf_puts(&text, "${");
			nf_buf_puts(&text, t->segs[i].text);
			nf_buf_putc(&text, '}');
		}
		else
			*exact = false;
	}
	if (!*exact) {
		const char *s = nf_buf_cstr(&text), *slash = strrchr(s, '/');

		text.len = slash ? (size_t)(slash - s) : 0;
		if (text.buf)
			text.buf[text.len] = '\0';
	}
	norm = nf_path_lexical(nf_buf_cstr(&text), &why);
	if (norm && why == NF_PATH_INSIDE)
		r = nf_arena_strdup(a, norm);
	free(norm);
	nf_buf_release(&text);
	return r;
}

static int
cmp_ent(const void *x, const void *y)
{
	const out_ent *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	return c ? c : a->stage < b->stage ? -1 : a->stage > b->stage;
}

/* Indexes path t as written by stage s. */
static void
index_path(out_index *ix, size_t s, const nf_tmpl *t)
{
	bool exact;
	const char *key = path_key(ix->a, t, &exact);

	if (!key)
		return;
	if (exact) {
		const char *folder;
		bool whole;

		if (!nf_strmap_get(ix->exact, key))
			nf_strmap_put(ix->exact, key, (void *)(uintptr_t)(s + 1));
		/* "data/${run.week}.csv" may be any file in data/: so for the missing check */
		if (!nf_tmpl_literal(t) && (folder = path_key_as(ix->a, t, &whole, true)) &&
		    !nf_strmap_get(ix->folders, folder))
			nf_strmap_put(ix->folders, folder, (void *)(uintptr_t)(s + 1));
	} else if (!nf_strmap_get(ix->folders, key)) {
		nf_strmap_put(ix->folders, key, (void *)(uintptr_t)(s + 1));
	}
	NF_PUSH(ix->ents, ix->nents, ix->capents, ((out_ent){ key, s, !exact }));
}

/* Whether an output indexed so far is key or a folder holding it. */
static bool
held_by_output(out_index *ix, const char *key)
{
	char *p = nf_arena_strdup(ix->a, key), *slash;

	for (;;) {
		if (nf_strmap_get(ix->exact, p))
			return true;
		if (!(slash = strrchr(p, '/')))
			return false;
		*slash = '\0';
	}
}

/* Every stage's outputs, then the metrics files in none of them: the stage writes such a
 * file (it is cached and restored as an output), and a stage reading it must wait for it.
 * One in an output is that output's stage's product, which the metrics stage only reads. */
static void
index_outputs(out_index *ix, const nf_dag *dag)
{
	ix->a = nf_arena_new();
	ix->exact = nf_strmap_new(dag->nstages);
	ix->folders = nf_strmap_new(8);
	for (size_t s = 0; s < dag->nstages; s++)
		for (size_t k = 0; k < dag->stages[s].noutputs; k++)
			index_path(ix, s, &dag->stages[s].outputs[k]);
	for (size_t s = 0; s < dag->nstages; s++) {
		const nf_tmpl *m = nf_more(&dag->stages[s])->metrics;
		const char *key;
		bool exact;

		if (m && (key = path_key(ix->a, m, &exact)) && exact && !held_by_output(ix, key))
			index_path(ix, s, m);
	}
}

static void
index_release(out_index *ix)
{
	nf_strmap_free(ix->exact);
	nf_strmap_free(ix->folders);
	free(ix->ents);
	nf_arena_free(ix->a);
}

/* The first entry whose key is not below key. The entries are sorted by the first search,
 * not when indexed: a pipeline whose stages declare no inputs never searches them, and
 * sorting 100 000 outputs was a tenth of its validate. */
static size_t
lower_bound(out_index *ix, const char *key)
{
	size_t lo = 0, hi = ix->nents;

	if (!ix->sorted && ix->nents)
		qsort(ix->ents, ix->nents, sizeof(out_ent), cmp_ent);
	ix->sorted = true;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix->ents[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

typedef void found_fn(void *ctx, size_t stage);

/* Calls fn for each stage with an output equal to key or a folder above it (map: exact or
 * folders), walking key's ancestors. */
static void
each_above(nf_strmap *map, nf_buf *tmp, const char *key, found_fn *fn, void *ctx)
{
	nf_buf_reset(tmp);
	nf_buf_puts(tmp, key);
	for (;;) {
		size_t s = (size_t)(uintptr_t)nf_strmap_get(map, nf_buf_cstr(tmp));
		char *slash;

		if (s)
			fn(ctx, s - 1);
		if (!(slash = strrchr(tmp->buf, '/')))
			break;
		*slash = '\0';
		tmp->len = (size_t)(slash - tmp->buf);
	}
}

/* Calls fn for each stage with an output below the folder key (or a templated output whose
 * folder is key itself); with any_equal, an exact output equal to key counts too. */
static void
each_below(out_index *ix, nf_buf *tmp, const char *key, bool any_equal, found_fn *fn, void *ctx)
{
	size_t len = strlen(key);

	for (size_t i = lower_bound(ix, key); i < ix->nents && !strcmp(ix->ents[i].key, key); i++)
		if (ix->ents[i].prefix || any_equal)
			fn(ctx, ix->ents[i].stage);
	nf_buf_reset(tmp);
	nf_buf_printf(tmp, "%s/", key);
	for (size_t i = lower_bound(ix, nf_buf_cstr(tmp)); i < ix->nents; i++) {
		if (strncmp(ix->ents[i].key, key, len) != 0 || ix->ents[i].key[len] != '/')
			break;
		fn(ctx, ix->ents[i].stage);
	}
}

typedef struct edge_ctx {
	nf_infer_edge *edges;
	size_t n, cap;
	size_t user, input;
} edge_ctx;

static void
add_edge(void *ctx, size_t stage)
{
	edge_ctx *e = ctx;

	if (stage != e->user)
		NF_PUSH(e->edges, e->n, e->cap, ((nf_infer_edge){ e->user, stage, e->input }));
}

void
nf_infer_edges(const nf_dag *dag, nf_infer_edge **out, size_t *n)
{
	out_index ix = { 0 };
	edge_ctx e = { 0 };
	nf_buf tmp = NF_BUF_INIT;

	index_outputs(&ix, dag);
	for (size_t s = 0; s < dag->nstages && ix.nents; s++) {
		const nf_stage *st = &dag->stages[s];

		e.user = s;
		for (size_t k = 0; k < st->ninputs; k++) {
			bool exact;
			const char *key = path_key(ix.a, &st->inputs[k], &exact);

			if (!key)
				continue;
			e.input = k;
			each_above(ix.exact, &tmp, key, add_edge, &e);
			if (exact)
				each_below(&ix, &tmp, key, false, add_edge, &e);
		}
	}
	nf_buf_release(&tmp);
	index_release(&ix);
	*out = e.edges;
	*n = e.n;
}

static void
mark_found(void *ctx, size_t stage)
{
	(void)stage;
	*(bool *)ctx = true;
}

int
nf_graph_check_inputs(const nf_dag *dag, const char *root, nf_diag_list *diags)
{
	out_index ix = { 0 };
	nf_buf tmp = NF_BUF_INIT;
	size_t before = diags->nerrors;

	index_outputs(&ix, dag);
	for (size_t s = 0; s < dag->nstages; s++) {
		const nf_stage *st = &dag->stages[s];

		for (size_t k = 0; k < st->ninputs; k++) {
			const nf_tmpl *t = &st->inputs[k];
			const char *lit = nf_tmpl_literal(t);
			bool exact, found = false;
			const char *key;
			struct stat sb;
			char *abs;

			/* only a path without ${...} can be looked for on disk */
			if (!lit || !(key = path_key(ix.a, t, &exact)))
				continue;
			each_above(ix.exact, &tmp, key, mark_found, &found);
			each_above(ix.folders, &tmp, key, mark_found, &found);
			each_below(&ix, &tmp, key, true, mark_found, &found);
			if (found)
				continue;
			abs = xasprintf("%s/%s", root, key);
			if (lstat(abs, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR))
				nf_diag_error(diags, t->loc, "input \"%s\" of %s \"%s\" does not exist and no stage declares it"
					      " as an output", lit, nf_stage_kind_name(st->kind), st->name);
			free(abs);
		}
	}
	nf_buf_release(&tmp);
	index_release(&ix);
	return diags->nerrors > before ? nf_error_set(NF_EINVALID, "missing inputs") : 0;
}
