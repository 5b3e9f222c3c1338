/* gov.h: model governance: the promotion gate, the model registry, drift alerts, metric
 * series, the performance record and the tamper-evident audit chain. One section per
 * source file of src/gov/; each module appends its own section. */
#ifndef NTFLOW_GOV_H
#define NTFLOW_GOV_H

#include <cjson/cJSON.h>
#include "ntflow/dag.h"
#include "ntflow/expr.h"
#include "ntflow/store.h"
#include "ntflow/cache.h"

/* ---- The audit chain (src/gov/audit.c) ----
 * Every run start and end, node outcome, gate decision, registry change, alert and
 * acknowledgement is one record: seq (1, 2, ...), time_ms, run_id (0: none), kind, a
 * canonical JSON payload (keys sorted, no spaces), prev_hash (the previous record's hash;
 * 64 zeros for the first) and hash = lowercase hex SHA-256 of the bytes
 * "SEQ|TIME_MS|RUN_ID|KIND|PAYLOAD|PREV_HASH" (integers in decimal). When NTFLOW_AUDIT_KEY
 * names a key file, hash is HMAC-SHA256 with the file's bytes as key (mac_kind "hmac"). */

/* Record kinds used so far (others may be added; verify does not interpret kinds). */
#define NF_AUDIT_RUN_START  "run-start"
#define NF_AUDIT_RUN_END    "run-end"
#define NF_AUDIT_NODE       "node"
/* Cached nodes' outcomes, up to NF_AUDIT_NODES_MAX in one record:
 * {"nodes":[P,...]}, each P a node record's payload (nf_audit_defer_node). */
#define NF_AUDIT_NODES      "nodes"
#define NF_AUDIT_NODES_MAX  256
#define NF_AUDIT_GATE       "gate"
#define NF_AUDIT_REGISTER   "register"
#define NF_AUDIT_PROMOTE    "promote"
#define NF_AUDIT_ROLLBACK   "rollback"
#define NF_AUDIT_ALERT      "alert"
#define NF_AUDIT_ACK        "alert-ack"
#define NF_AUDIT_REPEAT     "alert-repeat"   /* an alert raised again by another run */
#define NF_AUDIT_PRUNE      "prune"          /* a run's details forgotten (ntflow prune) */

/* Forgets run_id's details (nf_store_prune_run, redact_audit as there) and records it, by
 * actor, in the audit chain, in one transaction: {"by", "nodes_removed", "run"}, and
 * "records_emptied" with redact_audit, which is what lets audit verify accept the run's
 * emptied records. */
int nf_prune_run(nf_store *st, int64_t run_id, const char *actor, int64_t now_ms, bool redact_audit,
		 nf_prune_counts *out);
typedef struct nf_prune_totals {
	size_t runs;              /* newly pruned (not counting those only redacted now) */
	int64_t nodes, audit_records;
	size_t audit_runs;        /* runs whose per-stage audit records were emptied */
	size_t log_files;         /* log files removed, with those a crash left */
	uint64_t log_bytes;       /* the disk blocks they took */
	size_t file_errors;       /* files that could not be removed (each an on_warning) */
} nf_prune_totals;
typedef struct nf_prune_opts {
	const char *actor;        /* who, for the audit records */
	int64_t now_ms;
	void (*on_warning)(void *ctx, const char *msg);
	void *ctx;
} nf_prune_opts;
/* Prunes the candidates of nf_store_prune_plan in order (nf_prune_run, emptying the audit
 * records of those whose redact says so), removing each one's files (STATE_DIR/logs/RUN,
 * STATE_DIR/executor/RUN.log) once its transaction committed, or before it when the disk is
 * nearly full; first the files of runs pruned before that a crash or an error left. A file that cannot be removed is a warning. On an error the runs before
 * stay pruned (out counts them). */
int nf_prune(nf_store *st, const char *state_dir, const nf_prune_candidate *c, size_t n, const nf_prune_opts *o,
	     nf_prune_totals *out);

/* ---- The cache's retention (src/gov/cache-gc.c) ---- */

/* Calls fn for each output digest of an entry that is in the object store (not those of
 * uncached outputs); stops at the first error it returns. NF_ECORRUPT when the entry's
 * outputs cannot be read. */
