/* check_graph.c: unit tests of the run graph on models built in memory (no parser): order,
 * matrix expansion and instance ids, cycles (also 100 000 stages deep), critical paths and
 * the three output formats. */
#include "config.h"
#include "ntflow/graph.h"

#include <check.h>
#include <cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AXES_MAX 4

/* A model as the parser would leave it, for stages added with tstage() (at most cap). */
static nf_dag *
tdag_new(size_t cap)
{
	nf_dag *d = xcalloc(1, sizeof(*d));

	d->arena = nf_arena_new();
	d->path = "t.dag";
	d->dir = ".";
	d->stages = nf_arena_alloc(d->arena, cap * sizeof(nf_stage));
	nf_nameidx_init(&d->by_name, cap, nf_dag_stage_name, d);
	return d;
}

static void
tdag_free(nf_dag *d)
{
	nf_nameidx_free(&d->by_name);
	nf_arena_free(d->arena);
	free(d);
}

/* Adds a stage needing the comma-separated stages in needs ("" for none). */
static nf_stage *
tstage(nf_dag *d, nf_stage_kind kind, const char *name, const char *needs)
{
	nf_stage *s = &d->stages[d->nstages];
	char *list = nf_arena_strdup(d->arena, needs), *save = NULL;
	size_t cap = 1;

	for (const char *c = needs; *c; c++)
		cap += *c == ',';
	s->kind = kind;
	s->name = nf_arena_strdup(d->arena, name);
	s->index = d->nstages++;
	s->loc = nf_loc_at(d->path, (int)s->index + 1, 1);
	s->opts = nf_arena_alloc(d->arena, sizeof(nf_run_opts));
	s->opts->cpus = 1;
	s->needs = nf_arena_alloc(d->arena, cap * sizeof(nf_name_ref));
	for (char *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save))
		s->needs[s->nneeds++] = (nf_name_ref){ n, s->loc };
	nf_stage_more_mut(s, d->arena)->matrix = nf_arena_alloc(d->arena, AXES_MAX * sizeof(nf_axis));
	nf_nameidx_add(&d->by_name, s->index);
	return s;
}

/* Adds a matrix axis; values are comma-separated: numbers, true/false, or 's:text' strings. */
static void
taxis(nf_dag *d, nf_stage *s, const char *name, const char *values)
{
	nf_stage_more *m = nf_stage_more_mut(s, d->arena);
	nf_axis *ax = &m->matrix[m->nmatrix++];
	char *list = nf_arena_strdup(d->arena, values), *save = NULL;
	size_t cap = 1;

	for (const char *c = values; *c; c++)
		cap += *c == ',';
	ax->name = nf_arena_strdup(d->arena, name);
	ax->values = nf_arena_alloc(d->arena, cap * sizeof(nf_value));
	for (char *v = strtok_r(list, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
		nf_value *val = &ax->values[ax->nvalues++];

		if (!strncmp(v, "s:", 2)) {
			nf_seg *seg = nf_arena_alloc(d->arena, sizeof(*seg));
			seg->text = v + 2;
			val->kind = NF_V_STRING;
			val->str.segs = seg;
			val->str.nsegs = 1;
		} else if (!strcmp(v, "true") || !strcmp(v, "false")) {
			val->kind = NF_V_BOOL;
			val->boolean = v[0] == 't';
		} else {
			val->kind = NF_V_NUMBER;
			val->num = strtod(v, NULL);
			val->num_text = v;
		}
	}
}

static nf_graph *
build_ok(const nf_dag *d)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_graph *g = NULL;
	int err = nf_graph_build(&g, d, &diags);

	ck_assert_msg(err == 0, "nf_graph_build: %d %s", err, diags.n ? diags.items[0].msg : nf_error_last());
	ck_assert_uint_eq(diags.n, 0);
	nf_diag_list_release(&diags);
	return g;
}

/* The node names in topological order, space-separated. */
static char *
order_of(const nf_graph *g)
{
	nf_buf b = NF_BUF_INIT;

	for (size_t i = 0; i < g->nnodes; i++)
		nf_buf_printf(&b, "%s%s", i ? " " : "", g->nodes[g->order[i]].name);
	return nf_buf_detach(&b);
}

