/* schema.h: which blocks and attributes a .dag file may hold, with their types, defaults and
 * meanings (private to src/dag). The parser checks files against it and stores each value
 * where its row says (convert.c); man/ntflow-dag.5 documents the same table, and unit tests
 * keep the two in step (check_parse) and the rows consistent with the model (check_schema). */
#ifndef NTFLOW_DAG_SCHEMA_H
#define NTFLOW_DAG_SCHEMA_H

#include <stddef.h>
#include <stdbool.h>

#include "ntflow/dag.h"

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
	NF_AT_NUMBER,         /* a number (double) */
} nf_attr_type;

typedef enum nf_block_id {
	NF_BK_PIPELINE, NF_BK_STAGE, NF_BK_GATE, NF_BK_MODEL, NF_BK_MONITOR,
	NF_BK_PARAMS, NF_BK_DEFAULTS, NF_BK_ENV, NF_BK_MATRIX, NF_BK_SLURM, NF_BK_ALERT,
	NF_BK_FOREACH, NF_BK_INSTANCE,
	NF_BK_PLOT,
	NF_BK_LINEAGE,
	NF_BK_CRITERION, NF_BK_RISK, NF_BK_TIERS,
	NF_BK_DRIFT_REPORT, NF_BK_TOLERANCE,
	NF_BK_COUNT
} nf_block_id;

/* The struct an attribute's value goes into; the block being parsed provides it. */
typedef enum nf_target {
	NF_TG_NONE,           /* no struct: params, env and matrix keep their own lists */
	NF_TG_PIPELINE,       /* nf_pipeline */
	NF_TG_STAGE,          /* nf_stage: stage, gate, monitor */
	NF_TG_MODEL,          /* nf_model_decl */
	NF_TG_OPTS,           /* nf_run_opts: a stage's or monitor's, or the pipeline's defaults */
	NF_TG_SLURM,          /* nf_slurm */
	NF_TG_ALERT,          /* nf_alert_rule */
	NF_TG_PLOT,           /* nf_plot */
	NF_TG_CHECK,          /* nf_gate_check: a gate's criterion { } */
	NF_TG_MORE,           /* nf_stage_more: a stage's rarely written attributes */
	NF_TG_COUNT
} nf_target;

typedef struct nf_parser nf_parser;   /* parse.h */
struct nf_token;                      /* lex.h */
typedef struct nf_attr_spec nf_attr_spec;

/* A named setter, for an attribute the converter of its type cannot store alone (a check
 * beyond the type's, a flag, a field of another shape): converts v (token vt) and stores it
 * in target, reporting errors. */
typedef void nf_attr_setter(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v,
			    const struct nf_token *vt);

/* One attribute. Without a setter, the converter of its type checks the value and stores it
 * at target + off (size bytes, the type's storage: nf_schema_storage_size), a list's length
 * at target + count_off (count_size bytes), the value's location at target + loc_off when has_loc, and ORs
 * set_bit into nf_run_opts.set. A new attribute is one row (and its man page item). */
struct nf_attr_spec {
	const char *name;
	nf_attr_type type;
	bool required;
	nf_target target;
	size_t off, size;             /* offsetof and sizeof the field in the target struct */
	size_t count_off;             /* lists: offsetof the item count */
	size_t count_size;            /* its sizeof: a size_t, or a uint32_t (nf_stage's) */
	bool has_loc;
	size_t loc_off;               /* offsetof an nf_loc for the value's location */
	unsigned set_bit;             /* NF_TG_OPTS: its NF_OPT_* bit */
	nf_attr_setter *setter;       /* NULL: the type's converter stores the value */
	long min, max;                /* NF_AT_INT, NF_AT_INT_LIST; NF_AT_ENUM: min is the value
				       * stored for the first choice (an int), then one up each */
	const char *const *choices;   /* NF_AT_ENUM, NULL-terminated */
	const char *def;              /* the default, as the man page shows it; NULL: none */
	const char *doc;              /* what it means, one line */
};

typedef struct nf_block_spec {
	nf_block_id id;
	const char *kind;             /* the keyword */
	bool labeled;                 /* kind "NAME" { ... } */
	bool top;                     /* a top-level block */
	bool free_keys;               /* params, env, matrix: any NAME = value */
	unsigned targets;             /* the nf_target structs it fills, bits 1u << NF_TG_* */
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
/* How many bytes the converter of type t stores (lists: the pointer to the items); 0 when
 * it stores nothing by itself (the attribute needs a setter). */
size_t nf_schema_storage_size(nf_attr_type t);
bool nf_schema_is_list(nf_attr_type t);
/* sizeof the struct a target names; 0 for NF_TG_NONE. */
size_t nf_schema_target_size(nf_target t);
/* Appends the choices of an enum as `"a", "b" or "c"` to buf. */
void nf_schema_choices(char *buf, size_t size, const nf_attr_spec *a);

/* The named setters of the irregular attributes (convert.c). */
nf_attr_setter nf_set_timezone;     /* a tz database name that opens */
nf_attr_setter nf_set_overlap;      /* "skip" -> nf_pipeline.overlap_skip */
nf_attr_setter nf_set_alert_cooldown; /* and nf_pipeline.alert_cooldown_set */
nf_attr_setter nf_set_select;       /* max(METRIC) or min(METRIC) -> nf_stage.select */
nf_attr_setter nf_set_executor;     /* the choice's name -> nf_run_opts.executor */
nf_attr_setter nf_set_secret_env;   /* names of environment variables */
nf_attr_setter nf_set_run;          /* a string, or a list of words -> nf_stage.run_words */
nf_attr_setter nf_set_foreach;      /* a list of scalars -> nf_stage.foreach */
nf_attr_setter nf_set_plot_y;       /* a column name, or a list of them -> nf_plot.y */
nf_attr_setter nf_set_phase;        /* a name, as stage names are -> nf_stage.phase */
nf_attr_setter nf_set_cpu_baseline; /* RUN or "median:N" -> nf_pipeline.cpu_baseline */
nf_attr_setter nf_set_cpu_target;   /* "30%" -> nf_pipeline.cpu_target_pct */
nf_attr_setter nf_set_gate_expr;    /* an expression over a gate's metrics (${params.*} allowed) */
nf_attr_setter nf_set_violation;    /* a violation type: letters, digits, '_', '-' */
/* The checks of s's plot blocks against the stage (plot-check.c, from nf_dag_validate): data
 * and image files inside its outputs, the columns each template needs. */
void nf_plot_check(const nf_stage *s, nf_diag_list *diags);

#endif
