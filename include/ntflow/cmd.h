/* cmd.h: what a subcommand is (one per cmd-*.c, listed in main.c) and the option parsing
 * every command shares. */
#ifndef NTFLOW_CMD_H
#define NTFLOW_CMD_H

#include <getopt.h>
#include <stdio.h>
#include "ntflow/util.h"
#include "ntflow/store.h"   /* nf_run_info in nf_cmp_run */

/* The options every command shares, parsed once, git-style, by nf_cmd_getopt for the
 * commands that take them (nf_cmd.shared), and never by the command itself:
 *   --state DIR  the workspace's state directory (NULL: $NTFLOW_STATE, else .ntflow/)
 *   --json       the output as JSON
 *   RUN          an operand naming a run: its id, `last`, or -N, the Nth run counting back
 *                from the last (-1 the last, -2 the one before); the -N form is taken
 *                out of option parsing, so the command sees it among its operands and
 *                hands it to nf_cmd_run_resolve as any other RUN. */
enum {
	NF_CMD_SHARED_STATE = 1 << 0,
	NF_CMD_SHARED_JSON  = 1 << 1,
	NF_CMD_SHARED_RUN   = 1 << 2,
};
typedef struct nf_cmd_opts {
	const char *state;
	bool json;
} nf_cmd_opts;
/* The shared options of the command being run (main.c resets them before it). */
extern nf_cmd_opts nf_cmd_opt;

typedef struct nf_cmd {
	const char *name;
	unsigned shared;       /* NF_CMD_SHARED_*: the shared options it takes */
	const char *usage;     /* "validate [-v] FILE..." */
	const char *summary;   /* one line for `ntflow --help` */
	const char *help;      /* the body of `ntflow help CMD`: options and behaviour */
	/* argv[0] is the command name; returns the process exit status. */
	int (*exec)(int argc, char **argv);
} nf_cmd;

/* What nf_cmd_getopt returns besides an option character. */
enum {
	NF_CMD_DONE = 0,    /* no more options: argv[optind] is the first operand */
	NF_CMD_BAD  = -1,   /* a bad option; the message and usage were printed: exit NF_EXIT_USAGE */
	NF_CMD_HELP = -2,   /* --help was given and the help printed: exit NF_EXIT_OK */
};

/* Parses the next option with getopt_long, so --opt=value, --opt value and -- work alike
 * in every command, and options may follow operands. --help is added to every command.
 * Call it in a loop until it returns NF_CMD_DONE; optarg/optind as with getopt. main()
 * resets getopt's state before each command. */
int nf_cmd_getopt(const nf_cmd *cmd, int argc, char **argv, const char *shortopts,
		  const struct option *longopts);
/* One meaning per short option letter in every command: -n is --dry-run, -f is --follow.
 * A command whose old short option gave the letter another meaning keeps it working for one
 * release and calls this: "ntflow CMD: -X is deprecated (...); use --LONG" on stderr. */
void nf_cmd_deprecated_short(const nf_cmd *cmd, char letter, const char *instead);
/* An option's count (0 to 10^9) into *out; else prints "ntflow CMD: OPT needs a number (0
 * or more), not 'ARG'" and returns false (exit NF_EXIT_USAGE). */
bool nf_cmd_parse_count(const nf_cmd *cmd, long *out, const char *opt, const char *arg);
/* Prints "usage: ntflow USAGE" to f. */
void nf_cmd_usage(const nf_cmd *cmd, FILE *f);
/* Prints the full help of a command to f. */
void nf_cmd_help(const nf_cmd *cmd, FILE *f);
/* Prints "ntflow: MSG" to stderr (MSG formatted, its control characters other than line
 * breaks and tabs as \xNN); the way commands report errors. */
void nf_cmd_error(const char *fmt, ...) NF_PRINTF(1, 2);
/* "seed=42 rows=20000" from a JSON object (a run's or a version's params), "-" when it is
 * empty, its text when it is no object; every key and value with its control characters
 * as \xNN (nf_buf_add_visible). Caller frees. */
char *nf_cmd_object_line(const char *json);
/* s (NULL: "") as a terminal should show it: its control characters as \xNN. Caller frees. */
char *nf_cmd_visible(const char *s);
/* printf to stdout (stderr) of text for a person, which quotes values: its control
 * characters other than line breaks and tabs written as \xNN. Not for JSON. */
void nf_cmd_printf(const char *fmt, ...) NF_PRINTF(1, 2);
void nf_cmd_eprintf(const char *fmt, ...) NF_PRINTF(1, 2);
/* Prints a listing's table (util.h) to stdout, fitted to $COLUMNS or the terminal's width
 * (the widest column cut with an ellipsis); whole lines when stdout is no terminal. */
void nf_cmd_print_table(const nf_table *t);

/* The command table (main.c). */
extern const nf_cmd *const nf_commands[];
extern const size_t nf_ncommands;
/* Prints `ntflow --version`: ntflow's version, then one line per library it runs with
 * (version.c). */
