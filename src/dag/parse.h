/* parse.h: the parser's state, shared by its two halves (private to src/dag): parse.c reads
 * the syntax (tokens, values, lists, blocks) and convert.c turns a value into the typed field
 * its schema row names. */
#ifndef NTFLOW_DAG_PARSE_H
#define NTFLOW_DAG_PARSE_H

#include "ntflow/dag.h"
#include "lex.h"
#include "schema.h"

struct nf_parser {
	nf_lexer lx;
	nf_token tok;               /* the current token */
	nf_token la[2];             /* lookahead: la[0] follows tok */
	int nla;
	nf_dag *dag;
	nf_arena *a;
	const char *path;
	nf_diag_list *diags;
	bool syntax_only;
	int depth;                  /* blocks and lists open */
	int list_depth;             /* lists open */
	size_t value_items;         /* the items of the outermost list open, those of the lists
	                             * inside it included (NF_DAG_MAX_LIST_ITEMS) */
	nf_loc value_loc;           /* that list's '[' */
	bool value_refused;         /* it was said to hold too many */
	bool eof_reported;          /* one "end of the file" error is enough */

	/* The items of the lists being parsed, a stack: values and the tokens they came from. */
	nf_value *sv;
	nf_token *st;
	size_t nsv, capsv, capst;

	/* Stages in file order, in the arena (by_name points into it); models, moved there
	 * at the end. */
	nf_stage *stages;
	size_t nstages, capstages;
	nf_model_decl *models;
	size_t nmodels, capmodels;
	nf_strmap *model_names;     /* name -> index + 1 */
	nf_run_opts stage_opts;     /* the open stage block's run options, as written */
	nf_loc pipeline_loc;
};

/* The block being parsed: what it may hold, what was seen, and what it fills. */
typedef struct nf_pblock {
	const nf_block_spec *spec;  /* NULL: checked for syntax only */
	nf_loc loc;                 /* of the keyword */
	const char *name;           /* the label, or NULL */
	const char *kw;             /* the keyword as written (for blocks of unknown kinds) */
	int kwlen;
	struct nf_pblock *parent;
	uint64_t seen;              /* attributes written, by index in spec->attrs */
	uint64_t tried;             /* ... or attempted with a syntax error (no "missing" then) */
	nf_loc seen_loc[NF_SCHEMA_MAX_ATTRS];
	unsigned kids;              /* nested block kinds written, by nf_block_id */
	nf_loc kid_loc[NF_BK_COUNT];
	nf_strmap *keys;            /* params/env/matrix: key -> index + 1 */

	/* The structs the block's attributes fill (nf_target): set by open_block. */
	nf_pipeline *pl;
	nf_stage *stage;
	nf_model_decl *model;
	nf_run_opts *opts;
	nf_slurm *slurm;
	nf_alert_rule *alert;
	nf_plot *plot;
	nf_gate_check *check;       /* a criterion { } being parsed */

	nf_kv *kvs;                 /* params, env */
	size_t nkvs, capkvs;
	nf_axis *axes;              /* matrix */
	size_t naxes, capaxes;
	nf_alert_rule *alerts;      /* a monitor's alert blocks */
	size_t nalerts, capalerts;
	nf_strmap *alert_names;
	nf_foreach_item *items;     /* a foreach block's instances */
	size_t nitems, capitems;
	nf_strmap *item_names;
	nf_plot *plots;             /* a stage's plot blocks */
	size_t nplots, capplots;
	nf_strmap *plot_names;      /* name -> index + 1 */
	nf_gate_check *checks;      /* a gate's criterion blocks */
	size_t nchecks, capchecks;
} nf_pblock;

/* Reports an error at loc. */
void nf_parse_error(nf_parser *p, nf_loc loc, const char *fmt, ...) NF_PRINTF(3, 4);
nf_loc nf_parse_loc(const nf_parser *p, const nf_token *t);
/* A string value's segments, decoded into the arena on first use (parsing only notes the
 * token). t is the token v came from. */
nf_tmpl *nf_parse_str(nf_parser *p, nf_value *v, const nf_token *t);
/* The token of item i of a list value still on the item stack. */
const nf_token *nf_parse_item_tok(const nf_parser *p, const nf_value *list, size_t i);
/* The first ${...} of t, or NULL. */
const nf_seg *nf_tmpl_first_ref(const nf_tmpl *t);

/* convert.c: checks v (token vt) against attribute a and stores it in target, the struct
 * of type a->target; errors are reported and nothing is stored. */
void nf_parse_store_attr(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt);
/* convert.c: whether s may name a foreach instance (STAGE@s): letters, digits, '_', '-', '.'. */
bool nf_foreach_key_ok(const char *s);
/* Whether s is a name as blocks are named: letters, digits, '_' and '-', not starting with
 * '-', at most 128 bytes (a stage's phase is checked the same way). */
bool nf_parse_valid_name(const char *s);
/* convert.c: a key = value line inside params { }, env { }, matrix { } or instance { }. */
void nf_parse_store_key(nf_parser *p, nf_pblock *b, const nf_token *key, nf_value *v, const nf_token *vt);

#endif
