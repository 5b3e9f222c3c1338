/* dag.h: the typed in-memory model of a pipeline file (.dag), its parser, validator and
 * formatter. Everything hangs off one arena owned by the nf_dag. The grammar and the meaning
 * of every attribute are in man/ntflow-dag.5. */
#ifndef NTFLOW_DAG_H
#define NTFLOW_DAG_H

#include "ntflow/diag.h"
#include "ntflow/util.h"

typedef struct nf_expr nf_expr;   /* expr.h */

/* Files larger than this are refused before lexing. */
#define NF_DAG_MAX_FILE_SIZE (64u << 20)
/* Deeper nesting of lists/blocks is a syntax error, never a stack overflow. */
#define NF_DAG_MAX_DEPTH 64
/* The most items a list holds (a 100 000-stage join needs a tenth of it); a longer one is an
 * error at its '[', so that a file under the size limit cannot take gigabytes to check. */
#define NF_DAG_MAX_LIST_ITEMS (1 << 20)

/* One piece of a string as written: literal text, or a ${ref} (text holds "params.seed"). */
typedef struct nf_seg {
	const char *text;
	bool is_ref;
	nf_loc loc;   /* of the literal's first byte, or of the '$' of a ref */
} nf_seg;

/* A string value split into literal and ${...} segments; escapes already decoded.
 * A literal "$${" in the file stands for a literal "${" (one literal segment). */
typedef struct nf_tmpl {
	nf_seg *segs;
	size_t nsegs;
	nf_loc loc;   /* of the opening quote */
} nf_tmpl;

typedef enum { NF_V_STRING, NF_V_NUMBER, NF_V_BOOL, NF_V_LIST } nf_value_kind;

typedef struct nf_value {
	nf_value_kind kind;
	nf_loc loc;
	double num;            /* NF_V_NUMBER */
	const char *num_text;  /* NF_V_NUMBER, as written: "0.05", "1e-3", "42" */
	bool boolean;          /* NF_V_BOOL */
	nf_tmpl str;           /* NF_V_STRING */
	struct nf_value *items;/* NF_V_LIST */
	size_t nitems;
} nf_value;

/* A key = value pair inside params { } or env { }. */
typedef struct nf_kv {
	const char *key;
	nf_loc loc;
	nf_value value;
} nf_kv;

/* A name written in the file, e.g. one entry of needs = [...]. */
typedef struct nf_name_ref {
	const char *name;
	nf_loc loc;
} nf_name_ref;

/* One instance of foreach: an element of foreach = [...] (value set, nfields 0; ${item} and
 * ${key} are its text), or an instance "KEY" { F = value ... } block (${item.F}). */
typedef struct nf_foreach_item {
	const char *key;              /* ${key}; the node is STAGE@KEY */
	nf_loc loc;
	nf_value value;               /* the list form's element */
	nf_kv *fields;                /* the named form's fields */
	size_t nfields;
} nf_foreach_item;

typedef struct nf_axis {          /* one key of matrix { } */
	const char *name;
	nf_loc loc;
	nf_value *values;             /* scalars: strings without refs, numbers or booleans */
	size_t nvalues;
} nf_axis;

/* A gate criterion or an alert condition. */
typedef struct nf_criterion {
	const char *text;             /* the expression as written */
	nf_loc loc;                   /* of the string's first character inside the quotes */
	nf_expr *expr;                /* parsed; NULL when it did not parse (an error was reported) */
} nf_criterion;

typedef enum { NF_SEV_NONE = 0, NF_SEV_LOW, NF_SEV_MEDIUM, NF_SEV_HIGH } nf_severity;

/* A gate's criterion { } block: a criterion whose failure is a violation of a type, high
 * when severe_when holds and medium otherwise (man/ntflow-dag.5, VIOLATIONS AND RISK). A
 * gate evaluates these first, in file order, then its require list. */
typedef struct nf_gate_check {
	nf_loc loc;                   /* of the block keyword */
	nf_criterion require;         /* what must hold */
	const char *violation;        /* the violation's type; NULL: the gate's name */
	nf_loc violation_loc;
	nf_criterion severe_when;     /* text NULL: a violation is never high */
} nf_gate_check;

