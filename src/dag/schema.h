/* schema.h: which blocks and attributes a .dag file may hold, with their types, defaults and
 * meanings (private to src/dag). The parser checks files against it; man/ntflow-dag.5
 * documents the same table, and a unit test keeps the two in step. */
#ifndef NTFLOW_DAG_SCHEMA_H
#define NTFLOW_DAG_SCHEMA_H

#include <stddef.h>
#include <stdbool.h>

typedef enum nf_attr_type {
	NF_AT_STRING,         /* a string without ${...} */
	NF_AT_TEMPLATE,       /* a string; ${...} expanded at run time */
	NF_AT_TEMPLATE_LIST,
	NF_AT_NAME,           /* the name of a stage, gate or monitor */
	NF_AT_NAME_LIST,
	NF_AT_INT,
	NF_AT_INT_LIST,
	NF_AT_BOOL,
	NF_AT_DURATION,       /* "30s": nf_parse_duration */
	NF_AT_SIZE,           /* "100MB": nf_parse_size */
	NF_AT_ENUM,
	NF_AT_SCHEDULE,       /* 5-field cron or @hourly, @daily, @weekly, @monthly, @yearly */
	NF_AT_SELECT,         /* "max(METRIC)" or "min(METRIC)" */
	NF_AT_EXPR,           /* an expression (expr.h) in a string */
	NF_AT_EXPR_LIST,
} nf_attr_type;

typedef enum nf_block_id {
	NF_BK_PIPELINE, NF_BK_STAGE, NF_BK_GATE, NF_BK_MODEL, NF_BK_MONITOR,
	NF_BK_PARAMS, NF_BK_DEFAULTS, NF_BK_ENV, NF_BK_MATRIX, NF_BK_SLURM, NF_BK_ALERT,
	NF_BK_COUNT
} nf_block_id;

/* Where a parsed attribute is stored (parse.c's switch). */
typedef enum nf_field {
	NF_FD_DESCRIPTION, NF_FD_SCHEDULE, NF_FD_CATCHUP, NF_FD_CONCURRENCY, NF_FD_PATH,
	NF_FD_MODELS_DIR, NF_FD_RUN, NF_FD_NEEDS, NF_FD_INPUTS, NF_FD_OUTPUTS, NF_FD_METRICS,
	NF_FD_SELECT, NF_FD_RETRIES, NF_FD_BACKOFF, NF_FD_BACKOFF_MAX, NF_FD_TIMEOUT,
	NF_FD_GRACE, NF_FD_RETRY_ON, NF_FD_CPUS, NF_FD_CACHE, NF_FD_EXECUTOR, NF_FD_REQUIRE,
	NF_FD_ON_ALERT, NF_FD_FAIL_ON, NF_FD_ARTIFACT, NF_FD_GATE, NF_FD_WHEN, NF_FD_SEVERITY,
	NF_FD_PARTITION, NF_FD_TIME, NF_FD_MEM, NF_FD_GRES, NF_FD_ACCOUNT, NF_FD_QOS,
	NF_FD_SLURM_CPUS, NF_FD_SECRET_ENV, NF_FD_TIMEZONE, NF_FD_LOG_LIMIT, NF_FD_MAX_ACTIVE_RUNS,
	NF_FD_OVERLAP, NF_FD_START_DEADLINE, NF_FD_ALERT_COOLDOWN,
} nf_field;

typedef struct nf_attr_spec {
	const char *name;
	nf_field field;
	nf_attr_type type;
	bool required;
	long min, max;                /* NF_AT_INT, NF_AT_INT_LIST */
	const char *const *choices;   /* NF_AT_ENUM, NULL-terminated */
	const char *def;              /* the default, as the man page shows it; NULL: none */
	const char *doc;              /* what it means, one line */
} nf_attr_spec;

typedef struct nf_block_spec {
	nf_block_id id;
	const char *kind;             /* the keyword */
	bool labeled;                 /* kind "NAME" { ... } */
	bool top;                     /* a top-level block */
	bool free_keys;               /* params, env, matrix: any NAME = value */
	const nf_attr_spec *attrs;
	size_t nattrs;
	const nf_block_id *children;  /* blocks allowed inside */
	size_t nchildren;
	const char *doc;
} nf_block_spec;

/* The attributes of one block never exceed this (seen-masks are 64 bits). */
#define NF_SCHEMA_MAX_ATTRS 64

const nf_block_spec *nf_schema_block(nf_block_id id);
/* The block spec for a keyword, or NULL. */
const nf_block_spec *nf_schema_find_block(const char *kind, size_t len);
/* The attribute of b with this name, or NULL; *index gets its position in b->attrs. */
const nf_attr_spec *nf_schema_find_attr(const nf_block_spec *b, const char *name, size_t len, size_t *index);
/* True when b allows a nested block of kind id. */
bool nf_schema_allows(const nf_block_spec *b, nf_block_id id);
/* How a type is named in messages: "an integer", "a list of strings". */
const char *nf_schema_type_name(const nf_attr_type t);
/* Appends the choices of an enum as `"a", "b" or "c"` to buf. */
void nf_schema_choices(char *buf, size_t size, const nf_attr_spec *a);

#endif