/* Builds a graph that must fail with err; returns the first diagnostic's message. */
static char *
build_error(const nf_dag *d, int expect_err, int *line)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_graph *g = (nf_graph *)1;
	char *msg;

	ck_assert_int_eq(nf_graph_build(&g, d, &diags), expect_err);
	ck_assert_ptr_null(g);
	ck_assert_uint_eq(diags.n, 1);
	ck_assert_int_eq(diags.items[0].level, NF_DIAG_ERROR);
	ck_assert_str_eq(diags.items[0].file, "t.dag");
	*line = diags.items[0].line;
	msg = xstrdup(diags.items[0].msg);
	nf_diag_list_release(&diags);
	return msg;
}

START_TEST(test_topo_order)
{
	nf_dag *d = tdag_new(8);
	nf_graph *g;
	char *order;

	tstage(d, NF_STAGE, "c", "a");
	tstage(d, NF_STAGE, "a", "");
	tstage(d, NF_STAGE, "b", "a");
	tstage(d, NF_GATE, "d", "b,c,b");     /* b twice: one edge */
	tstage(d, NF_MONITOR, "e", "");
	tstage(d, NF_STAGE, "f", "nosuch");   /* unknown needs are validate's to report */
	g = build_ok(d);
	order = order_of(g);
	ck_assert_str_eq(order, "a e f c b d");
	ck_assert_uint_eq(g->nnodes, 6);
	ck_assert_uint_eq(g->nodes[3].ndeps, 2);
	ck_assert_str_eq(g->nodes[g->nodes[3].deps[0]].name, "b");
	ck_assert_str_eq(g->nodes[g->nodes[3].deps[1]].name, "c");
	ck_assert_uint_eq(g->nodes[1].nusers, 2);
	ck_assert_uint_eq(g->nodes[5].ndeps, 0);
	ck_assert_ptr_eq(nf_graph_find(g, "b"), &g->nodes[2]);
	ck_assert_ptr_null(nf_graph_find(g, "nosuch"));
	ck_assert_ptr_null(nf_node_instance(&g->nodes[0]));
	ck_assert_ptr_null(nf_node_matrix(&g->nodes[0]));
	/* every node after all its deps */
	for (size_t i = 0, pos[6]; i < g->nnodes; i++) {
		pos[g->order[i]] = i;
		if (i == g->nnodes - 1)
			for (size_t n = 0; n < g->nnodes; n++)
				for (size_t k = 0; k < g->nodes[n].ndeps; k++)
					ck_assert_uint_lt(pos[g->nodes[n].deps[k]], pos[n]);
	}
	free(order);
	nf_graph_free(g);
	nf_graph_free(NULL);
	tdag_free(d);
}
END_TEST

