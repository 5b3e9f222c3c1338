/* expr.h: the small expression language of gate criteria and alert conditions:
 * numbers, metric names (dotted: eval.auc), production.NAME, + - * /, unary -,
 * < <= > >= == !=, and/or/not, parentheses, and the slice functions max_gap(M), min(M),
 * max(M) over the per-slice values of metric M (a metrics file's "slices"). */
#ifndef NTFLOW_EXPR_H
#define NTFLOW_EXPR_H

#include "ntflow/util.h"

typedef enum {
	NF_EX_NUM, NF_EX_NAME, NF_EX_PROD,      /* leaves; PROD is production.NAME */
	NF_EX_NEG, NF_EX_NOT,                   /* unary: l */
	NF_EX_ADD, NF_EX_SUB, NF_EX_MUL, NF_EX_DIV,
	NF_EX_LT, NF_EX_LE, NF_EX_GT, NF_EX_GE, NF_EX_EQ, NF_EX_NE,
	NF_EX_AND, NF_EX_OR,
	NF_EX_CALL,                             /* fn over the slices of metric name */
} nf_expr_op;

/* The slice functions: over the values a metric has in each slice of the data. */
typedef enum {
	NF_FN_MAX_GAP,          /* max_gap(M): the largest minus the smallest */
	NF_FN_MIN,              /* min(M): the smallest */
	NF_FN_MAX,              /* max(M): the largest */
} nf_expr_fn;

struct nf_expr {
	nf_expr_op op;
	double num;              /* NUM */
	const char *name;        /* NAME, PROD (without "production."), CALL (its metric) */
	nf_expr_fn fn;           /* CALL */
	struct nf_expr *l, *r;
	int col;                 /* 1-based column of the node's first character in the text */
};
typedef struct nf_expr nf_expr;

/* Parses text into arena-allocated nodes. On a syntax error returns NF_EINVALID, sets
 * *err_col (1-based column in text) and nf_error_last() to what was expected. */
int nf_expr_parse(nf_expr **out, nf_arena *a, const char *text, int *err_col);

/* Looks a metric up: 0 and *out set, NF_ENOTFOUND when the metric does not exist,
 * NF_ENOPROD when production is true and no version is in production. */
typedef int (*nf_expr_lookup_fn)(void *ctx, bool production, const char *name, double *out);

/* One slice's value of a metric: slice as the metrics file names it ("region=EU"). */
typedef struct nf_expr_slice {
	const char *slice;
	double value;
} nf_expr_slice;
/* Lists the values metric has per slice: 0 with *out (the callee's, valid until the next
 * call with ctx) and *n, which is 0 when the metrics have no slices of it. */
typedef int (*nf_expr_slices_fn)(void *ctx, const char *metric, const nf_expr_slice **out, size_t *n);

/* Evaluates; booleans are 1.0/0.0. Returns 0, or NF_ENOTFOUND / NF_ENOPROD from lookup
 * (message names the metric), or NF_EINVALID for division by zero or a non-finite result.
 * A slice function fails with NF_ENOTFOUND when no slice has its metric. */
int nf_expr_eval(const nf_expr *e, nf_expr_lookup_fn lookup, void *ctx, double *out);
/* The same with the slices of the metrics for the slice functions (slices NULL: none). */
int nf_expr_eval_slices(const nf_expr *e, nf_expr_lookup_fn lookup, nf_expr_slices_fn slices, void *ctx,
			double *out);
/* A slice function's value over its slices, with the slices that gave the smallest and the
 * largest value (indexes into *all, which the slices fn owns). */
int nf_expr_call(const nf_expr *call, nf_expr_slices_fn slices, void *ctx, double *out,
		 const nf_expr_slice **all, size_t *lo, size_t *hi);
/* The name of a slice function as written ("max_gap"). */
const char *nf_expr_fn_name(nf_expr_fn fn);

/* Calls fn for every slice function call in e (the nodes with op NF_EX_CALL). */
void nf_expr_walk_calls(const nf_expr *e, void (*fn)(void *ctx, const nf_expr *call), void *ctx);

/* Calls fn for every metric name the expression reads (production ones with prod = true);
 * a slice function's metric is not a plain name and is left out (nf_expr_walk_calls). */
void nf_expr_walk_names(const nf_expr *e, void (*fn)(void *ctx, bool prod, const char *name, int col), void *ctx);

/* Writes e back as text with minimal parentheses. */
void nf_expr_format(nf_buf *out, const nf_expr *e);

#endif