int nf_cache_entry_each_digest(const nf_cache_entry *e, int (*fn)(void *ctx, const char *digest), void *ctx);
typedef struct nf_cache_gc_policy {
	long keep_runs, keep_days;  /* -1: no such rule; both -1: no entry goes, only the
	                             * objects no entry reaches */
	const char *pipeline;       /* only the entries its runs made go, and only its runs
	                             * count towards keep_runs (NULL: every pipeline's) */
	/* Instead of keep_runs and keep_days: the runs kept are those this prune policy keeps
	 * (a pipeline's cache_gc, with its keep_runs or keep_days: the newest runs, the last
	 * successful one, those of each model's production version and newest candidate),
	 * whether pruned before or not; NULL: keep_runs and keep_days as given. */
	const nf_prune_policy *prune;
	int64_t now_ms;             /* objects written since stay (a run may be storing them) */
	/* an entry kept but not restorable (its folder's manifest gone): dropped too */
	void (*on_broken)(void *ctx, const nf_cache_entry *e, const char *why);
	void *ctx;
} nf_cache_gc_policy;
typedef struct nf_cache_gc_totals {
	size_t entries, dropped;     /* entries there were, and dropped */
	size_t pruned_kept;          /* kept runs that were pruned (their reused runs' entries stay) */
	uint64_t objects, bytes;     /* objects removed and the bytes they took */
} nf_cache_gc_totals;
/* Drops the entries p lets go (an entry stays when a run the rules keep made or used it,
 * when a pipeline's last successful run used it, or, with keep_days, when it was made in
 * those days), then removes the objects no remaining entry reaches. A row without a key
 * (none is written so) stays, its objects with it. NF_EBUSY when a run is in progress.
 * Dropped entries are written at once (nf_store_flush). */
int nf_cache_gc(nf_store *st, nf_objstore *objs, const nf_cache_gc_policy *p, nf_cache_gc_totals *out);

/* Appends a record. payload (an object, borrowed) is written canonically. The write joins
 * the store's batch (nf_store_batch); commands outside a run call nf_store_flush after.
 * NF_EIO when NTFLOW_AUDIT_KEY is set but its file cannot be read, is empty, or is open to
 * other users (any group or other permission bit: they could read or replace the key). */
int nf_audit_append(nf_store *st, int64_t run_id, const char *kind, const cJSON *payload);

/* An open audit log: its prepared statements and the key, for a writer of many records
 * (a run). nf_audit_free(NULL) is a no-op; free it before closing the store. */
typedef struct nf_audit nf_audit;
int nf_audit_open(nf_audit **out, nf_store *st);
void nf_audit_free(nf_audit *a);
/* Like nf_audit_append, through an open log. */
int nf_audit_add(nf_audit *a, int64_t run_id, const char *kind, const cJSON *payload);
/* Like nf_audit_add, with the payload given as canonical JSON text (as
 * nf_audit_canonical_json writes it; not checked). */
int nf_audit_add_text(nf_audit *a, int64_t run_id, const char *kind, const char *canonical);
/* A node record's payload (NF_AUDIT_NODE), the fields a run writes for each node's final
 * state; nf_audit_node_payload writes it as canonical JSON without a cJSON tree (a cached
 * rerun writes one per stage). Caller frees. */
typedef struct nf_audit_node {
	const char *node, *kind, *state;
	int attempt;
	const char *cache_key;      /* NULL: "cache_key":null */
	int64_t reused_run;         /* 0: absent */
	bool has_exit, has_signal;  /* "exit_code" / "signal" present */
	int exit_code, signal;
	const char *reason;         /* NULL: absent */
} nf_audit_node;
char *nf_audit_node_payload(const nf_audit_node *n);
/* Queues n (of run run_id) for a "nodes" record instead of a record of its own: a cached
 * rerun would otherwise write, hash and insert one record per stage. The queue is written
 * when it holds NF_AUDIT_NODES_MAX nodes, before any other record of this log (so the
 * chain keeps the order of events), by nf_audit_close_run and by nf_audit_flush, which the
 * writer calls before each commit (nf_store_before_commit) so that every commit holds the
 * records of the nodes it holds. nf_audit_free drops what is queued. */
int nf_audit_defer_node(nf_audit *a, int64_t run_id, const nf_audit_node *n);
/* Appends the queued nodes as one "nodes" record (nothing when none is queued; a NULL log
 * is none). Joins the batch. */