/* risk { } in the pipeline: a score computed from a gate's metrics and the tiers it falls in
 * (score <= low: low; <= normal: normal; <= high: high; above every bound: elevated). A
 * bound not written is skipped (its loc.line is 0); with none the run has a score, no tier. */
typedef struct nf_risk {
	bool present;
	nf_loc loc;
	nf_criterion score;           /* the expression, e.g. "1 - accuracy" */
	const char *gate;             /* whose metrics it reads; NULL: the pipeline's first model's gate, else its first gate */
	nf_loc gate_loc;
	double low, normal, high;
	nf_loc low_loc, normal_loc, high_loc;
} nf_risk;

typedef struct nf_alert_rule {
	const char *name;
	nf_loc loc;
	nf_criterion when;
	nf_severity severity;         /* default medium */
} nf_alert_rule;

/* A plot "NAME" { } block of a stage: a chart of a data file the stage writes, or an image it
 * writes, shown by `ntflow report` (man/ntflow-dag.5, PLOTS). */
typedef enum { NF_PLOT_LINEAR = 0, NF_PLOT_SCATTER, NF_PLOT_CONFUSION, NF_PLOT_ROC, NF_PLOT_BAR } nf_plot_template;

typedef struct nf_plot {
	const char *name;
	nf_loc loc;
	nf_tmpl *data;                /* a CSV, TSV or JSON (a list of objects) file; NULL with image */
	nf_tmpl *image;               /* a PNG, JPEG, GIF or SVG file; NULL with data */
	const char *x;                /* the column on the x axis (confusion: the actual class) */
	nf_name_ref *y;               /* the columns on the y axis (confusion: the predicted class) */
	size_t ny;
	int template_;                /* nf_plot_template (linear) */
	const char *title;            /* NULL: the plot's name */
} nf_plot;
/* "linear", "scatter", ...: a template's name. */
const char *nf_plot_template_name(int t);

typedef struct nf_slurm {
	bool present;
	nf_loc loc;
	const char *partition, *time, *mem, *gres, *account, *qos, *constraint;
	int cpus;                     /* 0: not set */
	nf_tmpl *extra;               /* more sbatch options, each one argument ("--exclusive") */
	size_t nextra;
	int64_t poll_ms;              /* how often squeue is asked; 0: not set (2s) */
} nf_slurm;

/* Bits of nf_run_opts.set: which attributes were written (a stage inherits the rest from
 * the pipeline's defaults { }). */
enum {
	NF_OPT_RETRIES     = 1u << 0,
	NF_OPT_BACKOFF     = 1u << 1,
	NF_OPT_BACKOFF_MAX = 1u << 2,
	NF_OPT_TIMEOUT     = 1u << 3,
	NF_OPT_GRACE       = 1u << 4,
	NF_OPT_RETRY_ON    = 1u << 5,
	NF_OPT_CPUS        = 1u << 6,
	NF_OPT_CACHE       = 1u << 7,
	NF_OPT_EXECUTOR    = 1u << 8,
	NF_OPT_SLURM       = 1u << 9,
	NF_OPT_SECRET_ENV  = 1u << 10,
	NF_OPT_LOG_LIMIT   = 1u << 11,
};

/* How a stage is run; defaults in parentheses. */
typedef struct nf_run_opts {
	unsigned set;
	int retries;                  /* further attempts after a failure (0) */
	int64_t backoff_ms;           /* first back-off, doubled per retry (1s) */
	int64_t backoff_max_ms;       /* cap (5m) */
	int64_t timeout_ms;           /* per attempt; 0 = none (0) */
	int64_t grace_ms;             /* SIGTERM -> SIGKILL (10s) */
	int *retry_on;                /* exit codes that are retried; none listed = any failure */
	size_t nretry_on;
	int cpus;                     /* slots taken (1) */
	uint64_t log_limit;           /* bytes an attempt's log keeps; 0 = no limit (100 MB) */
	bool cache;                   /* (true) */
	const char *executor;         /* "local" or "slurm" ("local") */
	nf_loc executor_loc;          /* of the executor value that set it (defaults' when inherited) */
	nf_slurm slurm;
	/* Environment variables the stage needs and whose values are never recorded; a stage's
	 * list and the defaults' add up (none). */
	nf_name_ref *secret_env;
	size_t nsecret_env;
} nf_run_opts;

