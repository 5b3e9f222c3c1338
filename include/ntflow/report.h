/* report.h: `ntflow report`, a run (or two runs side by side) as ONE self-contained HTML page:
 * inline CSS and SVG, no script, no network. The page is built in C into an nf_buf: every
 * string from the store or a data file goes through nf_html_escape, every number through
 * nf_html_num (a '.' whatever the locale). The pieces below the page (escaping, scales, the
 * charts, the plot data readers) are public so that the unit tests hold them to account. */
#ifndef NTFLOW_REPORT_H
#define NTFLOW_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntflow/store.h"
#include "ntflow/util.h"

/* ---- HTML text (src/report/html.c) ---- */
/* Appends s with & < > " ' as entities (safe in text and in a quoted attribute); bytes
 * that are not valid UTF-8 become U+FFFD, control characters other than tab and newline
 * are dropped (an HTML parser would reject them). NULL appends nothing. */
void nf_html_escape(nf_buf *out, const char *s);
/* printf, then the result escaped. */
void nf_html_escapef(nf_buf *out, const char *fmt, ...) NF_PRINTF(2, 3);
/* A number as people read it, with '.' as the decimal point whatever the locale: up to 4
 * significant digits ("0.9312", "1200", "1.5e+06"); "-" for NaN or an infinity. */
void nf_html_num(char *out, size_t size, double v);
/* A coordinate for SVG: fixed with 1 decimal, '.' whatever the locale, "-0.0" as "0.0". */
void nf_svg_coord(char *out, size_t size, double v);

/* ---- Scales and ticks (src/report/svg.c) ---- */
/* A linear map of the domain [d0, d1] onto the pixel range [r0, r1]. */
typedef struct nf_scale {
	double d0, d1, r0, r1;
} nf_scale;
/* Where v falls; the middle of the range when the domain is empty. */
double nf_scale_map(const nf_scale *s, double v);
/* Widens [*lo, *hi] to multiples of a "nice" step (1, 2 or 5 times a power of ten) giving
 * about want ticks, and writes the ticks (at most max) to ticks; returns how many. A domain
 * of one value is widened around it; NaN or infinite bounds become [0, 1]. */
size_t nf_scale_nice(double *lo, double *hi, size_t want, double *ticks, size_t max);

/* ---- Charts (src/report/svg.c) ---- */
typedef enum { NF_CHART_LINE, NF_CHART_SCATTER, NF_CHART_BAR } nf_chart_kind;
typedef struct nf_series {
	const char *name;
	const double *x, *y;          /* n points; NaN y: a gap */
	size_t n;
	bool dashed;                  /* a compared run's series */
} nf_series;
typedef struct nf_hline {         /* a horizontal threshold line */
	double y;
	const char *label;
} nf_hline;
typedef struct nf_chart {
	const char *id;               /* the svg element's id (may be NULL) */
	const char *cls;              /* classes added to "chart" (may be NULL) */
	const char *title, *xlabel, *ylabel;
	nf_chart_kind kind;
	const nf_series *series;
	size_t nseries;
	const char *const *xcats;     /* bar (and categorical x): labels; x values are indexes */
	size_t nxcats;
	const nf_hline *hlines;
	size_t nhlines;
	bool diagonal;                /* roc: the chance line from (0,0) to (1,1) */
	bool unit_axes;               /* both axes [0, 1] (roc) */
	bool integer_x;               /* x ticks on whole numbers only (versions, runs) */
	double width;                 /* pixels; 0: 520 */
} nf_chart;
/* Appends c as an <svg> with axes, ticks, gridlines, a legend when there is more than one
 * series, and a <title> per point (the browser's tooltip). Bars of more than 6 categories
 * get their labels slanted. */
void nf_svg_chart(nf_buf *out, const nf_chart *c);

/* ---- Plot data (src/report/data.c) ---- */
/* A data file as a table of text cells: CSV (RFC 4180 quotes), TSV (by the .tsv extension)
 * or JSON (a list of objects; the columns are the keys, in order of first appearance). */
typedef struct nf_datatab {
	char **cols;
	size_t ncols;
	char **cells;                 /* nrows * ncols, row-major; NULL for a missing cell */
	size_t nrows;
} nf_datatab;
/* Parses text (len bytes) read from a file named name (its extension picks the format).
 * NF_EINVALID with a message for a malformed file or one without a header/any object. */
int nf_datatab_parse(nf_datatab *out, const char *name, const char *text, size_t len);
/* The column index of name, or -1. */
long nf_datatab_col(const nf_datatab *t, const char *name);
/* The cell (row, col) as a number: true when it is one (its text wholly a number). */
bool nf_datatab_num(const nf_datatab *t, size_t row, long col, double *v);
void nf_datatab_release(nf_datatab *t);

/* ---- The pages (src/report/report.c, compare.c) ---- */
typedef struct nf_report_opts {
	const char *state_dir;        /* the workspace's state directory: the object store */
	const char *root;             /* the project root: plot files are relative to it */
	size_t history;               /* the runs of history drift and performance charts show (20) */
	int64_t now_ms;               /* when the page was made, shown in its footer */
} nf_report_opts;
/* The page of run run_id: header, Gantt chart, gates, plots, registry history, drift, and
 * resource use against history. NF_ENOTFOUND for an unknown run. */