int nf_audit_flush(nf_audit *a);
/* Whether records are HMACs (NTFLOW_AUDIT_KEY was set when the log was opened). */
bool nf_audit_keyed(const nf_audit *a);
/* Whether r's hash matches its contents (with a's key for an HMAC record): 1 yes, 0 no (it
 * was edited), NF_EINVALID for an HMAC record when a has no key. */
int nf_audit_record_matches(const nf_audit *a, const nf_audit_record *r);
/* Ends a run's part of the chain: stores the Merkle root over the run's records so far in
 * audit_roots, then appends the run-end record carrying that root (so the chain protects
 * it). root_out (may be NULL) receives the root. Joins the batch. */
int nf_audit_close_run(nf_audit *a, int64_t run_id, const char *status, char root_out[65]);

/* payload as canonical JSON: object keys sorted bytewise, no whitespace, strings with
 * \" \\ \n \r \t and \u00XX escapes only (\u00XX for control characters and for bytes
 * that are not part of valid UTF-8, so the text is always UTF-8), integral numbers below 2^53 without a fraction,
 * other numbers in the shortest %.15g to %.17g form that reads back the same. Caller frees. */
char *nf_audit_canonical_json(const cJSON *payload);
/* A record's hash as defined above (key NULL: SHA-256, else HMAC-SHA256 with key). */
int nf_audit_record_hash(char out[65], int64_t seq, int64_t time_ms, int64_t run_id, const char *kind,
			 const char *payload, const char *prev_hash, const unsigned char *key, size_t keylen);
/* The Merkle root of n record hashes (hex): leaves are the 32-byte hashes in order; a
 * parent is SHA-256(left || right); an odd node at the end of a level moves up unchanged.
 * One hash: itself; none: SHA-256 of the empty string. NF_ECORRUPT for a malformed hash. */
int nf_audit_merkle_root(char out[65], const char *const *hashes, size_t n);

/* The same root computed streaming (src/gov/merkle.c): leaves added in order, one node
 * per level held, so a run's hundreds of thousands of record hashes are never all held. */
#define NF_MERKLE_LEVELS 64
typedef struct nf_merkle {
	unsigned char node[NF_MERKLE_LEVELS][32];   /* level L's pending left node, when bit L of have */
	uint64_t have;
	size_t n;                                    /* leaves added */
} nf_merkle;
void nf_merkle_init(nf_merkle *m);
void nf_merkle_add(nf_merkle *m, const unsigned char leaf[32]);
/* Adds a leaf written as 64 lower-case hex digits; NF_ECORRUPT (message set) otherwise. */
int nf_merkle_add_hex(nf_merkle *m, const char *hex);
/* The root of the leaves added so far (nf_audit_merkle_root's), as hex. */
void nf_merkle_root(const nf_merkle *m, char out[65]);


typedef struct nf_audit_report {
	size_t nrecords;                /* records found sound before the first problem */
	size_t nemptied;                /* of them, emptied by `prune --redact-audit` (hashes only) */
	size_t nroots;                  /* Merkle roots checked */
	int64_t bad_seq;                /* the record the problem is about (0: a run's root) */
	char *problem;                  /* NULL: all is well; else one line */
} nf_audit_report;
void nf_audit_report_release(nf_audit_report *r);
/* Walks the chain and the Merkle roots; the first edited, deleted or inserted record is
 * described in out->problem. Returns 0 (whatever it found), NF_EIO for an unreadable key,
 * NF_EINVALID when HMAC records exist and NTFLOW_AUDIT_KEY is not set, or a database error. */
int nf_audit_verify(nf_store *st, nf_audit_report *out);
/* The SHA-256 over each emptied record of run_id, in seq order, as "SEQ|TIME_MS|KIND|HASH\n"
 * (lowercase hex into out), and how many: what a prune record's emptied_sha256 and
 * records_emptied pin, so that verify can tell a record emptied, relabelled or retimed after
 * the prune. */
int nf_audit_emptied_digest(nf_store *st, int64_t run_id, char out[65], int64_t *count);
/* Before prune --redact-audit empties run_id's per-stage records: each still matches its
 * hash (with NTFLOW_AUDIT_KEY for HMACs), and those already empty are exactly the ones the
 * run's last prune record pinned; else NF_ECORRUPT, so that emptying never hides a record
 * edited before. */
int nf_audit_check_emptiable(nf_store *st, int64_t run_id);

