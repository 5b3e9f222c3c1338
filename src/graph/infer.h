/* infer.h: dependencies inferred from the paths stages read and write (private to
 * src/graph; the rules are in infer.c and man/ntflow-dag.5's DEPENDENCIES). */
#ifndef NTFLOW_GRAPH_INFER_H
#define NTFLOW_GRAPH_INFER_H

#include "ntflow/graph.h"

/* Stage user reads its input number `input`, which stage dep writes. */
typedef struct nf_infer_edge {
	size_t user, dep, input;
} nf_infer_edge;

/* Every inferred edge of dag, ordered by user (a pair may come more than once, through
 * different inputs); *out is the caller's to free. */
void nf_infer_edges(const nf_dag *dag, nf_infer_edge **out, size_t *n);

#endif
