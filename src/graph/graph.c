/* graph.c: the run graph: matrix and foreach expansion into instance nodes, edges from
 * `needs` and inferred from files (infer.c),
 * topological order, cycle detection and critical-path lengths. The ordering work runs
 * on stages (a stage's instances share their edges, but for needs of one instance,
 * "train@us"), then is spread to nodes. */
#include "config.h"
#include "ntflow/graph.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"

/* A stage may expand to at most this many instances, and all `deps` arrays together may
 * hold at most this many entries, so a hostile file cannot ask for terabytes. */
#define GRAPH_MAX_INSTANCES 10000
#define GRAPH_MAX_EDGES (16u << 20)
/* Node ids are uint32_t (graph.h). */
#define GRAPH_MAX_NODES (UINT32_MAX - 1u)
/* A cycle longer than this is printed as its first and last stages. */
#define CYCLE_SHOWN 20
/* A readable matrix.id longer than this is replaced by a hash. */
#define INSTANCE_ID_MAX 40

/* The public graph plus what only this file needs. */
typedef struct graph_impl {
	nf_graph pub;
	/* matrix instance name -> nf_node*; other nodes are found through the dag's stage map,
	 * which spares a second table as big as the file for the common case */
	nf_strmap *instances;
} graph_impl;

/* Stage-level adjacency in compressed rows: the deps of stage i are
 * dep[dep_at[i] .. dep_at[i+1]), users likewise. An edge may stand for every instance of
 * the stage it names or for one (needs = ["train@us"]): its sel is ALL or the instance's
 * index. */
#define ALL UINT32_MAX
/* 32-bit rows: stage indexes, edge offsets and instance indexes stay far below 2^32 (a
 * file is at most NF_DAG_MAX_FILE_SIZE), and these rows are the peak of a large build. */
typedef struct stage_graph {
	size_t n;
	uint32_t *dep_at, *dep, *dep_sel, *dep_input;
	unsigned char *dep_inf;        /* inferred from files (dep_input: which input) */
	uint32_t *user_at, *user, *user_sel;
	size_t *order;                 /* stages in topological order */
	size_t norder;
} stage_graph;

static void
stage_graph_release(stage_graph *sg)
{
	free(sg->dep_at);
	free(sg->dep);
	free(sg->dep_sel);
	free(sg->dep_input);
	free(sg->dep_inf);
	free(sg->user_at);
	free(sg->user);
	free(sg->user_sel);
	free(sg->order);
}

/* The index of instance key of foreach stage d, or ALL when it has none. */
static size_t
instance_index(const nf_stage *d, const char *key)
{
	for (size_t c = 0; c < nf_more(d)->nforeach; c++)
		if (!strcmp(nf_more(d)->foreach[c].key, key))
			return c;
	return ALL;
}

typedef struct dep_rows {
	stage_graph *sg;
	size_t ndep, cap, capsel, capin, capinf;
	size_t *nusers;
} dep_rows;

static void
push_dep(dep_rows *r, size_t d, size_t sel, bool inferred, size_t input)
{
	stage_graph *sg = r->sg;
	size_t n = r->ndep;

	sg->dep = xgrow(sg->dep, sizeof(*sg->dep), n + 1, &r->cap);
	sg->dep_sel = xgrow(sg->dep_sel, sizeof(*sg->dep_sel), n + 1, &r->capsel);
	sg->dep_input = xgrow(sg->dep_input, sizeof(*sg->dep_input), n + 1, &r->capin);
	sg->dep_inf = xgrow(sg->dep_inf, 1, n + 1, &r->capinf);
	sg->dep[n] = (uint32_t)d;
	sg->dep_sel[n] = (uint32_t)sel;
	sg->dep_input[n] = (uint32_t)input;
	sg->dep_inf[n] = inferred;
	r->ndep = n + 1;
	r->nusers[d]++;
}