/* ---- Drift alerts (src/gov/alerts.c) ----
 * A monitor's alert rules are evaluated over its metrics once it succeeded. An alert is
 * identified by its pipeline, monitor, rule, severity, condition and the data it was
 * computed on (data_key: the monitor's cache key): the first run to raise it adds a row and,
 * with the monitor's on_alert at most as severe, a trigger row that asks the scheduler for
 * a run; a later run that raises it again (a cached rerun, a rerun on the same data) only
 * counts it (count, last seen, last run; an alert-repeat audit record), acknowledged or
 * not, and asks for no run. Without a data key an alert is one per (run, monitor, rule). */

/* The monitor being judged. lookup reads its metrics (expr.h's contract). */
typedef struct nf_alert_source {
	const char *pipeline;
	int64_t run_id;
	const char *monitor;            /* node name */
	const nf_stage *stage;          /* its rules, on_alert */
	nf_expr_lookup_fn lookup;
	void *ctx;
	bool no_triggers;               /* a run an alert started asks for no further runs */
	const char *data_key;           /* the identity of the data its metrics were computed
	                                 * on (its cache key); NULL: none */
} nf_alert_source;
/* Evaluates every rule; records the ones that fire (an alert, a trigger when on_alert asks,
 * an audit record through audit when not NULL; or, for an alert of the same identity an
 * earlier run raised, one more count and an alert-repeat record), joining the batch.
 * *fired receives them as stored (new, raised again with repeat set, or recorded by an
 * earlier attempt of this run), *nfired their count. A rule that cannot be
 * evaluated (a missing metric, a division by zero) makes it return NF_EINVALID naming the
 * first such rule, after the others were evaluated and recorded (*fired is set then too);
 * a rule reading production.NAME with nothing in production does not fire. */
int nf_alerts_evaluate(nf_alert **fired, size_t *nfired, nf_store *st, nf_audit *audit,
		       const nf_alert_source *src);
/* Acknowledges an open alert (with an audit record). NF_ENOTFOUND, NF_EEXISTS when it was
 * acknowledged already. Commits at once. */
int nf_alert_ack(nf_store *st, int64_t id, const char *note, const char *actor);

/* Records an alert raised by something other than a monitor's rule (a gate's high-severity
 * violation, an elevated risk tier, see below): the caller fills a (pipeline, run_id,
 * monitor: the node that raised it, rule, severity, expr, values_json, the comparison's
 * sides, summary, created_ms, data_key) and the alert is recorded, deduplicated by identity
 * and audited as a rule's is, with a trigger row when want_trigger. *a becomes the alert as
 * stored (repeat set when an earlier run raised it). Joins the batch. */
int nf_alert_raise(nf_store *st, nf_audit *audit, nf_alert *a, bool want_trigger);

/* ---- The performance record (src/gov/perf.c) ---- */
/* Per node of a run (topological order): its latest attempt's wall, CPU and peak RSS, and
 * the medians over the same node's last `window` successful, non-cached runs of the same
 * pipeline before this one. */
int nf_perf_record(nf_store *st, int64_t run_id, size_t window, nf_perf_row **out, size_t *n);

/* ---- CPU budgets per phase (src/gov/budget.c) ----
 * A run's CPU per phase (its stages' phase attribute, "other" without) is compared with a
 * baseline: one earlier run's (cpu_baseline = RUN) or the median of the last N earlier runs
 * (cpu_baseline = "median:N"), counting only phases in which every stage ran a process:
 * a cached stage did no work, so neither zero nor the reused attempt's CPU says anything
 * about the change being measured (man/ntflow-dag.5, CPU BUDGETS). */
typedef struct nf_cpu_budget {
	int64_t run;                  /* cpu_baseline = RUN; 0: the median form */
	int median;                   /* cpu_baseline = "median:N" */
	double target_pct;            /* cpu_target_reduction */
} nf_cpu_budget;

typedef enum {
	NF_BUDGET_NOT_COMPARED,       /* a stage of the phase did not run here (cached, skipped, failed) */
	NF_BUDGET_NO_BASELINE,        /* fewer earlier runs than asked, or a baseline of 0 ms */
	NF_BUDGET_MET,
	NF_BUDGET_MISSED,
} nf_budget_status;
const char *nf_budget_status_name(nf_budget_status s);
/* A baseline below this many ms of CPU is no baseline: too small to measure a reduction on. */
#define NF_BUDGET_MIN_MS 10