START_TEST(test_matrix_expansion)
{
	nf_dag *d = tdag_new(4);
	nf_stage *tune;
	nf_graph *g;
	const nf_node *n;
	char *order;

	tstage(d, NF_STAGE, "prep", "");
	tune = tstage(d, NF_STAGE, "tune", "prep");
	taxis(d, tune, "lr", "0.01,0.05,2e-1");
	taxis(d, tune, "l2", "0,0.001");
	tstage(d, NF_STAGE, "train", "tune");
	g = build_ok(d);
	ck_assert_uint_eq(g->nnodes, 8);
	ck_assert_uint_eq(g->stage_first[1], 1);
	ck_assert_uint_eq(g->stage_count[1], 6);
	ck_assert_uint_eq(g->stage_first[2], 7);
	order = order_of(g);
	ck_assert_str_eq(order, "prep tune[lr=0.01,l2=0] tune[lr=0.01,l2=0.001] tune[lr=0.05,l2=0] "
			 "tune[lr=0.05,l2=0.001] tune[lr=2e-1,l2=0] tune[lr=2e-1,l2=0.001] train");
	n = &g->nodes[4];
	ck_assert_str_eq(n->name, "tune[lr=0.05,l2=0.001]");
	ck_assert_str_eq(nf_node_instance(n), "lr-0.05_l2-0.001");
	ck_assert_ptr_eq(nf_node_matrix(n)[0], &nf_more(tune)->matrix[0].values[1]);
	ck_assert_ptr_eq(nf_node_matrix(n)[1], &nf_more(tune)->matrix[1].values[1]);
	ck_assert_str_eq(nf_node_instance(&g->nodes[5]), "lr-2e-1_l2-0");
	ck_assert_ptr_eq(nf_graph_find(g, "tune[lr=0.05,l2=0.001]"), n);
	ck_assert_ptr_null(nf_graph_find(g, "tune"));   /* six nodes: no single one */
	/* needing a matrix stage is needing every instance of it */
	ck_assert_uint_eq(g->nodes[7].ndeps, 6);
	for (size_t k = 0; k < 6; k++)
		ck_assert_uint_eq(g->nodes[7].deps[k], 1 + k);
	ck_assert_uint_eq(n->ndeps, 1);
	ck_assert_uint_eq(n->nusers, 1);
	ck_assert_uint_eq(g->nodes[0].nusers, 6);
	free(order);
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

START_TEST(test_matrix_single_and_kinds)
{
	nf_dag *d = tdag_new(4);
	nf_stage *s;
	nf_graph *g;

	s = tstage(d, NF_STAGE, "one", "");
	taxis(d, s, "model", "s:xgb");
	taxis(d, s, "fast", "true");
	s = tstage(d, NF_STAGE, "empty", "");
	taxis(d, s, "x", "");
	g = build_ok(d);
	ck_assert_uint_eq(g->nnodes, 1);
	ck_assert_str_eq(g->nodes[0].name, "one[model=xgb,fast=true]");
	ck_assert_str_eq(nf_node_instance(&g->nodes[0]), "model-xgb_fast-true");
	ck_assert_ptr_eq(nf_graph_find(g, "one"), &g->nodes[0]);
	ck_assert_uint_eq(g->stage_count[1], 0);
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

/* The expected hashed id: 10 hex digits of SHA-256 over the canonical text. */
static void
expect_hash(const char *got, const char *canon)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;
	char hex[11];

	ck_assert(EVP_Digest(canon, strlen(canon), md, &len, EVP_sha256(), NULL));
	for (int i = 0; i < 5; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ck_assert_str_eq(got, hex);
}

START_TEST(test_instance_ids)
{
	nf_dag *d = tdag_new(4);
	nf_stage *s;
	nf_graph *g;

	s = tstage(d, NF_STAGE, "a", "");
	taxis(d, s, "p", "s:x/y z,s:x_y_z,s:ok");   /* the first two collide once made safe */
	s = tstage(d, NF_STAGE, "b", "");
	taxis(d, s, "path", "s:data/a-very-long-file-name-for-this.csv,s:short.csv");
	s = tstage(d, NF_STAGE, "c", "");
	taxis(d, s, "v", "s:1,1");                   /* a string and a number that read alike */
	g = build_ok(d);
	expect_hash(nf_node_instance(&g->nodes[0]), "p=s:x/y z\n");
	expect_hash(nf_node_instance(&g->nodes[1]), "p=s:x_y_z\n");
	ck_assert_str_ne(nf_node_instance(&g->nodes[0]), nf_node_instance(&g->nodes[1]));
	ck_assert_str_eq(nf_node_instance(&g->nodes[2]), "p-ok");
	expect_hash(nf_node_instance(&g->nodes[3]), "path=s:data/a-very-long-file-name-for-this.csv\n");
	ck_assert_str_eq(nf_node_instance(&g->nodes[4]), "path-short.csv");
	expect_hash(nf_node_instance(&g->nodes[5]), "v=s:1\n");
	expect_hash(nf_node_instance(&g->nodes[6]), "v=n:1\n");
	ck_assert_str_eq(g->nodes[0].name, "a[p=x/y z]");
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

START_TEST(test_matrix_too_big)
{
	nf_dag *d = tdag_new(2);
	nf_stage *s;
	char *msg;
	nf_buf vals = NF_BUF_INIT;
	int line;

	for (int i = 0; i < 101; i++)
		nf_buf_printf(&vals, "%s%d", i ? "," : "", i);
	s = tstage(d, NF_STAGE, "x", "");
	taxis(d, s, "a", nf_buf_cstr(&vals));
	taxis(d, s, "b", nf_buf_cstr(&vals));
	msg = build_error(d, NF_EINVALID, &line);
	ck_assert_str_eq(msg, "the matrix of stage \"x\" has more than 10000 combinations");
	ck_assert_int_eq(line, 1);
	free(msg);
	nf_buf_release(&vals);
	tdag_free(d);
}
END_TEST

START_TEST(test_cycles)
{
	nf_dag *d = tdag_new(8);
	char *msg;
	int line;

	tstage(d, NF_STAGE, "start", "");
	tstage(d, NF_STAGE, "tail", "b");     /* hangs off the cycle */
	tstage(d, NF_STAGE, "c", "b");
	tstage(d, NF_STAGE, "a", "c,start");
	tstage(d, NF_STAGE, "b", "a");
	msg = build_error(d, NF_ECYCLE, &line);
	ck_assert_str_eq(msg, "dependency cycle: c -> b -> a -> c");
	ck_assert_int_eq(line, 3);
	free(msg);
	tdag_free(d);

	d = tdag_new(2);
	tstage(d, NF_STAGE, "ok", "");
	tstage(d, NF_STAGE, "self", "ok,self");
	msg = build_error(d, NF_ECYCLE, &line);
	ck_assert_str_eq(msg, "dependency cycle: self -> self");
	ck_assert_int_eq(line, 2);
	free(msg);
	tdag_free(d);
}
END_TEST

START_TEST(test_cycle_through_matrix)
{
	nf_dag *d = tdag_new(2);
	nf_stage *s;
	char *msg;
	int line;

	s = tstage(d, NF_STAGE, "tune", "train");
	taxis(d, s, "lr", "1,2");
	tstage(d, NF_STAGE, "train", "tune");
	msg = build_error(d, NF_ECYCLE, &line);
	ck_assert_str_eq(msg, "dependency cycle: tune -> train -> tune");
	free(msg);
	tdag_free(d);
}
END_TEST

#define CHAIN 100000

/* s0 <- s1 <- ... <- s99999, optionally closed into a ring by s0 needing the last one. */
static nf_dag *
chain(bool ring)
{
	nf_dag *d = tdag_new(CHAIN);
	char name[32], need[32];

	for (int i = 0; i < CHAIN; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		snprintf(need, sizeof(need), "s%d", i ? i - 1 : CHAIN - 1);
		tstage(d, NF_STAGE, name, i || ring ? need : "");
	}
	return d;
}

START_TEST(test_deep_chain)
{
	nf_dag *d = chain(false);
	nf_graph *g = build_ok(d);

	ck_assert_uint_eq(g->nnodes, CHAIN);
	for (size_t i = 0; i < CHAIN; i++) {
		ck_assert_uint_eq(g->order[i], i);
		ck_assert_int_eq(g->nodes[i].crit, (int64_t)(CHAIN - i));
	}
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

START_TEST(test_deep_cycle)
{
	nf_dag *d = chain(true);
	char *msg;
	int line;

	msg = build_error(d, NF_ECYCLE, &line);
	ck_assert_int_eq(line, 1);
	/* the ends of the cycle, its middle elided */
	ck_assert_str_eq(msg, "dependency cycle: s0 -> s99999 -> s99998 -> s99997 -> s99996 -> s99995 -> "
			 "s99994 -> s99993 -> s99992 -> s99991 -> ... (99981 more) -> s9 -> s8 -> s7 -> "
			 "s6 -> s5 -> s4 -> s3 -> s2 -> s1 -> s0");
	free(msg);
	tdag_free(d);
}
END_TEST

START_TEST(test_crit)
{
	nf_dag *d = tdag_new(8);
	nf_stage *s;
	nf_graph *g;

	/* a -> b(4 cpus) -> d ; a -> c -> d ; a -> m[2 instances] ; e alone */
	tstage(d, NF_STAGE, "a", "");
	s = tstage(d, NF_STAGE, "b", "a");
	s->opts->cpus = 4;
	tstage(d, NF_STAGE, "c", "a");
	tstage(d, NF_GATE, "d", "b,c");
	s = tstage(d, NF_STAGE, "m", "a");
	taxis(d, s, "k", "1,2");
	s->opts->cpus = 2;
	s = tstage(d, NF_STAGE, "e", "");
	s->opts->cpus = 0;   /* unset counts as one */
	g = build_ok(d);
	ck_assert_int_eq(nf_graph_find(g, "d")->crit, 1);
	ck_assert_int_eq(nf_graph_find(g, "b")->crit, 5);
	ck_assert_int_eq(nf_graph_find(g, "c")->crit, 2);
	ck_assert_int_eq(nf_graph_find(g, "a")->crit, 6);
	ck_assert_int_eq(nf_graph_find(g, "m[k=2]")->crit, 2);
	ck_assert_int_eq(nf_graph_find(g, "e")->crit, 1);
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

/* A small pipeline with a matrix, a gate and a monitor, as the format tests draw it. */
static nf_dag *
small(void)
{
	nf_dag *d = tdag_new(8);
	nf_stage *s;

	d->has_pipeline = true;
	d->pipeline.name = "demo";
	tstage(d, NF_STAGE, "prep", "");
	s = tstage(d, NF_STAGE, "tune", "prep");
	taxis(d, s, "lr", "0.1,0.2");
	taxis(d, s, "opt", "s:a\"b");
	tstage(d, NF_STAGE, "train", "tune,prep");
	tstage(d, NF_GATE, "promote", "train");
	tstage(d, NF_MONITOR, "drift", "prep");
	return d;
}

START_TEST(test_write_text)
{
	nf_dag *d = small();
	nf_graph *g = build_ok(d);
	nf_buf b = NF_BUF_INIT;

	ck_assert_int_eq(nf_graph_write(&b, g, "text"), 0);
	ck_assert_str_eq(nf_buf_cstr(&b),
		"demo: 5 stages, 6 nodes in topological order; crit is the critical path in cpus\n"
		"\n"
		"prep  [stage, crit 4]\n"
		"\n"
		"tune  [stage, matrix of 2, crit 3]\n"
		"  needs: prep\n"
		"  - tune[lr=0.1,opt=\"a\\\"b\"]  id lr-0.1_opt-a_b\n"
		"  - tune[lr=0.2,opt=\"a\\\"b\"]  id lr-0.2_opt-a_b\n"
		"\n"
		"drift  [monitor, crit 1]\n"
		"  needs: prep\n"
		"\n"
		"train  [stage, crit 2]\n"
		"  needs: tune (2 instances), prep\n"
		"\n"
		"promote  [gate, crit 1]\n"
		"  needs: train\n");
	nf_buf_reset(&b);
	ck_assert_int_eq(nf_graph_write(&b, g, NULL), 0);   /* text is the default */
	ck_assert(!strncmp(nf_buf_cstr(&b), "demo: ", 6));
	ck_assert_int_eq(nf_graph_write(&b, g, "svg"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "unknown graph format 'svg' (text, dot or json)");
	nf_buf_release(&b);
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

START_TEST(test_write_dot)
{
	nf_dag *d = small();
	nf_graph *g = build_ok(d);
	nf_buf b = NF_BUF_INIT;

	ck_assert_int_eq(nf_graph_write(&b, g, "dot"), 0);
	ck_assert_str_eq(nf_buf_cstr(&b),
		"digraph \"demo\" {\n"
		"\trankdir=LR;\n"
		"\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
		"\tn0 [label=\"prep\"];\n"
		"\tsubgraph cluster_1 {\n"
		"\t\tlabel=\"tune\";\n"
		"\t\tstyle=dashed;\n"
		"\t\tn1 [label=\"lr=0.1,opt=\\\"a\\\\\\\"b\\\"\"];\n"
		"\t\tn2 [label=\"lr=0.2,opt=\\\"a\\\\\\\"b\\\"\"];\n"
		"\t}\n"
		"\tn3 [label=\"train\"];\n"
		"\tn4 [label=\"promote\", shape=diamond, style=\"\"];\n"
		"\tn5 [label=\"drift\", shape=hexagon, style=\"\"];\n"
		"\tn0 -> n1;\n"
		"\tn0 -> n2;\n"
		"\tn1 -> n3;\n"
		"\tn2 -> n3;\n"
		"\tn0 -> n3;\n"
		"\tn3 -> n4;\n"
		"\tn0 -> n5;\n"
		"}\n");
	nf_buf_release(&b);
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

START_TEST(test_write_json)
{
	nf_dag *d = small();
	nf_graph *g = build_ok(d);
	nf_buf b = NF_BUF_INIT;
	cJSON *root, *nodes, *n, *order;

	ck_assert_int_eq(nf_graph_write(&b, g, "json"), 0);
	root = cJSON_Parse(nf_buf_cstr(&b));
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "pipeline")->valuestring, "demo");
	nodes = cJSON_GetObjectItem(root, "nodes");
	ck_assert_int_eq(cJSON_GetArraySize(nodes), 6);
	n = cJSON_GetArrayItem(nodes, 2);
	ck_assert_str_eq(cJSON_GetObjectItem(n, "name")->valuestring, "tune[lr=0.2,opt=\"a\\\"b\"]");
	ck_assert_str_eq(cJSON_GetObjectItem(n, "stage")->valuestring, "tune");
	ck_assert_str_eq(cJSON_GetObjectItem(n, "kind")->valuestring, "stage");
	ck_assert_str_eq(cJSON_GetObjectItem(n, "instance")->valuestring, "lr-0.2_opt-a_b");
	ck_assert_double_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(n, "matrix"), "lr")->valuedouble, 0.2);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(n, "matrix"), "opt")->valuestring, "a\"b");
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(n, "deps"), 0)->valuestring, "prep");
	ck_assert_double_eq(cJSON_GetObjectItem(n, "crit")->valuedouble, 3);
	n = cJSON_GetArrayItem(nodes, 4);
	ck_assert_str_eq(cJSON_GetObjectItem(n, "kind")->valuestring, "gate");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(n, "instance")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(n, "matrix")));
	order = cJSON_GetObjectItem(root, "order");
	ck_assert_int_eq(cJSON_GetArraySize(order), 6);
	ck_assert_str_eq(cJSON_GetArrayItem(order, 3)->valuestring, "drift");
	cJSON_Delete(root);
	nf_buf_release(&b);
	nf_graph_free(g);
	tdag_free(d);
}
END_TEST

