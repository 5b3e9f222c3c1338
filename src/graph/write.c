/* write.c: the run graph for people (an indented listing), for Graphviz (dot) and for
 * programs (JSON), as printed by `ntflow graph`. */
#include "config.h"
#include "ntflow/graph.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *
graph_title(const nf_graph *g)
{
	return g->dag->has_pipeline && g->dag->pipeline.name ? g->dag->pipeline.name : g->dag->path;
}

/* "needs: a, tune (6 instances), train@us, prep (inferred)": the deps of a node grouped
 * back into stages (the deps of a node are the instances of each needed stage,
 * consecutive); an edge inferred from files says so. */
static void
text_needs(nf_buf *out, const nf_graph *g, const nf_node *nd)
{
	size_t k = 0;

	if (!nd->ndeps)
		return;
	nf_buf_puts(out, "  needs: ");
	while (k < nd->ndeps) {
		const nf_node *d = &g->nodes[nd->deps[k]];
		size_t run = 1;

		while (k + run < nd->ndeps && g->nodes[nd->deps[k + run]].stage == d->stage)
			run++;
		if (nf_node_instance(d) && run == 1 && nf_node_item(d))
			nf_buf_printf(out, "%s%s", k ? ", " : "", d->name);
		else
			nf_buf_printf(out, "%s%s", k ? ", " : "", d->stage->name);
		if (nf_node_instance(d) && run > 1)
			nf_buf_printf(out, " (%zu instances)", run);
		if (nf_node_dep_inferred(nd, k))
			nf_buf_puts(out, " (inferred)");
		k += run;
	}
	nf_buf_putc(out, '\n');
}

static void
write_text(nf_buf *out, const nf_graph *g)
{
	nf_buf_printf(out, "%s: %zu stage%s, %zu node%s in topological order; crit is the critical path in cpus\n",
		      graph_title(g), g->dag->nstages, g->dag->nstages == 1 ? "" : "s",
		      g->nnodes, g->nnodes == 1 ? "" : "s");
	for (size_t i = 0; i < g->nnodes; i++) {
		const nf_node *nd = &g->nodes[g->order[i]];
		const nf_stage *s = nd->stage;
		size_t count = g->stage_count[s->index];

		if (nd->id == g->stage_first[s->index]) {
			nf_buf_printf(out, "\n%s  [%s", s->name, nf_stage_kind_name(s->kind));
			if (nf_more(s)->nmatrix)
				nf_buf_printf(out, ", matrix of %zu", count);
			else if (nf_more(s)->nforeach)
				nf_buf_printf(out, ", foreach of %zu", count);
			nf_buf_printf(out, ", crit %lld]\n", (long long)nd->crit);
			text_needs(out, g, nd);
		}
		if (nf_node_instance(nd))
			nf_buf_printf(out, "  - %s  id %s\n", nd->name, nf_node_instance(nd));
	}
}

/* A dot string literal; labels take \n as a line break, so backslashes are doubled. */
static void
dot_string(nf_buf *out, const char *s)
{
	nf_buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			nf_buf_putc(out, '\\');
		if ((unsigned char)*s < 0x20)
			nf_buf_putc(out, ' ');
		else
			nf_buf_putc(out, *s);
	}
	nf_buf_putc(out, '"');
}

static void
dot_node(nf_buf *out, const nf_node *nd, const char *indent)
{
	nf_buf_printf(out, "%sn%zu [label=", indent, (size_t)nd->id);
	if (nf_node_item(nd)) {
		dot_string(out, nf_node_instance(nd));   /* inside its stage's cluster, the key says enough */
	} else if (nf_node_instance(nd)) {
		/* inside its stage's cluster the values say enough: "lr=0.05,l2=0" */
		size_t skip = strlen(nd->stage->name) + 1;
		char *values = xstrndup(nd->name + skip, strlen(nd->name) - skip - 1);
		dot_string(out, values);
		free(values);
	} else {
		dot_string(out, nd->name);
	}
	if (nd->stage->kind == NF_GATE)
		nf_buf_puts(out, ", shape=diamond, style=\"\"");
	else if (nd->stage->kind == NF_MONITOR)
		nf_buf_puts(out, ", shape=hexagon, style=\"\"");
	nf_buf_puts(out, "];\n");
}