/* The verdict for one phase: complete says every stage of it ran in this run; hist holds the
 * phase's CPU in the earlier runs the baseline reads (nhist of them; need are required: 1
 * for a run id, N for the median); cpu_ms is this run's. Sets *baseline_ms (the median of
 * hist) when there is one and *reduction_pct when it could be computed (has_* say which):
 * met when the reduction, to a tenth of a percent, is at least target_pct. */
nf_budget_status nf_budget_judge(bool complete, const int64_t *hist, size_t nhist, size_t need, int64_t cpu_ms,
				 double target_pct, bool *has_baseline, int64_t *baseline_ms,
				 bool *has_reduction, double *reduction_pct);
/* At a run's end: records each phase's CPU and wall time and, when b is not NULL, its
 * baseline, reduction and verdict (joins the batch). */
int nf_budget_record(nf_store *st, int64_t run_id, const char *pipeline, const nf_cpu_budget *b);

/* ---- The promotion gate (src/gov/gate.c) ----
 * A gate evaluates each `require` criterion against its needs' metrics and, through
 * production.NAME, the metrics of the model version in production. A criterion whose top
 * node is a comparison records both sides. A criterion that reads production when no
 * version is in production passes with a note saying so; a missing metric, a division by
 * zero or an unparsed criterion fails it with the message as its note. */

/* Evaluates n criteria through lookup (expr.h's contract: NF_ENOTFOUND, NF_ENOPROD). Never
 * fails: errors become failed criteria. Release *out with nf_gate_result_release. */
void nf_gate_evaluate(nf_gate_result *out, const char *name, const nf_criterion *require, size_t n,
		      nf_expr_lookup_fn lookup, void *ctx);
/* The same with the metrics' slices for max_gap/min/max (expr.h). A criterion that uses one
 * with no slices of its metric fails with a note saying so; one that evaluated notes which
 * slices gave the value ("max_gap(accuracy): lowest region=APAC 0.71, highest ..."). */
void nf_gate_evaluate_slices(nf_gate_result *out, const char *name, const nf_criterion *require, size_t n,
			     nf_expr_lookup_fn lookup, nf_expr_slices_fn slices, void *ctx);
/* The failed criteria in one line, for the rejected gate's reason:
 * "accuracy >= 0.85 (0.8 vs 0.85); ece <= 0.08: metric 'ece' is missing". Caller frees. */
char *nf_gate_failure_text(const nf_gate_result *r);
/* Appends the gate as the table ntflow show and ntflow run print: a "gate NAME: passed"
 * line, then one line per criterion (criterion, value, threshold, verdict, note). */
void nf_gate_format_table(nf_buf *out, const nf_gate_result *r);
/* The criteria as the JSON array ntflow show --json and the audit chain hold: {expr,
 * value, threshold, verdict, note}, null for a missing side or note. Caller deletes it. */
cJSON *nf_gate_criteria_json(const nf_gate_result *r);

/* ---- Cohorts, violations and risk (src/gov/violations.c) ----
 * A run belongs to a cohort (ntflow run --cohort, else the pipeline's cohort template). Each
 * criterion of a gate that fails is a violation: of the type its criterion { } names (a
 * require string's, and a block's without one: the gate's name), high when its severe_when
 * holds and medium otherwise. The pipeline's risk { } scores the run from a gate's metrics
 * and puts the score in a tier. A high violation and an elevated tier each raise an alert
 * (nf_alert_raise) named after the gate: rule "violation:TYPE" or "risk:elevated". */
#define NF_AUDIT_VIOLATION  "violation"
#define NF_AUDIT_RISK       "risk"
#define NF_AUDIT_VIOLATION_MODEL "violation-model"   /* the version a violation's run registered */

/* Whether id can name a cohort: 1 to 128 bytes of valid UTF-8 with no control characters
 * (C0, DEL, C1). NF_EINVALID with the reason and the rule. */
int nf_cohort_check(const char *id);
/* A failed criterion's severity: high when severe_when (NULL or unparsed: never) evaluates
 * true through lookup and slices (max_gap/min/max, as the gate; NULL: none), else medium
 * (also when it cannot be evaluated). */
nf_severity nf_violation_severity(const nf_criterion *severe_when, nf_expr_lookup_fn lookup, nf_expr_slices_fn slices,
				  void *ctx);

