/* gov.h: model governance: the promotion gate, the model registry, drift alerts, metric
 * series, the performance record and the tamper-evident audit chain. One section per
 * source file of src/gov/; each module appends its own section. */
#ifndef NTFLOW_GOV_H
#define NTFLOW_GOV_H

#include <cjson/cJSON.h>
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

#endif