/* A graph from .dag text (parse, validate, build): the graph, or NULL with *msgs set. */
static nf_graph *
load_text(const char *src, nf_dag **dag, char **msgs)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_graph *g = NULL;
	nf_buf b = NF_BUF_INIT;

	nf_graph_load_buffer(dag, &g, "t.dag", src, strlen(src), &diags);
	for (size_t i = 0; i < diags.n; i++)
		nf_buf_printf(&b, "%d:%d: %s\n", diags.items[i].line, diags.items[i].col, diags.items[i].msg);
	*msgs = nf_buf_detach(&b);
	nf_diag_list_release(&diags);
	return g;
}

/* Once the graph is built a run drops the needs lists (nf_dag_drop_needs): every stage's
 * is gone, the other lists of names (secret_env) stay, and the graph keeps its edges, its
 * order and its text. */
START_TEST(test_drop_needs)
{
	nf_dag *dag;
	char *msgs;
	nf_graph *g = load_text("stage \"a\" {\n"
				"  run        = \"x\"\n"
				"  secret_env = [\"TOKEN\"]\n"
				"}\n"
				"stage \"b\" {\n"
				"  needs = [\"a\"]\n"
				"  run   = \"y\"\n"
				"}\n"
				"stage \"c\" {\n"
				"  needs = [\"a\", \"b\"]\n"
				"  run   = \"z\"\n"
				"}\n", &dag, &msgs);
	nf_buf before = NF_BUF_INIT, after = NF_BUF_INIT;
	const nf_node *c;

	ck_assert_msg(g != NULL, "%s", msgs);
	ck_assert_ptr_nonnull(dag->needs_arena);
	ck_assert_uint_eq(dag->stages[2].nneeds, 2);
	ck_assert_int_eq(nf_graph_write(&before, g, "text"), 0);
	nf_dag_drop_needs(dag);
	for (size_t i = 0; i < dag->nstages; i++) {
		ck_assert_uint_eq(dag->stages[i].nneeds, 0);
		ck_assert_ptr_null(dag->stages[i].needs);
	}
	ck_assert_ptr_null(dag->needs_arena);
	ck_assert_uint_eq(dag->stages[0].opts->nsecret_env, 1);
	ck_assert_str_eq(dag->stages[0].opts->secret_env[0].name, "TOKEN");
	ck_assert_ptr_nonnull(c = nf_graph_find(g, "c"));
	ck_assert_uint_eq(c->ndeps, 2);
	ck_assert_int_eq(nf_graph_write(&after, g, "text"), 0);
	ck_assert_str_eq(nf_buf_cstr(&after), nf_buf_cstr(&before));
	nf_buf_release(&before);
	nf_buf_release(&after);
	nf_graph_free(g);
	nf_dag_free(dag);
	free(msgs);
}
END_TEST