/* A gate just evaluated in a run: what the violations of its failed criteria need. */
typedef struct nf_violation_source {
	const char *pipeline;
	int64_t run_id;
	const char *cohort;             /* NULL: none */
	const nf_stage *gate;           /* its criterion { } blocks, then its require strings */
	const nf_gate_result *result;   /* its verdicts, in that order */
	nf_expr_lookup_fn lookup;       /* the gate's metrics, for severe_when */
	void *ctx;
	nf_expr_slices_fn slices;       /* their slices, called with ctx (NULL: none) */
} nf_violation_source;
/* Records a violation (and its audit record, through audit when not NULL) for each failed
 * criterion of src->result; *out (may be NULL) receives them, *n their count. Joins the
 * batch. */
int nf_violations_record(nf_violation **out, size_t *n, nf_store *st, nf_audit *audit,
			 const nf_violation_source *src);
/* The version run_id registered (model, version): written on the violations of its gate
 * (NULL: of every gate), and a violation-model record (pipeline, gate, criterion, type,
 * model, version) for each in the audit chain, through audit when not NULL. Joins the batch. */
int nf_violations_set_model(nf_store *st, nf_audit *audit, int64_t run_id, const char *gate, const char *model,
			    int version);
/* The run's risk: r's score evaluated through lookup and slices (NULL: none) and its tier
 * (nf_risk_tier). The score's error (a missing metric: NF_ENOTFOUND, NF_ENOPROD,
 * NF_EINVALID) is returned with its message. */
int nf_risk_evaluate(double *score, const char **tier, const nf_risk *r, nf_expr_lookup_fn lookup,
		     nf_expr_slices_fn slices, void *ctx);
/* Records a run's risk (and its audit record). Joins the batch. */
int nf_risk_record(nf_store *st, nf_audit *audit, int64_t run_id, const nf_risk *r, double score, const char *tier);

/* ---- The model registry (src/gov/registry.c, registry-why.c, reconcile.c, artifact.c) ----
 * Each run that produced a model's artifact registers a version (1, 2, ... per model) with
 * a copy of the artifact in STATE/registry/MODEL/VERSION/BASENAME, its SHA-256 (a folder:
 * the SHA-256 of a manifest of its files), its metrics, params and gate outcome. Status:
 * candidate, production (at most one per model, enforced by the schema), archived,
 * rolled-back (taken out of production by a rollback: it never returns on its own, only by
 * a forced promotion), or corrupt (its copy failed verification; never promoted again). The
 * production artifact is also placed at MODELS_DIR/current/MODEL/BASENAME and candidates at
 * MODELS_DIR/candidates/MODEL/vN/BASENAME, each written to a temporary name and renamed;
 * the files follow the database (nf_registry_reconcile puts them back after a crash).
 *
 * A person's decision (registry promote or rollback) stands until a model with different
 * bytes passes the gate: a run whose gate passes again for the bytes of a version that is
 * not in production returns that version to production only when no such decision stands,
 * the version was not rolled back and the run may change production (req->hold). */

/* The audit kind of a version found corrupt by verification or before a promotion
 * (registrations, promotions and rollbacks use NF_AUDIT_REGISTER/PROMOTE/ROLLBACK). */
#define NF_AUDIT_CORRUPT    "registry-corrupt"
/* The audit kind of a promotion a run's passed gate asked for and that was not done (a
 * failed run, a rolled-back version, a person's decision that stands). */
#define NF_AUDIT_HELD       "promotion-held"

typedef struct nf_register_req {
	const char *model;
	const char *pipeline;
	int64_t run_id;
	const char *commit;           /* NULL outside git */
	const char *artifact;         /* absolute path of the file or folder to register */
	const char *source_path;      /* as written in the model block */
	const char *metrics_json;     /* NULL: {} */
	const char *params_json;      /* NULL: {} */
	const char *gate;             /* NULL: no gate */
	bool gate_passed;             /* with a gate: production; else candidate */
	const char *hold;             /* not NULL: this run may not change production, and why
	                               * ("run 4 failed: drift failed"); a passed gate then
	                               * leaves a candidate */
	const char *gate_outcome;     /* pass, fail, none */
	const char *state_dir;        /* absolute */
	const char *models_dir;       /* absolute: ROOT/models */
	const char *cohort;           /* the run's cohort; NULL: none */
} nf_register_req;

