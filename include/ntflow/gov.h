/* gov.h: model governance: the promotion gate, the model registry, drift alerts, metric
 * series, the performance record and the tamper-evident audit chain. One section per
 * source file of src/gov/; each module appends its own section. */
#ifndef NTFLOW_GOV_H
#define NTFLOW_GOV_H

#include <cjson/cJSON.h>
#include "ntflow/dag.h"
#include "ntflow/expr.h"
#include "ntflow/store.h"

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
#define NF_AUDIT_GATE       "gate"
#define NF_AUDIT_REGISTER   "register"
#define NF_AUDIT_PROMOTE    "promote"
#define NF_AUDIT_ROLLBACK   "rollback"
#define NF_AUDIT_ALERT      "alert"
#define NF_AUDIT_ACK        "alert-ack"

/* Appends a record. payload (an object, borrowed) is written canonically. The write joins
 * the store's batch (nf_store_batch); commands outside a run call nf_store_flush after.
 * NF_EIO when NTFLOW_AUDIT_KEY is set but its file cannot be read (or is empty). */
int nf_audit_append(nf_store *st, int64_t run_id, const char *kind, const cJSON *payload);

/* ---- The promotion gate (src/gov/gate.c) ----
 * A gate evaluates each `require` criterion against its needs' metrics and, through
 * production.NAME, the metrics of the model version in production. A criterion whose top
 * node is a comparison records both sides. A criterion that reads production when no
 * version is in production passes with a note saying so; a missing metric, a division by
 * zero or an unparsed criterion fails it with the message as its note. */
typedef struct nf_gate_criterion {
	char *expr;                   /* as written */
	bool has_left, has_right;     /* each side of a comparison, when it could be evaluated */
	double left, right;           /* shown as value and threshold */
	bool passed;
	char *note;                   /* NULL, or why: "metric 'auc' is missing" */
} nf_gate_criterion;

typedef struct nf_gate_result {
	char *name;                   /* the gate node */
	bool passed;                  /* every criterion passed */
	nf_gate_criterion *criteria;
	size_t n;
} nf_gate_result;

/* Evaluates n criteria through lookup (expr.h's contract: NF_ENOTFOUND, NF_ENOPROD). Never
 * fails: errors become failed criteria. Release *out with nf_gate_result_release. */
void nf_gate_evaluate(nf_gate_result *out, const char *name, const nf_criterion *require, size_t n,
		      nf_expr_lookup_fn lookup, void *ctx);
/* The failed criteria in one line, for the rejected gate's reason:
 * "accuracy >= 0.85 (0.8 vs 0.85); ece <= 0.08: metric 'ece' is missing". Caller frees. */
char *nf_gate_failure_text(const nf_gate_result *r);
void nf_gate_result_release(nf_gate_result *r);
/* Records every criterion of a gate of a run (joins the store's batch). */
int nf_gate_store(nf_store *st, int64_t run_id, const nf_gate_result *r);
/* The gates of a run with their criteria, in the order they were evaluated. */
int nf_gate_list(nf_store *st, int64_t run_id, nf_gate_result **out, size_t *n);
void nf_gate_result_list_free(nf_gate_result *g, size_t n);

/* ---- The model registry (src/gov/registry.c, src/gov/artifact.c) ----
 * Each run that produced a model's artifact registers a version (1, 2, ... per model) with
 * a copy of the artifact in STATE/registry/MODEL/VERSION/BASENAME, its SHA-256 (a folder:
 * the SHA-256 of a manifest of its files), its metrics, params and gate outcome. Status:
 * candidate, production (at most one per model, enforced by the schema), archived, or
 * corrupt (its copy failed verification; never promoted again). The production artifact is
 * also placed at MODELS_DIR/current/MODEL/BASENAME and candidates at
 * MODELS_DIR/candidates/MODEL/vN/BASENAME, each written to a temporary name and renamed. */