/* Resolves `needs` to stage indexes (unknown names were reported by nf_dag_validate and are
 * skipped here; a name listed twice gives one edge), adds the edges inferred from files
 * that needs does not already give, then the needs of single instances, and builds the
 * reverse rows. */
static void
stage_graph_init(stage_graph *sg, const nf_dag *dag)
{
	size_t n = dag->nstages, nedges = 0, e = 0;
	size_t *stamp = xcalloc(n ? n : 1, sizeof(size_t));
	dep_rows r = { .sg = sg, .nusers = xcalloc(n + 1, sizeof(size_t)) };
	nf_infer_edge *edges = NULL;
	size_t *nusers = r.nusers;
	char name[160];

	memset(sg, 0, sizeof(*sg));
	nf_infer_edges(dag, &edges, &nedges);
	sg->n = n;
	sg->dep_at = xmalloc((n + 1) * sizeof(*sg->dep_at));
	for (size_t i = 0; i < n; i++) {
		const nf_stage *s = &dag->stages[i];

		sg->dep_at[i] = (uint32_t)r.ndep;
		for (size_t k = 0; k < s->nneeds; k++) {
			const nf_stage *d = nf_dag_find_stage(dag, s->needs[k].name);

			if (!d || stamp[d->index] == i + 1)
				continue;
			stamp[d->index] = i + 1;
			push_dep(&r, d->index, ALL, false, 0);
		}
		for (; e < nedges && edges[e].user == i; e++) {
			if (stamp[edges[e].dep] == i + 1)
				continue;
			stamp[edges[e].dep] = i + 1;
			push_dep(&r, edges[e].dep, ALL, true, edges[e].input);
		}
		for (size_t k = 0; k < s->nneeds; k++) {
			const char *at = strchr(s->needs[k].name, '@');
			const nf_stage *d;
			size_t c;

			if (!at || (size_t)(at - s->needs[k].name) >= sizeof(name))
				continue;
			memcpy(name, s->needs[k].name, (size_t)(at - s->needs[k].name));
			name[at - s->needs[k].name] = '\0';
			if (!(d = nf_dag_find_stage(dag, name)) || stamp[d->index] == i + 1 ||
			    (c = instance_index(d, at + 1)) == ALL)
				continue;
			push_dep(&r, d->index, c, false, 0);
		}
	}
	sg->dep_at[n] = (uint32_t)r.ndep;
	free(edges);

	sg->user_at = xmalloc((n + 1) * sizeof(*sg->user_at));
	sg->user = xmalloc((r.ndep ? r.ndep : 1) * sizeof(*sg->user));
	sg->user_sel = xmalloc((r.ndep ? r.ndep : 1) * sizeof(*sg->user_sel));
	sg->user_at[0] = 0;
	for (size_t i = 0; i < n; i++)
		sg->user_at[i + 1] = sg->user_at[i] + (uint32_t)nusers[i];
	memset(nusers, 0, n * sizeof(size_t));   /* now: users filled so far */
	for (size_t i = 0; i < n; i++)
		for (size_t k = sg->dep_at[i]; k < sg->dep_at[i + 1]; k++) {
			size_t d = sg->dep[k], at = sg->user_at[d] + nusers[d]++;

			sg->user[at] = (uint32_t)i;
			sg->user_sel[at] = sg->dep_sel[k];
		}
	free(stamp);
	free(nusers);
}

/* Kahn's algorithm with a FIFO queue seeded in file order: O(V + E). Stages left out of
 * sg->order are on or behind a cycle. */
static void
stage_graph_sort(stage_graph *sg)
{
	size_t n = sg->n, head = 0;
	size_t *missing = xmalloc((n ? n : 1) * sizeof(size_t));

	sg->order = xmalloc((n ? n : 1) * sizeof(size_t));
	sg->norder = 0;
	for (size_t i = 0; i < n; i++) {
		missing[i] = sg->dep_at[i + 1] - sg->dep_at[i];
		if (!missing[i])
			sg->order[sg->norder++] = i;
	}
	while (head < sg->norder) {
		size_t s = sg->order[head++];

		for (size_t k = sg->user_at[s]; k < sg->user_at[s + 1]; k++)
			if (--missing[sg->user[k]] == 0)
				sg->order[sg->norder++] = sg->user[k];
	}
	free(missing);
}