static void
write_dot(nf_buf *out, const nf_graph *g)
{
	const nf_dag *dag = g->dag;

	nf_buf_puts(out, "digraph ");
	dot_string(out, graph_title(g));
	nf_buf_puts(out, " {\n\trankdir=LR;\n\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
	for (size_t s = 0; s < dag->nstages; s++) {
		const nf_stage *st = &dag->stages[s];
		size_t first = g->stage_first[s], count = g->stage_count[s];

		if (!nf_more(st)->nmatrix && !nf_more(st)->nforeach) {
			for (size_t c = 0; c < count; c++)
				dot_node(out, &g->nodes[first + c], "\t");
			continue;
		}
		nf_buf_printf(out, "\tsubgraph cluster_%zu {\n\t\tlabel=", s);
		dot_string(out, st->name);
		nf_buf_puts(out, ";\n\t\tstyle=dashed;\n");
		for (size_t c = 0; c < count; c++)
			dot_node(out, &g->nodes[first + c], "\t\t");
		nf_buf_puts(out, "\t}\n");
	}
	for (size_t i = 0; i < g->nnodes; i++) {
		const nf_node *nd = &g->nodes[i];
		for (size_t k = 0; k < nd->ndeps; k++)   /* inferred from files: dashed */
			nf_buf_printf(out, "\tn%zu -> n%zu%s;\n", (size_t)nd->deps[k], (size_t)nd->id,
				      nf_node_dep_inferred(nd, k) ? " [style=dashed]" : "");
	}
	nf_buf_puts(out, "}\n");
}

static cJSON *
json_value(const nf_value *v)
{
	const char *text;

	switch (v->kind) {
	case NF_V_NUMBER:
		return cJSON_CreateNumber(v->num);
	case NF_V_BOOL:
		return cJSON_CreateBool(v->boolean);
	default:
		text = nf_tmpl_literal(&v->str);
		return cJSON_CreateString(text ? text : "");
	}
}

static int
write_json(nf_buf *out, const nf_graph *g)
{
	cJSON *root = cJSON_CreateObject(), *nodes, *order;
	char *text;

	if (!root)
		return nf_error_set(NF_ERROR, "out of memory building JSON");
	cJSON_AddStringToObject(root, "pipeline", graph_title(g));
	nodes = cJSON_AddArrayToObject(root, "nodes");
	for (size_t i = 0; i < g->nnodes; i++) {
		const nf_node *nd = &g->nodes[i];
		cJSON *o = cJSON_CreateObject(), *deps, *inferred;

		cJSON_AddItemToArray(nodes, o);
		cJSON_AddStringToObject(o, "name", nd->name);
		cJSON_AddStringToObject(o, "stage", nd->stage->name);
		cJSON_AddStringToObject(o, "kind", nf_stage_kind_name(nd->stage->kind));
		if (nf_node_item(nd)) {
			cJSON *it;

			cJSON_AddStringToObject(o, "instance", nf_node_instance(nd));
			cJSON_AddNullToObject(o, "matrix");
			if (nf_more(nd->stage)->foreach_named) {
				it = cJSON_AddObjectToObject(o, "item");
				for (size_t k = 0; k < nf_node_item(nd)->nfields; k++)
					cJSON_AddItemToObject(it, nf_node_item(nd)->fields[k].key, json_value(&nf_node_item(nd)->fields[k].value));
			} else {
				cJSON_AddItemToObject(o, "item", json_value(&nf_node_item(nd)->value));
			}
		} else if (nf_node_instance(nd)) {
			cJSON *m = cJSON_AddObjectToObject(o, "matrix");
			cJSON_AddStringToObject(o, "instance", nf_node_instance(nd));
			for (size_t k = 0; k < nf_more(nd->stage)->nmatrix; k++)
				cJSON_AddItemToObject(m, nf_more(nd->stage)->matrix[k].name, json_value(nf_node_matrix(nd)[k]));
		} else {
			cJSON_AddNullToObject(o, "instance");
			cJSON_AddNullToObject(o, "matrix");
		}
		deps = cJSON_AddArrayToObject(o, "deps");
		for (size_t k = 0; k < nd->ndeps; k++)
			cJSON_AddItemToArray(deps, cJSON_CreateString(g->nodes[nd->deps[k]].name));
		/* the deps inferred from files rather than written in needs */
		inferred = cJSON_AddArrayToObject(o, "inferred");
		for (size_t k = 0; k < nd->ndeps; k++)
			if (nf_node_dep_inferred(nd, k))
				cJSON_AddItemToArray(inferred, cJSON_CreateString(g->nodes[nd->deps[k]].name));
		cJSON_AddNumberToObject(o, "crit", (double)nd->crit);
	}
	order = cJSON_AddArrayToObject(root, "order");
	for (size_t i = 0; i < g->nnodes; i++)
		cJSON_AddItemToArray(order, cJSON_CreateString(g->nodes[g->order[i]].name));
	text = nf_json_print(root, true);
	cJSON_Delete(root);
	nf_buf_puts(out, text);
	nf_buf_putc(out, '\n');
	free(text);
	return 0;
}

int
nf_graph_write(nf_buf *out, const nf_graph *g, const char *format)
{
	if (!format || !strcmp(format, "text")) {
		write_text(out, g);
		return 0;
	}
	if (!strcmp(format, "dot")) {
		write_dot(out, g);
		return 0;
	}
	if (!strcmp(format, "json"))
		return write_json(out, g);
	return nf_error_set(NF_EINVALID, "unknown graph format '%s' (text, dot or json)", format);
}