/* Registers a new version; with a passed gate (and no hold) it goes to production and the
 * previous production version is archived in the same transaction. Fills *out (may be NULL)
 * and returns 0. An artifact byte-identical to a version of the model (not a corrupt one) is
 * not registered again: with a passed gate that version returns to production (0) unless
 * something holds it back (see above; recorded as a "held" event); else returns 1 with that
 * version in *out. *note (may be NULL; caller frees) says why a passed gate did not change
 * production ("not promoted: run 4 failed: drift failed"), else NULL. */
int nf_registry_register(nf_model_version *out, char **note, nf_store *st, const nf_register_req *req);
/* One version; version 0: the production one, else the newest. NF_ENOTFOUND with
 * "no model 'x' in the registry" or "model 'x' has no version 7". */
int nf_registry_get(nf_model_version *out, nf_store *st, const char *model, int version);
/* The metrics of model's production version as an object (caller deletes). NF_ENOPROD. */
int nf_registry_production_metrics(cJSON **out, nf_store *st, const char *model);

/* Promotes a version to production (archiving the current one, in one transaction), places
 * its artifact in MODELS_DIR/current/ and removes its copy under candidates/. A version
 * whose gate did not pass, or that was rolled back, needs force and a reason, recorded with
 * actor. The copy is re-hashed first: a mismatch marks
 * it corrupt. NF_ENOTFOUND, NF_EINVALID (already in production, needs --force or a
 * reason), NF_ECORRUPT. *out is the promoted version, *previous (when not NULL) the
 * version number archived (0: none). */
int nf_registry_promote(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
			const char *model, int version, bool force, const char *reason, const char *actor);
/* Returns the previous production version to production: the most recently archived one;
 * the current one becomes rolled-back. NF_ENOTFOUND when there is none. *previous: the
 * version taken out of production (0: none). */
int nf_registry_rollback(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
			 const char *model, const char *reason, const char *actor);
/* Re-hashes every version's registry copy (of model, NULL: all) and checks the workspace
 * copies of production and candidate versions (and that a version no longer a candidate has
 * no copy left under candidates/). Calls bad(ctx, version, problem) for each mismatch; a bad
 * registry copy marks the version corrupt. *checked counts the versions, *nbad the
 * problems. */
int nf_registry_verify(nf_store *st, const char *state_dir, const char *model,
		       void (*bad)(void *ctx, const nf_model_version *v, const char *problem), void *ctx,
		       size_t *checked, size_t *nbad);

/* What nf_registry_reconcile did: one line per copy it repaired or removed ("repaired
 * models/current/clf: it held clf v2; now clf v3, the production version") and per copy it
 * could not restore ("cannot restore ..."), in order. */
typedef struct nf_reconcile_report {
	char **lines;
	size_t n;
	size_t nrepaired, nfailed;
} nf_reconcile_report;
void nf_reconcile_report_release(nf_reconcile_report *r);
/* Makes the files under each models folder the registry knows follow the database: the
 * production version's copy at MODELS_DIR/current/MODEL/, each candidate's at
 * MODELS_DIR/candidates/MODEL/vN/, no copy left there of a version that is no longer a
 * candidate, and no temporary copy a dead process left behind. A copy is rebuilt from the
 * version's registry copy (a missing registry copy of a file artifact from the cache's
 * objects), in a temporary folder that is synced and renamed into place. The production
 * copy is always re-hashed (through the stat cache unless full), candidates' only with full
 * (else their presence is checked). Returns 0, or NF_ECORRUPT (with the first such line as
 * message) when some copy could not be restored; *out says what was done either way. */
int nf_registry_reconcile(nf_reconcile_report *out, nf_store *st, const char *state_dir, bool full);

/* ---- The registry against its audit chain (src/gov/registry-chain.c) ----
 * Each change of a model_versions row is recorded in the audit record of the change
 * (register, promote, rollback, registry-corrupt, registry-baseline, registry-restore),
 * in the same transaction: the payload's "rows" holds every row the change touched, whole,
 * as the table holds it after the change ({"COLUMN": value, ...}: text as a string, an
 * integer or real as a number, NULL as null); a restore's "removed" lists the rows it
 * deleted ({"model", "version"}). Replaying those records gives what each row must hold; a
 * difference was made outside ntflow. Records written before rows were recorded tell only
 * a version's status (a registration also artifact_sha256; a promotion or rollback also
 * forced, reason and actor): the first check that finds those agreeing records the rows
 * whole (registry-baseline), blessing the columns no record told. */