/* foreach instances are nodes STAGE@KEY; needs of one instance makes an edge from it
 * alone, and only that instance counts the user among its users. */
START_TEST(test_foreach)
{
	nf_dag *dag;
	char *msgs;
	nf_graph *g = load_text("stage \"t\" {\n"
				"  foreach = [\"us\", \"eu\", \"asia\"]\n"
				"  run     = \"x ${item}\"\n"
				"}\n"
				"stage \"one\" {\n"
				"  needs = [\"t@eu\"]\n"
				"  run   = \"y\"\n"
				"}\n"
				"stage \"all\" {\n"
				"  needs = [\"t\", \"t@us\"]\n"
				"  run   = \"z\"\n"
				"}\n", &dag, &msgs);
	const nf_node *us, *eu, *asia, *one, *all;
	nf_buf b = NF_BUF_INIT;

	ck_assert_msg(g != NULL, "%s", msgs);
	ck_assert_uint_eq(g->nnodes, 5);
	us = nf_graph_find(g, "t@us");
	eu = nf_graph_find(g, "t@eu");
	asia = nf_graph_find(g, "t@asia");
	one = nf_graph_find(g, "one");
	all = nf_graph_find(g, "all");
	ck_assert(us && eu && asia && one && all);
	ck_assert_ptr_null(nf_graph_find(g, "t"));
	ck_assert_str_eq(nf_node_instance(eu), "eu");
	ck_assert_str_eq(nf_node_item(eu)->key, "eu");
	ck_assert_ptr_null(nf_node_matrix(eu));
	ck_assert_uint_eq(one->ndeps, 1);
	ck_assert_uint_eq(one->deps[0], eu->id);
	ck_assert_uint_eq(all->ndeps, 3);   /* "t" covers "t@us": one edge each */
	ck_assert_uint_eq(us->nusers, 1);
	ck_assert_uint_eq(us->users[0], all->id);
	ck_assert_uint_eq(eu->nusers, 2);
	ck_assert_uint_eq(asia->nusers, 1);
	ck_assert_int_eq(nf_graph_write(&b, g, "text"), 0);
	ck_assert_str_eq(nf_buf_cstr(&b),
		"t.dag: 3 stages, 5 nodes in topological order; crit is the critical path in cpus\n"
		"\n"
		"t  [stage, foreach of 3, crit 2]\n"
		"  - t@us  id us\n"
		"  - t@eu  id eu\n"
		"  - t@asia  id asia\n"
		"\n"
		"one  [stage, crit 1]\n"
		"  needs: t@eu\n"
		"\n"
		"all  [stage, crit 1]\n"
		"  needs: t (3 instances)\n");
	nf_buf_reset(&b);
	ck_assert_int_eq(nf_graph_write(&b, g, "dot"), 0);
	ck_assert(strstr(nf_buf_cstr(&b), "\t\tn1 [label=\"eu\"];\n"));
	nf_buf_release(&b);
	free(msgs);
	nf_graph_free(g);
	nf_dag_free(dag);
}
END_TEST

