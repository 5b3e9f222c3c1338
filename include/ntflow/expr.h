/* expr.h: the small expression language of gate criteria and alert conditions:
 * numbers, metric names (dotted: eval.auc), production.NAME, + - * /, unary -,
 * < <= > >= == !=, and/or/not, parentheses. */
#ifndef NTFLOW_EXPR_H
#define NTFLOW_EXPR_H

#include "ntflow/util.h"

typedef enum {
	NF_EX_NUM, NF_EX_NAME, NF_EX_PROD,      /* leaves; PROD is production.NAME */
	NF_EX_NEG, NF_EX_NOT,                   /* unary: l */
	NF_EX_ADD, NF_EX_SUB, NF_EX_MUL, NF_EX_DIV,
	NF_EX_LT, NF_EX_LE, NF_EX_GT, NF_EX_GE, NF_EX_EQ, NF_EX_NE,
	NF_EX_AND, NF_EX_OR,
} nf_expr_op;

struct nf_expr {
	nf_expr_op op;
	double num;              /* NUM */
	const char *name;        /* NAME, PROD (without "production.") */
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

/* Evaluates; booleans are 1.0/0.0. Returns 0, or NF_ENOTFOUND / NF_ENOPROD from lookup
 * (message names the metric), or NF_EINVALID for division by zero or a non-finite result. */
int nf_expr_eval(const nf_expr *e, nf_expr_lookup_fn lookup, void *ctx, double *out);

/* Calls fn for every metric name the expression reads (production ones with prod = true). */
void nf_expr_walk_names(const nf_expr *e, void (*fn)(void *ctx, bool prod, const char *name, int col), void *ctx);

/* Writes e back as text with minimal parentheses. */
void nf_expr_format(nf_buf *out, const nf_expr *e);

#endif