/* Reports one cycle. Every stage Kahn could not order has an unordered dependency, so
 * walking unordered deps from one never ends and must come back to a stage it saw:
 * that loop is a cycle. Iterative and O(V), whatever the depth. */
static void
report_cycle(const stage_graph *sg, const nf_dag *dag, nf_diag_list *diags)
{
	size_t n = sg->n, start = 0, cur, len = 0, first = 0;
	bool *ordered = xcalloc(n, sizeof(bool));
	size_t *seen_at = xmalloc(n * sizeof(size_t));   /* step at which the walk met a stage */
	size_t *path = xmalloc((n + 1) * sizeof(size_t));
	nf_buf msg = NF_BUF_INIT;

	for (size_t i = 0; i < sg->norder; i++)
		ordered[sg->order[i]] = true;
	while (ordered[start])
		start++;
	for (size_t i = 0; i < n; i++)
		seen_at[i] = SIZE_MAX;
	cur = start;
	while (seen_at[cur] == SIZE_MAX) {
		seen_at[cur] = len;
		path[len++] = cur;
		for (size_t k = sg->dep_at[cur]; k < sg->dep_at[cur + 1]; k++)
			if (!ordered[sg->dep[k]]) {
				cur = sg->dep[k];
				break;
			}
	}
	/* path[seen_at[cur] .. len) is the cycle; start it at its earliest stage in the file */
	first = seen_at[cur];
	for (size_t i = seen_at[cur]; i < len; i++)
		if (path[i] < path[first])
			first = i;
	for (size_t i = 0, m = len - seen_at[cur]; i <= m; i++) {
		size_t at = seen_at[cur] + (first - seen_at[cur] + i) % m;

		/* a cycle through thousands of stages is shown by its ends, on one readable line */
		if (m > CYCLE_SHOWN && i == CYCLE_SHOWN / 2) {
			nf_buf_printf(&msg, " -> ... (%zu more)", m + 1 - CYCLE_SHOWN);
			i = m - CYCLE_SHOWN / 2;
			continue;
		}
		nf_buf_printf(&msg, "%s%s", i ? " -> " : "", dag->stages[path[at]].name);
	}
	nf_diag_error(diags, dag->stages[path[first]].loc, "dependency cycle: %s", nf_buf_cstr(&msg));
	/* an edge the file does not write is explained where the input that makes it is */
	for (size_t i = seen_at[cur]; i < len; i++) {
		size_t from = path[i], to = i + 1 < len ? path[i + 1] : cur;

		for (size_t k = sg->dep_at[from]; k < sg->dep_at[from + 1]; k++) {
			const nf_stage *u = &dag->stages[from];

			if (sg->dep[k] != to || !sg->dep_inf[k])
				continue;
			nf_buf_reset(&msg);
			for (size_t g = 0; g < u->inputs[sg->dep_input[k]].nsegs; g++) {
				const nf_seg *seg = &u->inputs[sg->dep_input[k]].segs[g];
				nf_buf_printf(&msg, seg->is_ref ? "${%s}" : "%s", seg->text);
			}
			nf_diag_note(diags, u->inputs[sg->dep_input[k]].loc, "%s \"%s\" needs \"%s\" through this input"
				     " (\"%s\"), inferred from the outputs of \"%s\"", nf_stage_kind_name(u->kind), u->name,
				     dag->stages[to].name, nf_buf_cstr(&msg), dag->stages[to].name);
			break;
		}
	}
	nf_buf_release(&msg);
	free(ordered);
	free(seen_at);
	free(path);
}