/* A named instance may hold a '.' ("v1.2"), as a foreach element may; a leading '.' or
 * '-' is refused at the block, with no other error after it. */
START_TEST(test_foreach_instance_names)
{
	nf_dag *dag;
	char *msgs;
	nf_graph *g = load_text("stage \"f\" {\n"
				"  foreach {\n"
				"    instance \"v1.2\" {\n"
				"      a = \"x\"\n"
				"    }\n"
				"  }\n"
				"  run = \"echo ${item.a}\"\n"
				"}\n"
				"stage \"g\" {\n"
				"  foreach = [\"v1.2\", 3.5]\n"
				"  run     = \"echo ${item}\"\n"
				"}\n", &dag, &msgs);

	ck_assert_msg(g != NULL, "%s", msgs);
	ck_assert_ptr_nonnull(nf_graph_find(g, "f@v1.2"));
	ck_assert_ptr_nonnull(nf_graph_find(g, "g@v1.2"));
	ck_assert_ptr_nonnull(nf_graph_find(g, "g@3.5"));
	free(msgs);
	nf_graph_free(g);
	nf_dag_free(dag);
	g = load_text("stage \"f\" {\n"
		      "  foreach {\n"
		      "    instance \".hidden\" {\n"
		      "      a = \"x\"\n"
		      "    }\n"
		      "  }\n"
		      "  run = \"echo\"\n"
		      "}\n", &dag, &msgs);
	ck_assert_ptr_null(g);
	ck_assert_msg(strstr(msgs, "instance \".hidden\" cannot be named so: use letters, digits, '_', '-' and '.', "
			      "starting with a letter, digit or '_' (at most 64)") != NULL, "%s", msgs);
	free(msgs);
	nf_dag_free(dag);
}
END_TEST

