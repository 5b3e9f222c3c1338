/* tui-internal.h: what the dashboard's files share: the view model (one run as the panes
 * see it), the pane interface, and the drawing helpers. */
#ifndef NTFLOW_TUI_INTERNAL_H
#define NTFLOW_TUI_INTERNAL_H

#include <sys/types.h>
#include <curses.h>
#include "ntflow/cron.h"
#include "ntflow/tui.h"

/* ---- the view model (view.c) ---- */

/* What changed since the panes last looked: each pane redraws on the bits it shows. */
enum {
	NF_V_RUN    = 1u << 0,   /* the run row: status, times */
	NF_V_NODES  = 1u << 1,   /* node states */
	NF_V_ROWS   = 1u << 2,   /* the visible rows (filter, expansion, selection) */
	NF_V_GATE   = 1u << 3,
	NF_V_REG    = 1u << 4,
	NF_V_ALERTS = 1u << 5,
	NF_V_LOG    = 1u << 6,
	NF_V_CLOCK  = 1u << 7,   /* a second went by while something runs */
	NF_V_TENTH  = 1u << 8,   /* a tenth of a second went by while a stage runs */
	NF_V_ALL    = 0x1ffu,
};

typedef struct nf_vnode {
	char *name, *stage, *instance, *kind;
	nf_state state;
	int attempt;
	int max_attempts;            /* 0: unknown */
	int budget;                  /* attempts of the stage's retry budget (1 + retries); 0: unknown */
	int64_t started_ms;          /* real time of the first start; 0: never ran */
	int64_t attempt_ms;          /* real time the current attempt started */
	int64_t finished_ms;         /* real time it ended; 0 while not final */
	int64_t wall_ms;             /* of the last attempt that ended */
	int64_t retry_at_ms;         /* RETRYING: real time the next attempt is due; 0 unknown */
	int64_t median_ms;           /* wall in recent successful runs; -1: no history */
	int64_t reused_run;          /* cached: the run it reused; 0 */
	char *reason;
	char *log_path;              /* relative to the workspace root, or absolute */
	char *slurm;                 /* on Slurm: "job 12 PENDING (Resources)" (from the store) */
	size_t group;                /* index in nf_view.groups */
} nf_vnode;

/* A stage with its matrix instances (one node for a plain stage). */
typedef struct nf_vgroup {
	const char *stage;           /* borrowed from its first node */
	size_t first, count;         /* nodes [first, first + count) */
	bool expanded;
} nf_vgroup;

/* The orders of the stages pane (s) and its state filters (F), in the order the keys go. */
enum { NF_SORT_DAG, NF_SORT_START, NF_SORT_NAME, NF_SORT_STATE, NF_SORT_DURATION, NF_SORT__COUNT };
enum { NF_SF_ALL, NF_SF_FAILED, NF_SF_RUNNING, NF_SF__COUNT };
extern const char *const nf_view_sort_names[NF_SORT__COUNT];
extern const char *const nf_view_state_filter_names[NF_SF__COUNT];

/* A visible row of the stages pane: a group header (node == -1) or a node. */
typedef struct nf_vrow {
	size_t group;
	ssize_t node;
} nf_vrow;

typedef struct nf_vcrit {
	char *node, *expr, *verdict, *note;
	bool has_left, has_right;
	double left, right;
} nf_vcrit;

typedef struct nf_vversion {
	char *model, *status, *metrics;  /* metrics: "auc 0.934  accuracy 0.91" */
	char *why;                       /* production: why, briefly (nf_registry_why_brief) */
	int version;
	int64_t run_id, created_ms;
} nf_vversion;

typedef struct nf_valert {
	int64_t id, run_id, at_ms;       /* at_ms: when a run last raised it */
	int64_t count;                   /* how many runs raised it */
	char *rule, *monitor, *severity, *metric;
	double value, threshold;
	bool has_value, has_threshold, acked;
} nf_valert;