typedef enum { NF_STAGE, NF_GATE, NF_MONITOR } nf_stage_kind;
typedef enum { NF_SELECT_NONE = 0, NF_SELECT_MAX, NF_SELECT_MIN } nf_select_kind;

/* What few stages write (a description, foreach, matrix, a gate's criteria, a monitor's
 * alerts, plots...), kept apart from nf_stage so that the many plain stages of a large
 * pipeline do not each carry room for it: nf_more(s) reads it, never NULL. */
typedef struct nf_stage_more {
	const char *description;
	nf_tmpl *run_words;           /* run = [...]: one template per argv word, exec'd directly */
	nf_tmpl *metrics;             /* NULL: none */
	nf_tmpl *dir;                 /* the command's working folder, relative to the root; NULL: the root */
	const char *phase;            /* stage, monitor: the phase its CPU counts in (NULL: "other") */
	nf_axis *matrix;
	nf_foreach_item *foreach;     /* foreach = [...] or foreach { instance "K" { } }; NULL: none */
	nf_tmpl *persist;             /* outputs not moved aside before an attempt */
	nf_tmpl *uncached;            /* outputs hashed and checked, not stored in the cache */
	/* params = [...]: the param keys (or sections: every key under "train.") the stage
	 * depends on; none listed: the keys its templates reference. */
	nf_name_ref *param_keys;
	nf_criterion *require;        /* gate */
	nf_gate_check *checks;        /* gate: its criterion { } blocks, evaluated before require */
	nf_alert_rule *alerts;        /* monitor */
	nf_plot *plots;               /* stage: its plot blocks, in file order */
	nf_kv *env;                   /* env { } */
	struct {
		nf_select_kind kind;
		const char *metric;
		nf_loc loc;
	} select;
	nf_loc foreach_loc;
	nf_loc phase_loc;
	/* Counts are bounded by the file's size (NF_DAG_MAX_FILE_SIZE). */
	uint32_t nrun_words, nmatrix, nforeach, npersist, nuncached, nparam_keys, nrequire, nchecks, nalerts, nplots,
		 nenv;
	nf_severity on_alert;         /* a triggered run on alerts at least this severe (none) */
	nf_severity fail_on;          /* the monitor fails on alerts at least this severe (none) */
	bool foreach_named;           /* the block form: ${item.F} */
} nf_stage_more;

/* A stage, gate or monitor block. Pointers first, then the 32-bit counts: this struct is
 * held once per stage, and a generated pipeline may have 100 000 of them (its size is
 * bounded by tests/unit/check_memsize.c). */
typedef struct nf_stage {
	const char *name;
	nf_loc loc;                   /* of the block keyword */
	nf_tmpl *run;                 /* NULL for a gate (and until written); for run = [...],
	                               * its words' segments joined by blanks (for what reads
	                               * only the references: keys, checks) */
	nf_name_ref *needs;
	nf_tmpl *inputs;
	nf_tmpl *outputs;
	/* After nf_dag_parse: the pipeline's defaults already merged in; never NULL. A stage
	 * that writes no run option points at one struct shared by all such stages (held once,
	 * not 200 bytes a stage): treat it as read-only. */
	nf_run_opts *opts;
	/* The rarely written attributes; NULL: none written. Read through nf_more(s). */
	const nf_stage_more *more;
	uint32_t index;               /* position in nf_dag.stages */
	uint32_t nneeds, ninputs, noutputs;
	uint8_t kind;                 /* nf_stage_kind */
	bool run_list;                /* run was written as a list of words */
	bool frozen;                  /* never run: its outputs must exist */
} nf_stage;