/* Edges inferred from files: an output read as it is, inside an output folder, a folder
 * holding outputs, a templated path by its folder; never from what cannot be matched. */
START_TEST(test_inferred_edges)
{
	nf_dag *dag;
	char *msgs;
	nf_graph *g = load_text("stage \"prep\" {\n"
				"  run     = \"p\"\n"
				"  outputs = [\"build/prep/\", \"data/${run.week}.csv\"]\n"
				"}\n"
				"stage \"tune\" {\n"
				"  matrix {\n"
				"    lr = [1, 2]\n"
				"  }\n"
				"  run     = \"t\"\n"
				"  inputs  = [\"./build//prep/train.csv\"]\n"
				"  outputs = [\"build/tune/${matrix.id}/\"]\n"
				"}\n"
				"stage \"pick\" {\n"
				"  run     = \"k\"\n"
				"  inputs  = [\"build/tune\", \"data/${run.week}.csv\"]\n"
				"}\n"
				"stage \"guess\" {\n"
				"  run     = \"g\"\n"
				"  inputs  = [\"build/tune/lr-1/m.json\", \"data/2026-W01.csv\", \"build/prepared\"]\n"
				"}\n"
				"stage \"sub\" {\n"
				"  matrix {\n"
				"    lr = [1, 2]\n"
				"  }\n"
				"  run     = \"s\"\n"
				"  inputs  = [\"build/prep/${matrix.id}/x\"]\n"
				"}\n"
				"stage \"all\" {\n"
				"  needs  = [\"prep\"]\n"
				"  run    = \"a\"\n"
				"  inputs = [\"build\"]\n"
				"}\n", &dag, &msgs);
	nf_buf b = NF_BUF_INIT;
	cJSON *root, *n;

	ck_assert_msg(g != NULL, "%s", msgs);
	ck_assert_int_eq(nf_graph_write(&b, g, "text"), 0);
	ck_assert_str_eq(nf_buf_cstr(&b),
		"t.dag: 6 stages, 8 nodes in topological order; crit is the critical path in cpus\n"
		"\n"
		"prep  [stage, crit 3]\n"
		"\n"
		"guess  [stage, crit 1]\n"
		"\n"
		"tune  [stage, matrix of 2, crit 2]\n"
		"  needs: prep (inferred)\n"
		"  - tune[lr=1]  id lr-1\n"
		"  - tune[lr=2]  id lr-2\n"
		"\n"
		"sub  [stage, matrix of 2, crit 1]\n"
		"  needs: prep (inferred)\n"
		"  - sub[lr=1]  id lr-1\n"
		"  - sub[lr=2]  id lr-2\n"
		"\n"
		"pick  [stage, crit 1]\n"
		"  needs: tune (2 instances) (inferred), prep (inferred)\n"
		"\n"
		"all  [stage, crit 1]\n"
		"  needs: prep, tune (2 instances) (inferred)\n");
	nf_buf_reset(&b);
	ck_assert_int_eq(nf_graph_write(&b, g, "dot"), 0);
	ck_assert(strstr(nf_buf_cstr(&b), "\tn0 -> n1 [style=dashed];\n"));
	nf_buf_reset(&b);
	ck_assert_int_eq(nf_graph_write(&b, g, "json"), 0);
	root = cJSON_Parse(nf_buf_cstr(&b));
	n = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "nodes"), 7);
	ck_assert_str_eq(cJSON_GetObjectItem(n, "name")->valuestring, "all");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(n, "deps")), 3);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(n, "inferred")), 2);
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(n, "inferred"), 0)->valuestring, "tune[lr=1]");
	cJSON_Delete(root);
	nf_buf_release(&b);
	free(msgs);
	nf_graph_free(g);
	nf_dag_free(dag);
}
END_TEST

