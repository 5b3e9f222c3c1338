/* lineage.h: OpenLineage RunEvents (https://openlineage.io) built from a run's and its stages'
 * facts (src/gov/lineage.c) and sent to a JSON Lines file and an HTTP endpoint
 * (src/gov/lineage-emit.c), so that a lineage server such as Marquez shows ntflow's
 * pipelines beside the jobs of other schedulers. */
#ifndef NTFLOW_LINEAGE_H
#define NTFLOW_LINEAGE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The spec version the events are written against (tests/lineage/OpenLineage.json). */
#define NF_LINEAGE_SCHEMA_URL "https://raw.githubusercontent.com/OpenLineage/OpenLineage/" \
	"f54c172ed4d6ffef68f034bfd1ff940159e31a1e/spec/OpenLineage.json#/definitions/RunEvent"

/* A file or folder a stage read or wrote. */
typedef struct nf_lineage_dataset {
	const char *name;               /* its absolute path */
	const char *identity;           /* "blob:<oid>", "tree:<oid>", "sha256:<hex>"; NULL: unknown */
} nf_lineage_dataset;

/* One event's facts; NULL or 0 members are left out. */
typedef struct nf_lineage_event {
	const char *type;               /* "START", "COMPLETE", "FAIL" or "ABORT" */
	int64_t time_ms;                /* eventTime, ms since the epoch */
	const char *ns;                 /* the jobs' namespace */
	const char *job;                /* PIPELINE, or PIPELINE.NODE for a stage's node */
	const char *run_uuid;           /* this run's (or this attempt's) runId */
	const char *parent_job;         /* a node's: the run's job and runId */
	const char *parent_uuid;
	const char *nominal_start;      /* the run's interval, ISO 8601 UTC */
	const char *nominal_end;
	const char *error;              /* errorMessage (FAIL, ABORT) */
	int64_t run_id;                 /* ntflow's run number (the ntflow facet) */
	const char *node;               /* a node's name, as ntflow prints it */
	int attempt;                    /* a node's attempt (1...) */
	const char *state;              /* ntflow's word for the outcome: "cached", "rejected"... */
	const char *dataset_ns;         /* the datasets' namespace, "file://HOST" */
	const nf_lineage_dataset *inputs;
	size_t ninputs;
	const nf_lineage_dataset *outputs;
	size_t noutputs;
} nf_lineage_event;

/* The RunEvent of ev (caller frees with cJSON_Delete). */
cJSON *nf_lineage_event_json(const nf_lineage_event *ev);

/* A runId: a name-based UUID (version 5 layout, SHA-1) of the workspace's store id, the run
 * and, for a stage's attempt, the node and the attempt (node NULL: the run's own). The same
 * facts give the same id, so START and its end agree; another workspace or run gives another. */
void nf_lineage_uuid(char out[37], const char *store_id, int64_t run_id, const char *node, int attempt);

/* Where events go: a file, an endpoint, or both. */
typedef struct nf_lineage_sink nf_lineage_sink;
/* file_abs: appended to (created 0644), or NULL; url: POSTed to, or NULL; timeout_ms: the
 * longest one POST may take. Opens nothing yet: the first event does. */
nf_lineage_sink *nf_lineage_sink_new(const char *file_abs, const char *url, int64_t timeout_ms);
/* Sends one event's text to each destination still working: one write(2) of the line with
 * O_APPEND, one POST. The first failure of a destination returns a negative code with a
 * message naming it, and the destination is dropped for the rest of the sink's life (so a
 * run warns once per destination, never per event); 0 otherwise. */
int nf_lineage_sink_send(nf_lineage_sink *s, const char *json);
void nf_lineage_sink_free(nf_lineage_sink *s);

#endif