typedef struct nf_view {
	nf_store *st;                /* NULL: no state.db yet; waiting for the first run */
	char *store_error;           /* while waiting: why state.db could not be opened yet */
	char *state_dir;
	char *root;                  /* the workspace root (state_dir's parent) */
	bool follow;                 /* no run named: move to newer runs as they start */
	int64_t picked_run;          /* > 0: a run opened from the runs list, not the one followed */
	bool live;                   /* nodes come from events; the database adds the rest */
	bool run_dash;               /* the dashboard of `ntflow run` (in its process or as its
	                              * executor's client): its home is the live run */
	int64_t run_id;              /* 0: none yet */
	nf_run_info run;
	bool have_run;
	int64_t data_version;

	nf_vnode *nodes;
	size_t nnodes;
	nf_strmap *by_name;          /* name -> index + 1 */
	nf_vgroup *groups;
	size_t ngroups;
	nf_vrow *rows;
	size_t nrows, rows_cap;
	size_t ndone;

	/* the user's view of the stages */
	size_t sel;                  /* selected row */
	bool sel_auto;               /* follow the most interesting node until the user moves */
	char filter[64];
	int sort;                    /* NF_SORT_*: the order of the stage rows */
	int state_filter;            /* NF_SF_*: all, failed only, running only */

	nf_vcrit *crits;
	size_t ncrits;
	size_t ngates, ngates_done;  /* gate nodes of the run, and those that ended */
	nf_state gate_state;         /* of the last gate node */
	char *gate_name;
	char *gate_reason;

	nf_vversion *versions;
	size_t nversions;
	bool registry_known;         /* the registry tables exist */

	nf_valert *alerts;
	size_t nalerts;
	bool alerts_known;
	bool slurm_run;              /* live: the run has Slurm jobs in the store */
	double *spark;               /* the monitored metric over recent runs, oldest first */
	size_t nspark;
	char *spark_metric;
	size_t alert_sel;
	size_t reg_sel;

	/* from the DAG file, when it can be read */
	char **stage_names;          /* stage name -> max attempts, parallel arrays */
	int *stage_max;
	size_t nstage_max;
	nf_strmap *stage_index;      /* stage name -> its position + 1 (100 000 stages) */
	char *monitor_metric;        /* first metric named by an alert rule */
	char **gate_metrics;         /* the metric each gate criterion names first */
	size_t ngate_metrics;
	/* the pipeline's schedule, from the run's DAG file or the one `dash FILE` names */
	char *dag_path;              /* `dash FILE`; NULL */
	char *pipeline;              /* the pipeline's name in that file; NULL */
	char *schedule;              /* as written; NULL: none (or the file cannot be read) */
	nf_cron cron;
	nf_tz tz;                    /* tz.name: the pipeline's timezone, "UTC" by default */

	/* the log tail of the selected node */
	char *log_path;              /* absolute; NULL when the node has none */
	char *log_node;
	int log_attempt;
	char **log_lines;
	size_t nlog_lines;
	off_t log_size;
	int64_t log_mtime_ns;

	int64_t next_gov_ms;         /* monotonic: the next reload of gate, registry, alerts */
	bool gov_stale;              /* something changed since that reload */
	char message[160];           /* the footer's transient message */
	int64_t message_until;       /* monotonic ms */
} nf_view;

/* Opens the view of run_id (0: the running or last run, following newer ones). Without a
 * run named, a missing state.db is no error: the view waits for the first run (st NULL)
 * and nf_view_poll opens the store once a run has begun. dag_path (may be NULL): the DAG
 * file whose schedule to show until a run names its own. */
int nf_view_open(nf_view *v, const char *state_dir, int64_t run_id, bool live, const char *dag_path);
void nf_view_close(nf_view *v);
/* Checks data_version and reloads what may have changed; returns NF_V_* bits. */
unsigned nf_view_poll(nf_view *v);
/* Loads run id (all of it); returns NF_V_* bits. */
unsigned nf_view_load_run(nf_view *v, int64_t run_id);
/* An event of the run in this process. */
unsigned nf_view_event(nf_view *v, const nf_run_event *ev);
/* Rebuilds the visible rows (after the filter, an expansion or new nodes). */
void nf_view_rows(nf_view *v);
/* The node of the selected row (a group: its most interesting instance), or -1. */
ssize_t nf_view_sel_node(const nf_view *v);
/* Moves the automatic selection to the most interesting node; true when it moved. */
bool nf_view_autoselect(nf_view *v);
/* Moves a list cursor *sel over n rows for a moving action (NF_A_UP ... NF_A_BOTTOM; page:
 * the rows of a page); true when the action is one of those. */
bool nf_view_list_move(size_t *sel, size_t n, int action, int page);
/* Re-reads the log of the selected node when it grew or the node changed; NF_V_LOG or 0. */
unsigned nf_view_log(nf_view *v, size_t max_lines);
/* Reloads the gate, registry and alerts at the next poll. */
void nf_view_reload_gov(nf_view *v);
/* Acknowledges an alert (the alerts module's function when it exists). */
int nf_view_ack_alert(nf_view *v, int64_t id);
/* Promotes model's version (version 0: rolls the model back) as `ntflow registry promote`
 * and `rollback` do, under the workspace lock, never waiting for it: NF_EBUSY naming the
 * holder while a run holds it. *done (caller frees) says what changed (regact.c). */
int nf_view_registry_act(nf_view *v, char **done, const char *model, int version);
/* The next time the pipeline's schedule fires after now (seconds since the epoch), in
 * *next: false when there is no schedule (or it never fires again). */