void nf_print_version(FILE *f);

/* commands */
extern const nf_cmd nf_cmd_validate;
extern const nf_cmd nf_cmd_graph;
extern const nf_cmd nf_cmd_runs;
extern const nf_cmd nf_cmd_show;
extern const nf_cmd nf_cmd_logs;
extern const nf_cmd nf_cmd_fmt;
extern const nf_cmd nf_cmd_schedule;
extern const nf_cmd nf_cmd_run;
extern const nf_cmd nf_cmd_backfill;
extern const nf_cmd nf_cmd_dash;
extern const nf_cmd nf_cmd_registry;
extern const nf_cmd nf_cmd_why;
extern const nf_cmd nf_cmd_cache;
extern const nf_cmd nf_cmd_prune;
extern const nf_cmd nf_cmd_metrics;
extern const nf_cmd nf_cmd_report;
extern const nf_cmd nf_cmd_alerts;
extern const nf_cmd nf_cmd_violations;
extern const nf_cmd nf_cmd_audit;
extern const nf_cmd nf_cmd_doctor;
extern const nf_cmd nf_cmd_scheduler;
extern const nf_cmd nf_cmd_complete;
extern const nf_cmd nf_cmd_init;
extern const nf_cmd nf_cmd_export;
extern const nf_cmd nf_cmd_diff;
extern const nf_cmd nf_cmd_import;

/* For the commands that read the workspace (state: --state DIR or NULL): opens its store
 * for reading (nf_store_open_read: it works on a full disk and a read-only workspace) and
 * reports what recovery did; on error reports it and returns the store's code
 * (nf_cmd_exit_status maps it). */
struct nf_store;
int nf_cmd_open_store(struct nf_store **st, char **dir, const char *state);
/* The same for a command that writes without the workspace lock (alerts ack). */
int nf_cmd_open_store_rw(struct nf_store **st, char **dir, const char *state);
/* The project root of a state directory: its parent, absolute when it resolves (logs, plot
 * and pipeline files are relative to it). Caller frees. */
char *nf_cmd_project_root(const char *state_dir);

/* The commands that write the workspace (run, registry promote|rollback|verify, cache
 * gc|verify) take its write lock first and share these long options: --wait (the default),
 * --no-wait and --wait-timeout DURATION. Put NF_CMD_LOCK_OPTIONS in the longopts. */
enum { NF_CMD_OPT_WAIT = 0x7f00, NF_CMD_OPT_NO_WAIT, NF_CMD_OPT_WAIT_TIMEOUT };
#define NF_CMD_LOCK_OPTIONS \
	{ "wait", no_argument, NULL, NF_CMD_OPT_WAIT }, \
	{ "no-wait", no_argument, NULL, NF_CMD_OPT_NO_WAIT }, \
	{ "wait-timeout", required_argument, NULL, NF_CMD_OPT_WAIT_TIMEOUT }
struct nf_wslock;
struct nf_wslock_opts;
struct nf_wslock_holder;
/* Applies option c (from nf_cmd_getopt) to o when it is one of those: 1 when it was, 0 when
 * it is another option, -1 after printing a usage error (a bad DURATION). Sets o->on_wait
 * to print the waiting message on stderr. */
int nf_cmd_lock_option(const nf_cmd *cmd, struct nf_wslock_opts *o, int c, const char *arg);
/* Prints "ntflow: MESSAGE" on stderr: the on_wait of nf_wslock_opts for every command. */
void nf_cmd_lock_wait_message(void *ctx, const struct nf_wslock_holder *holder, const char *message);
/* nf_cmd_open_store for a command that writes: takes the workspace's write lock as o says
 * (*lock, released with nf_workspace_unlock after the store is closed), then opens the
 * store. On error reports it and returns the code (nf_cmd_exit_status maps it). */
int nf_cmd_open_store_locked(struct nf_store **st, char **dir, struct nf_wslock **lock,
			     const char *state, const struct nf_wslock_opts *o);
/* The exit status of a command that failed with err: NF_EXIT_BUSY (the workspace is locked),
 * NF_EXIT_INTERRUPTED, NF_EXIT_DAMAGED (the state database is damaged, missing or not the
 * workspace's), else NF_EXIT_FAILED. */
int nf_cmd_exit_status(int err);
/* Resolves a RUN operand (NULL: the last run; a number, `last`, -N) and reports a failure: a malformed id
 * (NF_EINVALID, an NF_EXIT_USAGE) as "ntflow CMD: MSG", others as "ntflow: MSG in DIR". */
int nf_cmd_run_resolve(int64_t *id, const nf_cmd *cmd, struct nf_store *st, const char *dir,
		       const char *arg);
/* The same without reporting: 0, NF_EINVALID (not a RUN), NF_ENOTFOUND (no such run). */
int nf_cmd_run_lookup(struct nf_store *st, const char *arg, int64_t *id);