int nf_report_html(nf_buf *out, nf_store *st, int64_t run_id, const nf_report_opts *o);
/* The page comparing runs a and b: their plots overlaid, params and metrics diffed. */
int nf_report_compare_html(nf_buf *out, nf_store *st, int64_t a, int64_t b, const nf_report_opts *o);

/* ---- The cohort drift report (src/report/drift.c: the model and its rules; drift-out.c:
 * text, JSON and HTML). Built from values (the store's runs and violations of a window and
 * the tolerances the pipeline declares), never from strings another module formatted. ---- */
#define NF_DRIFT_SCHEMA 1            /* the JSON's "schema": bumped only by a breaking change */
typedef struct nf_drift_tolerance {  /* drift_report { tolerance { METRIC = T } } */
	const char *metric;
	double tolerance;             /* a cohort mean moving by more than this is drift */
} nf_drift_tolerance;
enum { NF_DRIFT_SEV_LOW, NF_DRIFT_SEV_MEDIUM, NF_DRIFT_SEV_HIGH, NF_DRIFT_NSEV };
enum { NF_DRIFT_TIER_LOW, NF_DRIFT_TIER_NORMAL, NF_DRIFT_TIER_HIGH, NF_DRIFT_TIER_ELEVATED, NF_DRIFT_NTIERS };
typedef struct nf_drift_vtype {      /* one violation type within a cohort */
	char *type;
	size_t count;                 /* violations of this type */
	size_t runs;                  /* runs with at least one */
	size_t severity[NF_DRIFT_NSEV];
} nf_drift_vtype;
typedef struct nf_drift_mean {       /* one tracked metric within a cohort */
	double mean;                  /* NaN when no run of the cohort has it */
	size_t runs;                  /* the runs averaged */
} nf_drift_mean;
typedef struct nf_drift_cohort {
	char *id;                     /* NULL: the runs without a cohort */
	char *first_date, *last_date; /* of its runs in the window */
	int64_t *run_ids;
	size_t runs, promoted, gated, failed;
	size_t violations, violating_runs;
	size_t severity[NF_DRIFT_NSEV];
	nf_drift_vtype *types;        /* by count, then name */
	size_t ntypes;
	double risk_mean;             /* NaN when no run has a risk score */
	size_t risk_scored;
	size_t tiers[NF_DRIFT_NTIERS];
	nf_drift_mean *metrics;       /* indexed as nf_drift_report.metrics */
} nf_drift_cohort;
typedef struct nf_drift_delta {      /* one metric between two cohorts */
	double from, to, delta;       /* NaN when a side has no value */
	bool has_tolerance;
	double tolerance;
	bool verdict;                 /* a tolerance and both means: drift is a verdict; else none ("-", null) */
	bool drift;                   /* verdict and |delta| > tolerance */
} nf_drift_delta;
typedef struct nf_drift_comparison {
	size_t from, to;              /* cohort indexes */
	bool baseline;                /* against the first cohort; false: consecutive */
	nf_drift_delta *deltas;       /* indexed as nf_drift_report.metrics */
	bool has_drift;
} nf_drift_comparison;
typedef struct nf_drift_rec {
	char *rule;                   /* "violation:calibration", "tier:elevated", "drift:accuracy" */
	char *cohort;                 /* the cohort it is about (NULL: the runs without one) */
	char *text;
} nf_drift_rec;
typedef struct nf_drift_report {
	char *pipeline;               /* NULL: every pipeline */
	char *from, *to;
	nf_drift_cohort *cohorts;     /* in time order: by their first run's date */
	size_t ncohorts;
	char **metrics;               /* the tracked metrics: declared tolerances first, then the rest by name */
	nf_drift_tolerance *tolerances; /* per metric; has[i] says whether one was declared */
	bool *has_tolerance;
	size_t nmetrics;
	nf_drift_comparison *comparisons; /* consecutive pairs, then each later cohort against the first */
	size_t ncomparisons;
	nf_drift_rec *recs;
	size_t nrecs;
	bool has_drift;               /* some comparison drifted (real verdicts only) */
	bool unknown;                 /* set by the caller when the tolerances could not be read:
				       * has_drift is unknown ("unknown (no tolerances)", null) */
} nf_drift_report;
/* Builds the report of runs (oldest first) and their violations over [from, to]: cohorts,
 * comparisons, verdicts and recommendations (the rule table in drift.c). pipeline may be
 * NULL. The caller frees *out with nf_drift_report_free. */
int nf_drift_build(nf_drift_report **out, const char *pipeline, const char *from, const char *to,
		   const nf_drift_run *runs, size_t nruns, const nf_violation *v, size_t nv,
		   const nf_drift_tolerance *tol, size_t ntol);
void nf_drift_report_free(nf_drift_report *r);
/* The rule table, for the documentation and its test: the advice for a violation type, a
 * risk tier (NULL: no rule fires for that tier) and a metric that drifted by delta (a move in
 * the direction in which the metric improves gets the advice for an improvement). */
const char *nf_drift_advice_violation(const char *type);
const char *nf_drift_advice_tier(const char *tier);
const char *nf_drift_advice_metric(const char *metric, double delta);
/* The report as text (tables), as JSON (the documented shape, "schema": 1) and as one HTML
 * page in the run report's frame (o: its footer). */
void nf_drift_text(nf_buf *out, const nf_drift_report *r);
void nf_drift_json(nf_buf *out, const nf_drift_report *r);
void nf_drift_html(nf_buf *out, const nf_drift_report *r, const nf_report_opts *o);

#endif