/* A matrix value as written: the number's text, the string, true or false. */
static const char *
value_text(nf_arena *a, const nf_value *v)
{
	const char *lit;
	nf_buf b = NF_BUF_INIT;
	char *s;

	switch (v->kind) {
	case NF_V_NUMBER:
		return v->num_text ? v->num_text : nf_arena_printf(a, "%g", v->num);
	case NF_V_BOOL:
		return v->boolean ? "true" : "false";
	case NF_V_STRING:
		if ((lit = nf_tmpl_literal(&v->str)))
			return lit;
		for (size_t i = 0; i < v->str.nsegs; i++)   /* refs are not allowed here; be safe */
			nf_buf_printf(&b, v->str.segs[i].is_ref ? "${%s}" : "%s", v->str.segs[i].text);
		s = nf_arena_strdup(a, nf_buf_cstr(&b));
		nf_buf_release(&b);
		return s;
	default:
		return "?";
	}
}

static char
value_kind_letter(const nf_value *v)
{
	return v->kind == NF_V_NUMBER ? 'n' : v->kind == NF_V_BOOL ? 'b' : 's';
}

/* The first 10 hex digits of SHA-256 over the canonical combination: "key=K:text\n" per
 * axis, K the value's kind, so "1" and 1 differ. */
static char *
hashed_id(nf_arena *a, const nf_stage *s, const nf_value **vals, const char **texts)
{
	nf_buf canon = NF_BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[11];

	for (size_t k = 0; k < nf_more(s)->nmatrix; k++)
		nf_buf_printf(&canon, "%s=%c:%s\n", nf_more(s)->matrix[k].name, value_kind_letter(vals[k]), texts[k]);
	if (!EVP_Digest(canon.buf ? canon.buf : "", canon.len, md, &mdlen, EVP_sha256(), NULL)) {
		fprintf(stderr, "ntflow: SHA-256 is unavailable in OpenSSL\n");
		abort();
	}
	for (size_t i = 0; i < 5; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	nf_buf_release(&canon);
	return nf_arena_strdup(a, hex);
}

static bool
path_safe(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* nd's own nf_node_more, made in a at the first write. */
static nf_node_more *
node_more(nf_arena *a, nf_node *nd)
{
	if (!nd->more)
		nd->more = nf_arena_alloc(a, sizeof(nf_node_more));
	return (nf_node_more *)nd->more;   /* the graph's own, made here */
}

/* A matrix value in a node's name: as it is, or in double quotes (a " or \ escaped with a
 * backslash) when it holds a character of the name's own syntax (, = [ ] " \) or is empty,
 * so that two combinations never read the same: ["x,b=y"] and ["x"] with b = ["y,b=z"]
 * made t[a=x,b=y,b=z] twice. */
static void
name_value(nf_buf *b, const char *v)
{
	if (*v && !strpbrk(v, ",=[]\"\\")) {
		nf_buf_puts(b, v);
		return;
	}
	nf_buf_putc(b, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			nf_buf_putc(b, '\\');
		nf_buf_putc(b, *v);
	}
	nf_buf_putc(b, '"');
}

/* Fills names, matrix values and instance ids of a matrix stage's count nodes. */
static void
expand_matrix(graph_impl *g, const nf_stage *s, nf_node *nodes, size_t count)
{
	nf_arena *a = g->pub.arena;
	const char **texts = xcalloc(nf_more(s)->nmatrix, sizeof(char *));
	bool *hash = xcalloc(count, sizeof(bool));
	nf_strmap *ids = nf_strmap_new(count);
	nf_buf name = NF_BUF_INIT, id = NF_BUF_INIT;

	for (size_t i = 0; i < count; i++) {
		nf_node *nd = &nodes[i];
		const nf_value **vals = nf_arena_alloc(a, nf_more(s)->nmatrix * sizeof(*vals));
		size_t rest = i;
		nf_node *other;

		/* row-major: the last axis varies fastest */
		for (size_t k = nf_more(s)->nmatrix; k-- > 0;) {
			vals[k] = &nf_more(s)->matrix[k].values[rest % nf_more(s)->matrix[k].nvalues];
			rest /= nf_more(s)->matrix[k].nvalues;
		}
		nf_buf_reset(&name);
		nf_buf_reset(&id);
		nf_buf_printf(&name, "%s[", s->name);
		for (size_t k = 0; k < nf_more(s)->nmatrix; k++) {
			texts[k] = value_text(a, vals[k]);
			nf_buf_printf(&name, "%s%s=", k ? "," : "", nf_more(s)->matrix[k].name);
			name_value(&name, texts[k]);
			nf_buf_printf(&id, "%s%s-", k ? "_" : "", nf_more(s)->matrix[k].name);
			for (const char *c = texts[k]; *c; c++)
				nf_buf_putc(&id, path_safe(*c) ? *c : '_');
		}
		nf_buf_putc(&name, ']');
		nd->name = nf_arena_strdup(a, nf_buf_cstr(&name));
		node_more(a, nd)->matrix = vals;
		if (id.len > INSTANCE_ID_MAX) {
			hash[i] = true;
			continue;
		}
		node_more(a, nd)->instance = nf_arena_strdup(a, nf_buf_cstr(&id));
		/* two combinations that read the same once made path-safe both get hashes */
		if ((other = nf_strmap_put(ids, nd->more->instance, nd))) {
			hash[i] = hash[other - nodes] = true;
			nf_strmap_put(ids, nd->more->instance, other);
		}
	}
	for (size_t i = 0; i < count; i++) {
		if (!hash[i])
			continue;
		for (size_t k = 0; k < nf_more(s)->nmatrix; k++)
			texts[k] = value_text(a, nodes[i].more->matrix[k]);
		node_more(a, &nodes[i])->instance = hashed_id(a, s, nodes[i].more->matrix, texts);
	}
	nf_buf_release(&name);
	nf_buf_release(&id);
	nf_strmap_free(ids);
	free(hash);
	free(texts);
}

/* Names the nodes of a foreach stage STAGE@KEY; the key is also the instance id. */
static void
expand_foreach(graph_impl *g, const nf_stage *s, nf_node *nodes, size_t count)
{
	for (size_t c = 0; c < count; c++) {
		node_more(g->pub.arena, &nodes[c])->item = &nf_more(s)->foreach[c];
		node_more(g->pub.arena, &nodes[c])->instance = nf_more(s)->foreach[c].key;
		nodes[c].name = nf_arena_printf(g->pub.arena, "%s@%s", s->name, nf_more(s)->foreach[c].key);
	}
}

/* Counts each stage's instances; false (with a diagnostic) when a matrix is too big. */
static bool
count_instances(nf_graph *g, const nf_dag *dag, nf_diag_list *diags)
{
	bool ok = true;
	size_t total = 0;

	for (size_t i = 0; i < dag->nstages; i++) {
		const nf_stage *s = &dag->stages[i];
		size_t count = 1;

		for (size_t k = 0; k < nf_more(s)->nmatrix; k++) {
			size_t nv = nf_more(s)->matrix[k].nvalues;

			if (count && nv > GRAPH_MAX_INSTANCES)
				count = GRAPH_MAX_INSTANCES + 1;
			else
				count *= nv;
			if (count > GRAPH_MAX_INSTANCES)
				count = GRAPH_MAX_INSTANCES + 1;
		}
		if (nf_more(s)->nforeach)
			count = nf_more(s)->nforeach;
		if (count > GRAPH_MAX_INSTANCES) {
			nf_diag_error(diags, s->loc, "the matrix of stage \"%s\" has more than %d combinations",
				      s->name, GRAPH_MAX_INSTANCES);
			ok = false;
			count = 0;
		}
		if (total + count > GRAPH_MAX_NODES) {
			nf_diag_error(diags, s->loc, "the graph has more than %u nodes", GRAPH_MAX_NODES);
			ok = false;
			count = 0;
		}
		g->stage_first[i] = (uint32_t)total;
		g->stage_count[i] = (uint32_t)count;
		total += count;
	}
	g->nnodes = total;
	return ok;
}

/* The node ids a row of sg names: every instance of a stage, or one (sel). NULL when the
 * rows would exceed the edge budget (or are empty). inf, when not NULL, is set to a flag per
 * id (inferred edge) if any entry of the row has one. c: with a users row, the instance
 * whose users these are (entries for another instance are left out). */
static uint32_t *
expand_row(nf_graph *g, const uint32_t *row, const uint32_t *sel, const unsigned char *rinf, size_t at, size_t end,
	   size_t c, uint32_t *n, const unsigned char **inf, size_t *budget)
{
	size_t total = 0, j = 0;
	uint32_t *ids;
	bool any_inf = false;
	unsigned char *flags = NULL;

#define SEL(k) (sel ? sel[k] : ALL)
#define SKIP(k) (c != ALL && SEL(k) != ALL && SEL(k) != c)
#define SINGLE(k) (c == ALL && SEL(k) != ALL)
	for (size_t k = at; k < end; k++) {
		if (SKIP(k))
			continue;
		total += SINGLE(k) ? 1 : g->stage_count[row[k]];
		any_inf |= rinf && rinf[k];
	}
	if (inf)
		*inf = NULL;
	if (total > *budget) {
		*n = 1;   /* any non-zero: the caller reports the budget */
		return NULL;
	}
	*n = (uint32_t)total;   /* at most the budget, GRAPH_MAX_EDGES */
	*budget -= total;
	if (!total)
		return NULL;
	ids = nf_arena_alloc_u32(g->arena, total);
	if (any_inf && inf)
		*inf = flags = nf_arena_alloc(g->arena, total);
	for (size_t k = at; k < end; k++) {
		size_t from = SINGLE(k) ? SEL(k) : 0, to = SINGLE(k) ? SEL(k) + 1 : g->stage_count[row[k]];

		if (SKIP(k))
			continue;
		for (size_t i = from; i < to; i++) {
			if (flags)
				flags[j] = rinf[k];
			ids[j++] = g->stage_first[row[k]] + (uint32_t)i;
		}
	}
#undef SEL
#undef SKIP
#undef SINGLE
	return ids;
}

/* Whether some user of stage s needs one of its instances only: its users then differ by
 * instance. */
static bool
users_by_instance(const stage_graph *sg, size_t s)
{
	for (size_t k = sg->user_at[s]; k < sg->user_at[s + 1]; k++)
		if (sg->user_sel[k] != ALL)
			return true;
	return false;
}

int
nf_graph_build(nf_graph **out, const nf_dag *dag, nf_diag_list *diags)
{
	graph_impl *gi = xcalloc(1, sizeof(*gi));
	nf_graph *g = &gi->pub;
	stage_graph sg;
	size_t n = dag->nstages, budget = GRAPH_MAX_EDGES, j = 0;
	int64_t *crit = NULL;
	int err = 0;

	*out = NULL;
	g->dag = dag;
	g->arena = nf_arena_new();
	g->stage_first = nf_arena_alloc(g->arena, (n ? n : 1) * sizeof(uint32_t));
	g->stage_count = nf_arena_alloc(g->arena, (n ? n : 1) * sizeof(uint32_t));
	stage_graph_init(&sg, dag);
	stage_graph_sort(&sg);
	if (sg.norder < n) {
		report_cycle(&sg, dag, diags);
		err = NF_ECYCLE;
		goto done;
	}
	if (!count_instances(g, dag, diags)) {
		err = NF_EINVALID;
		goto done;
	}

	g->nodes = nf_arena_alloc(g->arena, (g->nnodes ? g->nnodes : 1) * sizeof(nf_node));
	g->order = nf_arena_alloc(g->arena, (g->nnodes ? g->nnodes : 1) * sizeof(uint32_t));
	gi->instances = nf_strmap_new(16);
	crit = xcalloc(n ? n : 1, sizeof(int64_t));

	/* critical path, sinks first: a stage's cpus plus the longest path among its users */
	for (size_t k = sg.norder; k-- > 0;) {
		size_t s = sg.order[k];
		int64_t best = 0, cpus = dag->stages[s].opts->cpus > 0 ? dag->stages[s].opts->cpus : 1;

		for (size_t u = sg.user_at[s]; u < sg.user_at[s + 1]; u++)
			if (g->stage_count[sg.user[u]] && crit[sg.user[u]] > best)
				best = crit[sg.user[u]];
		crit[s] = cpus + best;
	}

	for (size_t s = 0; s < n; s++) {
		const nf_stage *st = &dag->stages[s];
		size_t first = g->stage_first[s], count = g->stage_count[s];
		uint32_t ndeps, nusers;
		const unsigned char *inf;
		uint32_t *deps = expand_row(g, sg.dep, sg.dep_sel, sg.dep_inf, sg.dep_at[s], sg.dep_at[s + 1], ALL,
					  &ndeps, &inf, &budget);
		bool by_instance = users_by_instance(&sg, s);
		/* users shared by every instance, unless some user needs one instance only */
		uint32_t *users = by_instance ? NULL : expand_row(g, sg.user, NULL, NULL, sg.user_at[s], sg.user_at[s + 1],
								ALL, &nusers, NULL, &budget);

		if (by_instance)
			nusers = 0;
		if ((ndeps && !deps) || (nusers && !users)) {
			nf_diag_error(diags, st->loc, "the graph has more than %u edges", GRAPH_MAX_EDGES);
			err = NF_EINVALID;
			goto done;
		}
		for (size_t c = 0; c < count; c++) {
			nf_node *nd = &g->nodes[first + c];

			nd->id = (uint32_t)(first + c);
			nd->stage = (nf_stage *)st;
			nd->name = st->name;
			nd->deps = deps;
			nd->ndeps = ndeps;
			if (inf)
				node_more(g->arena, nd)->dep_inferred = inf;
			nd->users = users;
			nd->nusers = nusers;
			nd->crit = crit[s];
			if (by_instance) {
				nd->users = expand_row(g, sg.user, sg.user_sel, NULL, sg.user_at[s], sg.user_at[s + 1], c,
						       &nd->nusers, NULL, &budget);
				if (nd->nusers && !nd->users) {
					nf_diag_error(diags, st->loc, "the graph has more than %u edges", GRAPH_MAX_EDGES);
					err = NF_EINVALID;
					goto done;
				}
			}
		}
		if ((nf_more(st)->nmatrix || nf_more(st)->nforeach) && count) {
			if (nf_more(st)->nforeach)
				expand_foreach(gi, st, &g->nodes[first], count);
			else
				expand_matrix(gi, st, &g->nodes[first], count);
			for (size_t c = 0; c < count; c++)
				nf_strmap_put(gi->instances, g->nodes[first + c].name, &g->nodes[first + c]);
		}
	}
	for (size_t k = 0; k < sg.norder; k++)
		for (size_t c = 0; c < g->stage_count[sg.order[k]]; c++)
			g->order[j++] = g->stage_first[sg.order[k]] + (uint32_t)c;

done:
	free(crit);
	stage_graph_release(&sg);
	if (err < 0) {
		nf_graph_free(g);
		return err == NF_ECYCLE ? nf_error_set(err, "dependency cycle")
					: nf_error_set(err, "invalid graph");
	}
	*out = g;
	return 0;
}

const nf_node *
nf_graph_find(const nf_graph *g, const char *name)
{
	const nf_stage *s;

	if (!g)
		return NULL;
	if ((s = nf_dag_find_stage(g->dag, name)))
		return g->stage_count[s->index] == 1 ? &g->nodes[g->stage_first[s->index]] : NULL;
	return nf_strmap_get(((const graph_impl *)g)->instances, name);
}

void
nf_graph_free(nf_graph *g)
{
	graph_impl *gi = (graph_impl *)g;

	if (!g)
		return;
	nf_strmap_free(gi->instances);
	nf_arena_free(g->arena);
	free(gi);
}