/* The shared instance nf_more returns for a stage that wrote none of those attributes. */
extern const nf_stage_more nf_stage_more_none;
/* s's rarely written attributes; never NULL (read-only). */
static inline const nf_stage_more *
nf_more(const nf_stage *s)
{
	return s->more ? s->more : &nf_stage_more_none;
}
/* s's own nf_stage_more, allocated in a on the first write (the parser's). */
nf_stage_more *nf_stage_more_mut(nf_stage *s, nf_arena *a);

typedef struct nf_model_decl {
	const char *name;
	nf_loc loc;
	const char *description;
	nf_tmpl *artifact;            /* file or folder to register */
	nf_tmpl *metrics;             /* metrics file recorded with the version (optional) */
	nf_name_ref gate;             /* name NULL: no gate, every version stays a candidate */
} nf_model_decl;

/* lineage { } in the pipeline: where the run's OpenLineage events go (src/gov/lineage.c). */
typedef struct nf_lineage {
	bool present;                 /* the block was written */
	const char *file;             /* JSON Lines appended, relative to the project root; NULL: none */
	const char *url;              /* an OpenLineage HTTP endpoint (POST); NULL: none */
	const char *ns;               /* the jobs' namespace ("ntflow") */
	int64_t timeout_ms;           /* the longest one POST may take (5 s) */
} nf_lineage;

typedef struct nf_pipeline {
	const char *name;
	nf_loc loc;
	const char *description;
	const char *schedule;         /* cron or @weekly...; NULL: none */
	nf_loc schedule_loc;
	const char *timezone;         /* of the schedule, a tz database name; NULL: UTC */
	nf_loc timezone_loc;
	bool catchup;                 /* (false) */
	int max_active_runs;          /* (1) */
	bool overlap_skip;            /* overlap = "skip"; false: "wait" */
	int64_t start_deadline_ms;    /* 0: none */
	int64_t alert_cooldown_ms;    /* (1 day; "0s": none) */
	bool alert_cooldown_set;      /* written in the file (parse only) */
	int concurrency;              /* default -j; 0: the number of CPUs */
	nf_tmpl *path;                /* prepended to PATH, relative to the project root */
	size_t npath;
	nf_kv *params;                /* params { }, then each params file's keys (flattened) */
	size_t nparams;
	nf_name_ref *params_files;    /* YAML or JSON files, relative to the project root */
	size_t nparams_files;
	nf_kv *env;
	size_t nenv;
	nf_run_opts defaults;
	const char *models_dir;       /* ("models") */
	/* Hooks: shell commands run after the event (src/run/hooks.c); NULL: none. */
	const char *on_success, *on_failure, *on_gated, *on_promote, *on_alert;
	int64_t hook_timeout_ms;      /* (1 minute) */
	nf_lineage lineage;
	/* CPU budgets per phase (gov/budget.c): the baseline a run's phases are compared with,
	 * a run id or the median of the last N runs; and the reduction that meets the target. */
	struct {
		int64_t run;              /* cpu_baseline = RUN; 0: not that form */
		int median;               /* cpu_baseline = "median:N"; 0: not that form */
		nf_loc loc;               /* file NULL: cpu_baseline not written (set when invalid too) */
	} cpu_baseline;
	double cpu_target_pct;        /* cpu_target_reduction = "30%" -> 30 */
	nf_loc cpu_target_loc;        /* file NULL: not written (set when invalid too) */
	nf_tmpl *cohort;              /* the cohort a run belongs to, e.g. "${run.month}"; NULL: none */
	nf_risk risk;
	/* drift_report { tolerance { METRIC = T } }: numbers >= 0 (ntflow report drift). */
	nf_kv *drift_tolerance;
	size_t ndrift_tolerance;
	/* The history's retention after each run (src/run/retention.c, as ntflow prune): the
	 * pipeline's runs kept; 0: no such rule. */
	int keep_runs, keep_days;
	bool redact_audit;            /* also empty the pruned runs' per-stage audit records */
	nf_loc redact_audit_loc;      /* file NULL: not written */
	bool cache_gc;                /* also drop the cache entries only pruned runs made or
	                               * used, and the objects no entry reaches (gov's nf_cache_gc) */
	nf_loc cache_gc_loc;          /* file NULL: not written */
} nf_pipeline;