/* Adds key: a real time in ms as ISO 8601 UTC ("2026-11-23T10:43:12Z"), null when unset (<= 0). */
struct cJSON;
void nf_cmd_json_time(struct cJSON *o, const char *key, int64_t ms);

/* `schedule FILE --crontab` (cmd-schedule-crontab.c): prints the crontab lines that run the
 * pipeline of dag_path (its parsed schedule cron) from cron; an exit status. */
struct nf_pipeline;
struct nf_cron;
int nf_schedule_crontab(const char *dag_path, const struct nf_pipeline *pl, const struct nf_cron *cron);

/* Loads a DAG file for a command (nf_dag_load), printing its diagnostics, warnings
 * included, on stderr; on an error without diagnostics (an unreadable file) the message.
 * NF_EINVALID or the load's code. */
struct nf_dag;
int nf_cmd_load_dag(struct nf_dag **dag, const char *path);

/* `scheduler --status` and `schedule --status` (cmd-scheduler.c): the scheduler's view of
 * the workspace of dag_path (NULL: the current directory's) or state; an exit status. */
int nf_scheduler_status(const char *dag_path, const char *state, bool json);

/* `show RUN --perf` (cmd-show-perf.c): prints the run's performance record; an exit status. */
struct nf_run_info;
int nf_show_perf(struct nf_store *st, const struct nf_run_info *run, bool json);
/* The CPU per phase of a run with its budget (cmd-show-perf.c): `show`'s budget lines (none
 * when the run recorded no budget), or "phases" in top. */
struct nf_phase_row;
void nf_show_budget_text(const struct nf_phase_row *ph, size_t n);
void nf_show_phases_json(struct cJSON *top, const struct nf_phase_row *ph, size_t n);
/* The alerts of a run in `show` (cmd-show-alerts.c): a section of text, or "alerts" in top. */
struct nf_alert;
void nf_show_alerts_text(const struct nf_alert *alerts, size_t n);
void nf_show_alerts_json(struct cJSON *top, const struct nf_alert *alerts, size_t n);
/* An alert as JSON: whole for `ntflow alerts --json` (with run, pipeline, created and the
 * acknowledgement), else the fields show --json gives. Caller deletes it. */
struct cJSON *nf_alert_json(const struct nf_alert *a, bool whole);
/* A run's violations in `show` (cmd-violations.c), and a violation as JSON for show --json
 * and `ntflow violations --json`. Caller deletes the object. */
struct nf_violation;
void nf_show_violations_text(const struct nf_violation *v, size_t n);
struct cJSON *nf_violation_json(const struct nf_violation *v);


/* Comparing runs (cmd-compare.c), for `runs --params --metrics` and `diff`. A run with its
 * params (the runs row's JSON object: flattened key -> value) and metrics; each metric's
 * column name is bare METRIC when a single node gives that metric among the runs loaded
 * together, else NODE.METRIC. */
struct nf_metric;
typedef struct nf_cmp_run {
	struct nf_run_info info;      /* filled by the caller (nf_store_run_get / run_list) */
	struct cJSON *params;         /* an object, never NULL once loaded */
	struct nf_metric *metrics;
	size_t nmetrics;
	char **mcols;                 /* the column name of each metric */
} nf_cmp_run;
/* Loads params and metrics of runs whose info is filled, naming the metrics over all n. */
int nf_cmp_runs_load(struct nf_store *st, nf_cmp_run *runs, size_t n);
void nf_cmp_run_release(nf_cmp_run *r);
/* A metric's value by column name, a param by key (NULL when the run has none). */
const double *nf_cmp_metric(const nf_cmp_run *r, const char *column);
const struct cJSON *nf_cmp_param(const nf_cmp_run *r, const char *key);
/* A param value as text ("-" for NULL, a list as JSON text), a number as text (brief: 6
 * significant digits, else the shortest text that reads back the same). Caller frees. */
char *nf_cmp_param_text(const struct cJSON *v);
char *nf_cmp_number_text(double v, bool brief);
bool nf_cmp_param_equal(const struct cJSON *a, const struct cJSON *b);
/* Appends s to b as one CSV field (RFC 4180 quoting). */
void nf_cmp_csv_field(nf_buf *b, const char *s);
/* The columns to show, in order of first appearance over the runs: every metric column
 * (pick NULL) or those matching a picked name (equal, or NODE.NAME); every param key (pick
 * NULL) or those equal to a picked key or under it as a section. A pick nothing matches
 * still gets its column. Free with nf_cmp_columns_free. */
void nf_cmp_metric_columns(const nf_cmp_run *runs, size_t n, const char *const *pick, size_t npick,
			   char ***out, size_t *nout);
void nf_cmp_param_columns(const nf_cmp_run *runs, size_t n, const char *const *pick, size_t npick,
			  char ***out, size_t *nout);
void nf_cmp_columns_free(char **cols, size_t n);

#endif
