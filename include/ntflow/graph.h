/* graph.h: the run graph of a pipeline: one node per stage, gate, monitor and matrix or
 * foreach instance, edges from `needs` and inferred from files (an input that is another
 * stage's output), topological order and each node's critical-path length. */
#ifndef NTFLOW_GRAPH_H
#define NTFLOW_GRAPH_H

#include "ntflow/dag.h"

/* Node ids are uint32_t: a graph has at most a few million nodes, and the edge lists
 * (three or so ids a node, each way) are half of what a large graph holds. */
/* What only some nodes have: a matrix or foreach instance's identity, edges inferred from
 * files. Out of line, as most nodes have none (32 bytes a node at 100 000 nodes). */
typedef struct nf_node_more {
	const char *instance;          /* matrix.id: stable, short, path-safe ("lr-0.05_l2-0"); NULL when no matrix */
	const nf_value **matrix;       /* per axis of stage->matrix, the chosen value; NULL when no matrix */
	const nf_foreach_item *item;   /* a foreach instance ("train@us": instance is its key); else NULL */
	const unsigned char *dep_inferred; /* per dep, 1 when inferred from files, not needs; NULL: none is */
} nf_node_more;

typedef struct nf_node {
	nf_stage *stage;               /* borrowed from the dag */
	const char *name;              /* "train", or "tune[lr=0.05,l2=0]" for a matrix instance */
	const nf_node_more *more;      /* NULL: none of those (read through the accessors below) */
	uint32_t *deps;                /* nodes this one needs */
	uint32_t *users;               /* nodes that need this one */
	int64_t crit;                  /* longest path to a sink, counted in cpus of the nodes on it */
	uint32_t id;                   /* index in nf_graph.nodes */
	uint32_t ndeps;
	uint32_t nusers;
} nf_node;

static inline const char *
nf_node_instance(const nf_node *n)
{
	return n->more ? n->more->instance : NULL;
}

static inline const nf_value **
nf_node_matrix(const nf_node *n)
{
	return n->more ? n->more->matrix : NULL;
}

static inline const nf_foreach_item *
nf_node_item(const nf_node *n)
{
	return n->more ? n->more->item : NULL;
}

/* Whether n's k-th dep was inferred from files rather than written in needs. */
static inline bool
nf_node_dep_inferred(const nf_node *n, size_t k)
{
	return n->more && n->more->dep_inferred && n->more->dep_inferred[k];
}

typedef struct nf_graph {
	const nf_dag *dag;             /* borrowed */
	nf_arena *arena;
	nf_node *nodes;
	size_t nnodes;
	uint32_t *order;               /* node ids in a topological order (file order where free) */
	uint32_t *stage_first;         /* per dag stage index: its first node id */
	uint32_t *stage_count;         /* per dag stage index: its number of nodes (matrix size) */
} nf_graph;

/* Expands matrices and foreach, resolves needs, infers edges from files, orders topologically and computes crit. A cycle is
 * reported to diags as "dependency cycle: a -> b -> c -> a" at the first stage's location.
 * Returns 0, NF_ECYCLE, or NF_EINVALID. */
int nf_graph_build(nf_graph **out, const nf_dag *dag, nf_diag_list *diags);
/* Reads path, parses and validates it, and builds its graph to find cycles (then freed).
 * NF_ENOTFOUND / NF_EIO when the file cannot be read (message in nf_error_last()),
 * NF_EINVALID when diagnostics were reported. */
int nf_dag_load(nf_dag **out, const char *path, nf_diag_list *diags);
/* nf_dag_load, keeping the graph it builds to find cycles (the caller frees both), so
 * that a command needing the graph does not build it twice. */
int nf_graph_load(nf_dag **dag, nf_graph **graph, const char *path, nf_diag_list *diags);
/* nf_graph_load on len bytes at src (need not be NUL-terminated) instead of a file's content;
 * path names the source in diagnostics and is where relative paths are resolved from. */
int nf_graph_load_buffer(nf_dag **dag, nf_graph **graph, const char *path, const char *src, size_t len,
			 nf_diag_list *diags);
/* validate's check of inputs: an input written without ${...} that no stage declares as
 * an output (nor lies in, nor holds one) and that is absent under root is an error at its
 * place. 0, or NF_EINVALID when any was reported. */
int nf_graph_check_inputs(const nf_dag *dag, const char *root, nf_diag_list *diags);
/* A node by its name ("tune[lr=0.05,l2=0]", "train@us") or by "stage" when it has one node; else NULL. */
const nf_node *nf_graph_find(const nf_graph *g, const char *name);
/* Writes the graph as an indented tree (text), Graphviz (dot) or JSON. */
int nf_graph_write(nf_buf *out, const nf_graph *g, const char *format);
void nf_graph_free(nf_graph *g);

#endif