/* A cycle made by inferred edges is a cycle, with a note at each input that makes one. */
START_TEST(test_inferred_cycle)
{
	nf_dag *dag;
	char *msgs;
	nf_graph *g = load_text("stage \"a\" {\n"
				"  run     = \"x\"\n"
				"  inputs  = [\"b.txt\"]\n"
				"  outputs = [\"a.txt\"]\n"
				"}\n"
				"stage \"b\" {\n"
				"  needs   = [\"a\"]\n"
				"  run     = \"y\"\n"
				"  outputs = [\"b.txt\"]\n"
				"}\n", &dag, &msgs);

	ck_assert_ptr_null(g);
	ck_assert_str_eq(msgs,
		"1:1: dependency cycle: a -> b -> a\n"
		"3:14: stage \"a\" needs \"b\" through this input (\"b.txt\"), inferred from the outputs of \"b\"\n");
	free(msgs);
}
END_TEST

static Suite *
graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_topo_order);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_foreach_instance_names);
	tcase_add_test(tc, test_inferred_edges);
	tcase_add_test(tc, test_inferred_cycle);
	tcase_add_test(tc, test_matrix_expansion);
	tcase_add_test(tc, test_matrix_single_and_kinds);
	tcase_add_test(tc, test_instance_ids);
	tcase_add_test(tc, test_matrix_too_big);
	tcase_add_test(tc, test_cycles);
	tcase_add_test(tc, test_cycle_through_matrix);
	tcase_add_test(tc, test_deep_chain);
	tcase_add_test(tc, test_deep_cycle);
	tcase_add_test(tc, test_crit);
	tcase_add_test(tc, test_write_text);
	tcase_add_test(tc, test_drop_needs);
	tcase_add_test(tc, test_write_dot);
	tcase_add_test(tc, test_write_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(graph_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