typedef struct nf_dag {
	nf_arena *arena;
	const char *path;             /* as given */
	const char *dir;              /* directory holding the file */
	bool has_pipeline;            /* a pipeline block was present (it is optional in tests) */
	nf_pipeline pipeline;
	nf_stage *stages;             /* stages, gates and monitors in file order */
	size_t nstages;
	nf_model_decl *models;
	size_t nmodels;
	nf_nameidx by_name;           /* stage name -> its index in stages + 1: read through
	                               * nf_dag_find_stage */
	nf_arena *needs_arena;        /* the stages' needs lists, apart: nf_dag_drop_needs */
} nf_dag;

/* Lexes and parses src (len bytes; need not be NUL-terminated) and checks it against the
 * schema: unknown blocks and attributes, value types, durations, cron shape, expression syntax.
 * Reports every error to diags. Returns 0, or NF_EINVALID when any error was reported
 * (*out is then still set when a partial model exists, so more checks can run). */
int nf_dag_parse(nf_dag **out, const char *path, const char *src, size_t len, nf_diag_list *diags);

/* Cross-reference checks on a parsed model: duplicate names, needs, ${...} references,
 * outputs (duplicates, escaping the workspace), select. 0 or NF_EINVALID. */
int nf_dag_validate(nf_dag *dag, nf_diag_list *diags);

/* Reads the pipeline's params_files beneath root (src/dag/params-file.c) and appends their
 * keys, flattened with dots, to dag->pipeline.params: one namespace with params { }, a key
 * set in two places is an error naming both. Errors carry the params file's line and column
 * (the .dag attribute's for a file that is missing). Run between parse and validate.
 * 0 or NF_EINVALID. */
int nf_dag_read_params_files(nf_dag *dag, const char *root, nf_diag_list *diags);
/* One params file's text (src, len) as flattened key = value pairs in arena a; file names it
 * in messages and its extension says YAML or JSON. 0 or NF_EINVALID with diagnostics. */
int nf_params_file_parse(nf_kv **out, size_t *n, nf_arena *a, const char *file, const char *src, size_t len,
			 nf_diag_list *diags);
/* Whether path names a params file (.yaml, .yml, .json); *json says which. */
bool nf_params_file_kind(const char *path, bool *json);
/* Whether a stage depends on param key: listed in its params (or under a listed section),
 * or, with none listed, referenced by its templates. */
bool nf_stage_uses_param(const nf_stage *s, const char *key);

/* Reading a file through parse, validate and the graph's cycle check is nf_dag_load
 * (graph.h): it needs the graph, which dag does not. */

/* The canonical layout of a file (comments kept): 2-space indents, one attribute per line,
 * '=' aligned within a run of attributes, one blank line between top-level blocks.
 * 0, or NF_EINVALID with diagnostics when the file does not parse. */
int nf_dag_format(nf_buf *out, const char *path, const char *src, size_t len, nf_diag_list *diags);

/* `ntflow import` (src/dag/import-dvc.c): a DVC pipeline (dvc.yaml) as .dag text. */
typedef struct nf_dvc_import {
	const char *path;      /* the dvc.yaml as named in notes and the header comment */
	const char *out_name;  /* the .dag's name, for its header comment (NULL: "pipeline") */
	const char *prefix;    /* the dvc.yaml's folder from the project root ("" at the root):
	                        * DVC's paths are relative to it, the .dag's to the root */
	const char *root;      /* the project root on disk, where params and vars files are read
	                        * and folders told from files; NULL: nothing is read */
	const char *name;      /* the pipeline's name (NULL: "dvc") */
} nf_dvc_import;
/* Appends to out the .dag text standing for the dvc.yaml in src (len bytes), and to notes
 * one line per thing it could not carry over ("dvc.yaml:LINE:COL: what"), each also a
 * "# ntflow import: what" comment at its place in the text. 0, or NF_EINVALID (not YAML,
 * no stages mapping) with the message set. The text is not validated here. */