bool nf_view_next_fire(const nf_view *v, int64_t now, int64_t *next);
/* Estimated real time the run ends; 0 when unknown. */
int64_t nf_view_eta(const nf_view *v, int64_t now);
void nf_view_message(nf_view *v, const char *fmt, ...) NF_PRINTF(2, 3);
bool nf_state_active(nf_state s);

/* ---- panes ---- */

typedef struct nf_pane nf_pane;
typedef struct nf_pane_ops {
	const char *title;
	/* Draws the pane's content into w (its full size; the first row is the title line). */
	void (*draw)(nf_pane *p, const nf_view *v, WINDOW *w);
	/* One line for a collapsed pane (the title line's text). */
	void (*summary)(nf_pane *p, const nf_view *v, char *buf, size_t size);
	/* An action of the key table (NF_A_*, keys.h) while the pane has the focus: true when
	 * it was used. */
	bool (*on_action)(nf_pane *p, nf_view *v, int action);
	/* A mouse click on row (0: the title line) of the pane: true when it selected one. */
	bool (*on_click)(nf_pane *p, nf_view *v, int row);
	void (*on_resize)(nf_pane *p, int rows, int cols);
	/* Rows it would like (title included) for this view; the layout may give fewer. */
	int (*want_rows)(const nf_pane *p, const nf_view *v);
	unsigned deps;               /* NF_V_* bits it shows */
	int min_rows;                /* expanded: title + this many */
	bool focusable;
} nf_pane_ops;

struct nf_pane {
	const nf_pane_ops *ops;
	WINDOW *win;
	int y, x, h, w;
	int top;                     /* first visible row, for the scrolling panes */
	bool dirty, focused, collapsed;
};

extern const nf_pane_ops nf_pane_header;
extern const nf_pane_ops nf_pane_stages;
extern const nf_pane_ops nf_pane_gate;
extern const nf_pane_ops nf_pane_registry;
extern const nf_pane_ops nf_pane_alerts;
extern const nf_pane_ops nf_pane_log;

/* ---- drawing (draw.c) ---- */

enum {
	NF_C_OK = 1, NF_C_RUN, NF_C_FAIL, NF_C_CACHED, NF_C_DIM, NF_C_GATE, NF_C_TITLE,
	NF_C_HIGH, NF_C_MEDIUM, NF_C_LOW, NF_C_BAR, NF_C__COUNT
};

/* Decides colours (NO_COLOR, has_colors) and symbols (the locale's codeset). */
void nf_draw_init(bool force_mono, bool force_ascii);
bool nf_draw_utf8(void);
/* The attribute for a colour role (a bold/dim/underline stand-in without colours). */
attr_t nf_draw_attr(int role);
attr_t nf_draw_state_attr(nf_state s);
const char *nf_draw_state_symbol(nf_state s);
const char *nf_draw_sym(const char *utf8, const char *ascii);
/* Writes s at (y, x) clipped to width columns (UTF-8 aware); returns the columns used. */
int nf_draw_text(WINDOW *w, int y, int x, int width, const char *s);
int nf_draw_printf(WINDOW *w, int y, int x, int width, const char *fmt, ...) NF_PRINTF(5, 6);
/* A title line: "── title ─────" across the width, reversed when focused. */
void nf_draw_title(WINDOW *w, int y, int width, const char *title, bool focused);
/* s cut to width columns with an ellipsis at the end when it is longer; a matrix instance's
 * name ("train[lr=0.1,seed=2]") is cut before its bracket, never inside it. */
void nf_draw_fit(char *out, size_t size, const char *s, int width);
/* nf_draw_text, with an ellipsis in the last column when s is longer than width. */
int nf_draw_text_cut(WINDOW *w, int y, int x, int width, const char *s);
/* Reverses row y of w over width columns, each cell keeping its colour (a selected row). */
void nf_draw_select_row(WINDOW *w, int y, int width);
/* A "[12/300]" position indicator at the right end of a title line when n rows do not fit
 * in the pane's body rows. */
void nf_draw_position(WINDOW *w, int width, size_t sel, size_t n, int body, bool focused);
/* Display columns of a UTF-8 string (one per code point). */
int nf_draw_width(const char *s);
/* Compact durations: "850ms", "4.2s", "3m05s", "1h02m"; "-" for < 0. */
void nf_draw_duration(char *out, size_t size, int64_t ms);
/* "12s ago", "3m ago", "2h ago", "4d ago". */
void nf_draw_age(char *out, size_t size, int64_t ms);
/* A sparkline of values into out (UTF-8 blocks, or ASCII " .:-=+*#"). */
void nf_draw_sparkline(char *out, size_t size, const double *values, size_t n, size_t width);
/* A timeline bar: columns [0, width) cover [t0, t1); fills [from, to). */
void nf_draw_bar(WINDOW *w, int y, int x, int width, int64_t t0, int64_t t1, int64_t from,
		 int64_t to, attr_t attr);

#endif