#define NF_AUDIT_BASELINE   "registry-baseline"
#define NF_AUDIT_RESTORE    "registry-restore"

typedef struct nf_registry_chain_report {
	char **lines;                 /* one per difference ("clf v2: status is 'production' in the
	                               * registry, the audit chain says 'archived'"), or per row put back */
	size_t n;
	size_t nversions;             /* versions compared (in the table or the chain) */
	size_t nlegacy;               /* agreeing versions the chain holds only in part */
} nf_registry_chain_report;
void nf_registry_chain_report_release(nf_registry_chain_report *r);
/* Compares the rows of model (NULL: every model) with the audit chain; each difference is a
 * line of *out: a column that differs (named, with both values), a row the chain never
 * recorded, a row the chain records that is missing, and a replayed record whose hash does
 * not match its contents (an HMAC only with NTFLOW_AUDIT_KEY) or that the next record does
 * not follow. Returns 0 whatever it found, or an error (NF_EIO for a refused key). */
int nf_registry_chain_compare(nf_registry_chain_report *out, nf_store *st, const char *model);
/* What every change of the registry does first: NF_ECORRUPT, saying the first difference,
 * when the registry and its chain differ (nothing is changed); else 0, after recording a
 * baseline of the versions the chain held only in part (*nbaseline, may be NULL: how many). */
int nf_registry_chain_check(nf_store *st, size_t *nbaseline);
/* Puts the rows back to what the chain records, in one transaction with a registry-restore
 * record: a row the chain never recorded is deleted, a differing or missing one rewritten.
 * *out has a line per row removed or restored (none when they agreed). NF_ECORRUPT, changing
 * nothing, when a replayed record itself was edited. */
int nf_registry_chain_restore(nf_registry_chain_report *out, nf_store *st);

/* The last of n events that left version in status (held events change nothing and are
 * not counted); NULL when none did. */
const nf_model_event *nf_registry_last_event(const nf_model_event *ev, size_t n, int version,
					     const char *status);
/* Whether an event is a person's decision: a promotion or a rollback made by a command,
 * not by a run. */
bool nf_registry_event_is_human(const nf_model_event *e);
/* Why v has its status, in one line, from the events of its model (ev, n; those of v
 * alone are enough): "its gate promote passed in run 3", "rolled back to by alice: REASON;
 * a person's decision: it stands until a model with different bytes passes the gate",
 * "rolled back by alice: ...", "not promoted: run 4 failed: drift failed". NULL when there
 * is nothing to say (archived versions). Caller frees. */
char *nf_registry_why(const nf_model_version *v, const nf_model_event *ev, size_t n);
/* For a production version, the same in a few words for narrow places (the dashboard):
 * "gate passed in run 3", "passed again in run 8", "rollback by alice", "forced by bob",
 * "promoted by bob"; NULL otherwise. Caller frees. */
char *nf_registry_why_brief(const nf_model_version *v, const nf_model_event *ev, size_t n);
/* ---- Prometheus (src/gov/prometheus.c) ---- */
/* The health of the workspaces' stores in Prometheus' text format (node_exporter's textfile
 * collector): each pipeline's newest run (status, id, start, duration), its last success,
 * its cache hit ratio and stage durations, each model's production version and metrics,
 * the open alerts by severity. names (one per store, or NULL for none): each series of a
 * store gets the label workspace="NAME", so that two workspaces with a pipeline or a model of
 * the same name give two series, not one twice. Appended to out. */
int nf_prometheus_render(nf_buf *out, struct nf_store *const *stores, const char *const *names, size_t nstores,
			 int64_t now_ms);
/* The same written to path through a temporary file and a rename. */
int nf_prometheus_write(const char *path, struct nf_store *const *stores, const char *const *names, size_t nstores,
			int64_t now_ms);
/* --textfile PATH: PATH/ntflow.prom when PATH is a folder, else PATH, whose folder must
 * exist. Caller frees *out. */
int nf_prometheus_textfile_path(char **out, const char *path);

/* Who is acting: $USER, else the password entry of the real uid, else "uid N". Caller frees. */
char *nf_registry_actor(void);

#endif