typedef struct nf_model_version {
	int64_t id;
	char *model;
	int version;
	char *pipeline;
	int64_t run_id;               /* 0: none */
	char *commit;                 /* NULL outside git */
	char *sha256;
	int64_t size;                 /* bytes (a folder: the sum of its files) */
	char *kind;                   /* file, dir */
	char *artifact_path;          /* the registry copy, relative to the state directory */
	char *source_path;            /* the artifact as the model block names it */
	char *models_dir;             /* relative to the state directory's parent, or absolute */
	char *metrics_json;           /* {"auc":0.93,"eval.f1":0.8} */
	char *params_json;
	char *gate;                   /* NULL: the model has no gate */
	char *gate_outcome;           /* pass, fail, none (no gate, or it did not decide) */
	char *status;                 /* candidate, production, archived, corrupt */
	int64_t created_ms, promoted_ms, archived_ms;
	bool forced;                  /* promoted by hand past a failed gate */
	char *reason, *actor;         /* of the last promotion or rollback */
} nf_model_version;
void nf_model_version_release(nf_model_version *v);
void nf_model_version_list_free(nf_model_version *v, size_t n);

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
	const char *gate_outcome;     /* pass, fail, none */
	const char *state_dir;        /* absolute */
	const char *models_dir;       /* absolute: ROOT/models */
} nf_register_req;

/* Registers a new version; with a passed gate it goes to production and the previous
 * production version is archived in the same transaction. Fills *out (may be NULL). */
int nf_registry_register(nf_model_version *out, nf_store *st, const nf_register_req *req);
/* Versions of one model (NULL: all), by model then version. */
int nf_registry_list(nf_store *st, const char *model, nf_model_version **out, size_t *n);
/* One version; version 0: the production one, else the newest. NF_ENOTFOUND with
 * "no model 'x' in the registry" or "model 'x' has no version 7". */
int nf_registry_get(nf_model_version *out, nf_store *st, const char *model, int version);
/* The metrics of model's production version as an object (caller deletes). NF_ENOPROD. */
int nf_registry_production_metrics(cJSON **out, nf_store *st, const char *model);

/* Promotes a version to production (archiving the current one, in one transaction) and
 * places its artifact in MODELS_DIR/current/. A version whose gate did not pass needs
 * force and a reason, recorded with actor. The copy is re-hashed first: a mismatch marks
 * it corrupt. NF_ENOTFOUND, NF_EINVALID (already in production, needs --force or a
 * reason), NF_ECORRUPT. *out is the promoted version, *previous (when not NULL) the
 * version number archived (0: none). */
int nf_registry_promote(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
			const char *model, int version, bool force, const char *reason, const char *actor);
/* Returns the previous production version to production: the most recently archived one
 * that was not itself rolled back; the current one is archived. NF_ENOTFOUND when there
 * is none. *previous: the version taken out of production (0: none). */
int nf_registry_rollback(nf_model_version *out, int *previous, nf_store *st, const char *state_dir,
			 const char *model, const char *reason, const char *actor);
/* Re-hashes every version's registry copy (of model, NULL: all) and checks the workspace
 * copies of production and candidate versions. Calls bad(ctx, version, problem) for each
 * mismatch; a bad registry copy marks the version corrupt. *checked counts the versions,
 * *nbad the problems. */
int nf_registry_verify(nf_store *st, const char *state_dir, const char *model,
		       void (*bad)(void *ctx, const nf_model_version *v, const char *problem), void *ctx,
		       size_t *checked, size_t *nbad);

/* A status change of a version, oldest first (for `registry show`). */
typedef struct nf_model_event {
	int version;
	char *action;                 /* register, archive, promote, rollback, corrupt */
	char *status;                 /* the status the version was left in */
	int64_t run_id;
	bool forced;
	char *reason, *actor;
	int64_t at_ms;
} nf_model_event;
int nf_registry_events(nf_store *st, const char *model, int version, nf_model_event **out, size_t *n);
void nf_model_event_list_free(nf_model_event *e, size_t n);
/* Who is acting: $USER, else the password entry of the real uid, else "uid N". Caller frees. */
char *nf_registry_actor(void);

#endif