int nf_dvc_import_text(nf_buf *out, nf_buf *notes, const nf_dvc_import *o, const char *src, size_t len);

nf_stage *nf_dag_find_stage(const nf_dag *dag, const char *name);
/* Where by_name reads stage i's name (dag: the nf_dag), for whoever builds a dag's index. */
const char *nf_dag_stage_name(const void *dag, uint32_t i);
/* Whether name is listed in a secret_env of the pipeline (its defaults or any stage): its
 * value is then kept out of everything ntflow records. */
bool nf_dag_is_secret(const nf_dag *dag, const char *name);
/* A literal string's text, or NULL when it holds a ${...} reference. */
const char *nf_tmpl_literal(const nf_tmpl *t);
const char *nf_stage_kind_name(nf_stage_kind k);
/* Whether output number out of s is written in list (its persist or uncached), alike. */
bool nf_stage_output_in(const nf_stage *s, size_t out, const nf_tmpl *list, size_t n);

/* Where a ${...} of a `run` command stands as /bin/sh reads it (src/dag/shell.c; the rules
 * are man/ntflow-dag.5's QUOTING). */
typedef enum nf_sh_ctx {
	NF_SH_BARE,          /* outside quotes: as is when plain, else in '...' */
	NF_SH_BARE_QUOTED,   /* outside quotes, after '~' or before '=': always in '...' */
	NF_SH_DQUOTE,        /* inside "...": $ ` " \ escaped */
	NF_SH_SQUOTE,        /* inside '...': each ' closed, escaped and reopened */
	NF_SH_HEREDOC,       /* in an unquoted here-document body: $ ` \ escaped, lines guarded */
	NF_SH_REFUSED,       /* where no quoting keeps a value data */
} nf_sh_ctx;

typedef struct nf_sh_pos {
	nf_sh_ctx ctx;
	const char *why;     /* NF_SH_REFUSED: where it stands ("inside backquotes ...") */
} nf_sh_pos;

/* Fills pos[i] for each segment of t (t->nsegs entries; literal segments get NF_SH_BARE).
 * 0, or NF_EINVALID with a message naming the first refused reference. */
int nf_sh_scan(nf_sh_pos *pos, const nf_tmpl *t);
/* Appends v written for ctx (not NF_SH_REFUSED) so the shell reads exactly its bytes. */
void nf_sh_quote(nf_buf *out, nf_sh_ctx ctx, const char *v);
const char *nf_severity_name(nf_severity s);
/* The phase a stage's CPU counts in: its phase attribute, else "other" (gov/budget.c). */
#define NF_PHASE_DEFAULT "other"
const char *nf_stage_phase(const nf_stage *s);
/* The risk tier a score falls in as r's bounds say: "low", "normal", "high" or "elevated";
 * NULL when r has no bound. */
const char *nf_risk_tier(const nf_risk *r, double score);
/* The gate whose metrics r reads: r->gate, else the gate of the first model that has one,
 * else the first gate of the file; NULL when there is none. */
const nf_stage *nf_risk_gate(const nf_dag *dag);
/* Whether a `run` template can be exec'd without /bin/sh (src/dag/argv.c): no shell syntax
 * in its literal text (quotes, $, ;, |, &, <, >, (, ), backquotes, backslashes, globs *?[,
 * braces, a line break, '#' or '~' at a word's start, '=' in the first word), at least one
 * word, and a first word that is literal and names no reserved word or shell built-in
 * (cd, exec, exit, echo, ...). Its words are then split on blanks and tabs, each ${...}
 * staying inside the word it stands in (nf_interp_words). */
bool nf_argv_direct(const nf_tmpl *t);
/* The same for a command with no ${...}. */
bool nf_argv_direct_text(const char *cmd);
/* The blanks that separate words: space and tab. */
bool nf_argv_is_blank(int c);

void nf_dag_free(nf_dag *dag);
/* Frees every stage's needs list (nneeds 0 after): once the graph is built its edges hold
 * them, and a run of 100 000 stages has nothing else to read them for (issue 15: 4.9 MB). */
void nf_dag_drop_needs(nf_dag *dag);

#endif
