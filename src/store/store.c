/* store.c: opening the state database: pragmas, the forward-only schema migrations, the
 * cache of prepared statements, the lazy batch transaction and SQLite error mapping. */
#include "config.h"
#include "ntflow/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-internal.h"

/* The schema, one step per version: PRAGMA user_version is the number of steps applied.
 * Steps are never edited once released; a change is a new step at the end (later issues
 * add cache entries, registry versions, gate results, alerts, schedules and the audit
 * chain this way). */
static const char *const migrations[] = {
	/* 1: runs, their nodes, each node's attempts, and metrics. */
	"CREATE TABLE runs ("
	"  id           INTEGER PRIMARY KEY AUTOINCREMENT,"   /* never reused: logs/RUN/ */
	"  pipeline     TEXT    NOT NULL,"
	"  file         TEXT    NOT NULL DEFAULT '',"
	"  logical_date TEXT    NOT NULL DEFAULT '',"
	"  trigger      TEXT    NOT NULL DEFAULT 'manual',"
	"  params       TEXT    NOT NULL DEFAULT '{}',"
	"  git_commit   TEXT,"
	"  dirty        INTEGER NOT NULL DEFAULT 0,"
	"  started_ms   INTEGER NOT NULL,"
	"  finished_ms  INTEGER NOT NULL DEFAULT 0,"
	"  status       TEXT    NOT NULL,"
	"  pid          INTEGER NOT NULL DEFAULT 0,"
	"  pid_start    INTEGER NOT NULL DEFAULT 0,"          /* /proc/PID/stat starttime */
	"  boot_id      TEXT    NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX runs_status ON runs(status);"
	"CREATE INDEX runs_pipeline ON runs(pipeline, id);"
	"CREATE TABLE nodes ("
	"  id          INTEGER PRIMARY KEY,"
	"  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  seq         INTEGER NOT NULL,"                     /* topological position */
	"  name        TEXT    NOT NULL,"
	"  stage       TEXT    NOT NULL,"
	"  instance    TEXT,"
	"  kind        TEXT    NOT NULL,"
	"  state       TEXT    NOT NULL,"
	"  attempts    INTEGER NOT NULL DEFAULT 0,"
	"  started_ms  INTEGER NOT NULL DEFAULT 0,"
	"  finished_ms INTEGER NOT NULL DEFAULT 0,"
	"  reason      TEXT,"
	"  UNIQUE (run_id, name)"
	");"
	"CREATE INDEX nodes_run_seq ON nodes(run_id, seq);"
	"CREATE TABLE attempts ("
	"  node_id     INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	"  attempt     INTEGER NOT NULL,"
	"  state       TEXT    NOT NULL,"
	"  started_ms  INTEGER NOT NULL DEFAULT 0,"
	"  finished_ms INTEGER NOT NULL DEFAULT 0,"
	"  exit_code   INTEGER,"
	"  term_signal INTEGER,"
	"  wall_ms     INTEGER NOT NULL DEFAULT 0,"
	"  user_ms     INTEGER NOT NULL DEFAULT 0,"
	"  sys_ms      INTEGER NOT NULL DEFAULT 0,"
	"  max_rss_kb  INTEGER NOT NULL DEFAULT 0,"
	"  log_path    TEXT,"
	"  pgid        INTEGER NOT NULL DEFAULT 0,"
	"  pgid_start  INTEGER NOT NULL DEFAULT 0,"
	"  reason      TEXT,"
	"  PRIMARY KEY (node_id, attempt)"
	") WITHOUT ROWID;"
	"CREATE TABLE metrics ("
	"  node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	"  name    TEXT    NOT NULL,"
	"  value   REAL    NOT NULL,"
	"  PRIMARY KEY (node_id, name)"
	") WITHOUT ROWID;"
	"CREATE INDEX metrics_name ON metrics(name);",
	/* 2: the host a run was begun on, so recovery leaves other machines' runs alone. */
	"ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';",
	/* 3: the cache (key -> outputs), each node's key and why it ran, and what a run ran on. */
	"CREATE TABLE cache_entries ("
	"  key         TEXT    PRIMARY KEY,"
	"  pipeline    TEXT    NOT NULL,"
	"  node        TEXT    NOT NULL,"
	"  outputs     TEXT    NOT NULL,"                      /* [{"path":..,"digest":..}] */
	"  out_digest  TEXT    NOT NULL,"
	"  metrics     TEXT    NOT NULL DEFAULT '{}',"
	"  components  TEXT    NOT NULL,"
	"  run_id      INTEGER NOT NULL,"
	"  git_commit  TEXT,"
	"  created_ms  INTEGER NOT NULL"
	");"
	"CREATE INDEX cache_entries_node ON cache_entries(pipeline, node, created_ms);"
	"ALTER TABLE nodes ADD COLUMN cache_key TEXT;"
	"ALTER TABLE nodes ADD COLUMN components TEXT;"
	"ALTER TABLE nodes ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE nodes ADD COLUMN reused_run INTEGER;"
	"ALTER TABLE nodes ADD COLUMN miss_reason TEXT;"
	"ALTER TABLE runs ADD COLUMN branch TEXT;"
	"ALTER TABLE runs ADD COLUMN dirty_paths TEXT NOT NULL DEFAULT '[]';"
	"ALTER TABLE runs ADD COLUMN dag_sha256 TEXT;"
	"ALTER TABLE runs ADD COLUMN ntflow_version TEXT;",
	/* 4: gate criteria with their values and verdicts; model registry versions and the
	 * history of their status changes. At most one production version per model. */
	"CREATE TABLE gate_results ("
	"  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  node        TEXT    NOT NULL,"
	"  idx         INTEGER NOT NULL,"                     /* position in require */
	"  expr        TEXT    NOT NULL,"
	"  left_value  REAL,"                                 /* NULL: not a comparison or missing */
	"  right_value REAL,"
	"  verdict     TEXT    NOT NULL,"                     /* pass | fail */
	"  note        TEXT,"
	"  PRIMARY KEY (run_id, node, idx)"
	") WITHOUT ROWID;"
	"CREATE TABLE model_versions ("
	"  id              INTEGER PRIMARY KEY,"
	"  model           TEXT    NOT NULL,"
	"  version         INTEGER NOT NULL,"
	"  pipeline        TEXT    NOT NULL DEFAULT '',"
	"  run_id          INTEGER,"                          /* outlives the run's rows */
	"  git_commit      TEXT,"
	"  artifact_sha256 TEXT    NOT NULL,"
	"  artifact_size   INTEGER NOT NULL,"
	"  artifact_kind   TEXT    NOT NULL DEFAULT 'file',"  /* file | dir */
	"  artifact_path   TEXT    NOT NULL,"                 /* the registry copy */
	"  source_path     TEXT    NOT NULL DEFAULT '',"      /* as the model block names it */
	"  models_dir      TEXT    NOT NULL DEFAULT '',"      /* workspace copies; relative: to the state dir's parent */
	"  metrics         TEXT    NOT NULL DEFAULT '{}',"
	"  params          TEXT    NOT NULL DEFAULT '{}',"
	"  gate            TEXT,"
	"  gate_outcome    TEXT    NOT NULL DEFAULT 'none',"  /* pass | fail | none */
	"  status          TEXT    NOT NULL,"                 /* candidate|production|archived|corrupt */
	"  created_ms      INTEGER NOT NULL,"
	"  promoted_ms     INTEGER NOT NULL DEFAULT 0,"
	"  archived_ms     INTEGER NOT NULL DEFAULT 0,"
	"  forced          INTEGER NOT NULL DEFAULT 0,"
	"  reason          TEXT,"
	"  actor           TEXT,"
	"  UNIQUE (model, version)"
	");"
	"CREATE UNIQUE INDEX model_versions_production ON model_versions(model)"
	"  WHERE status = 'production';"
	"CREATE TABLE model_events ("
	"  id      INTEGER PRIMARY KEY,"
	"  model   TEXT    NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  action  TEXT    NOT NULL,"                         /* register|promote|archive|rollback|corrupt */
	"  status  TEXT    NOT NULL,"                         /* the status it left the version in */
	"  run_id  INTEGER,"
	"  forced  INTEGER NOT NULL DEFAULT 0,"
	"  reason  TEXT,"
	"  actor   TEXT,"
	"  at_ms   INTEGER NOT NULL"
	");"
	"CREATE INDEX model_events_model ON model_events(model, id);",
	/* 5: drift alerts (one per run, monitor and rule), the runs they ask the scheduler
	 * for, and the audit chain with a Merkle root per finished run (src/gov/). */
	"CREATE TABLE alerts ("
	"  id          INTEGER PRIMARY KEY,"
	"  pipeline    TEXT    NOT NULL,"
	"  run_id      INTEGER NOT NULL,"                     /* outlives the run's rows */
	"  monitor     TEXT    NOT NULL,"                     /* node name */
	"  rule        TEXT    NOT NULL,"
	"  severity    TEXT    NOT NULL,"                     /* low | medium | high */
	"  expr        TEXT    NOT NULL,"
	"  vals        TEXT    NOT NULL DEFAULT '{}',"        /* the metrics the rule read */
	"  value       REAL,"                                 /* left side of a comparison */
	"  threshold   REAL,"                                 /* right side */
	"  summary     TEXT    NOT NULL DEFAULT '',"
	"  created_ms  INTEGER NOT NULL,"
	"  acked_ms    INTEGER NOT NULL DEFAULT 0,"
	"  ack_note    TEXT,"
	"  ack_by      TEXT,"
	"  UNIQUE (run_id, monitor, rule)"
	");"
	"CREATE INDEX alerts_open ON alerts(acked_ms, id);"
	"CREATE TABLE triggers ("
	"  id          INTEGER PRIMARY KEY,"
	"  pipeline    TEXT    NOT NULL,"
	"  run_id      INTEGER NOT NULL,"                     /* the run whose monitor fired */
	"  alert_id    INTEGER NOT NULL UNIQUE REFERENCES alerts(id),"
	"  severity    TEXT    NOT NULL,"
	"  created_ms  INTEGER NOT NULL,"
	"  consumed    INTEGER NOT NULL DEFAULT 0"            /* the scheduler acted on it */
	");"
	"CREATE INDEX triggers_pending ON triggers(consumed, pipeline);"
	"CREATE TABLE audit ("
	"  seq         INTEGER PRIMARY KEY,"                  /* 1, 2, ... never reused */
	"  time_ms     INTEGER NOT NULL,"
	"  run_id      INTEGER,"                              /* NULL: no run (an ack, a promote) */
	"  kind        TEXT    NOT NULL,"
	"  payload     TEXT    NOT NULL,"                     /* canonical JSON */
	"  prev_hash   TEXT    NOT NULL,"
	"  hash        TEXT    NOT NULL,"
	"  mac_kind    TEXT    NOT NULL DEFAULT 'plain'"      /* plain (SHA-256) | hmac */
	");"
	"CREATE INDEX audit_run ON audit(run_id, seq);"
	"CREATE TABLE audit_roots ("
	"  run_id      INTEGER PRIMARY KEY,"
	"  root        TEXT    NOT NULL,"                     /* Merkle root of its records */
	"  count       INTEGER NOT NULL,"
	"  last_seq    INTEGER NOT NULL,"                     /* the last record it covers */
	"  created_ms  INTEGER NOT NULL"
	");",
	/* 6: an alert is identified by pipeline, monitor, rule, severity, condition and the
	 * data it was computed on (data_key, the monitor's cache key): a later run raising it
	 * again counts it (seen_count, last seen, last run) instead of adding a row, and
	 * alert_runs lists every run that raised it. Older alerts have no data key. */
	"ALTER TABLE alerts ADD COLUMN data_key TEXT;"
	"ALTER TABLE alerts ADD COLUMN seen_count INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE alerts ADD COLUMN last_seen_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE alerts ADD COLUMN last_run_id INTEGER NOT NULL DEFAULT 0;"
	"UPDATE alerts SET last_seen_ms = created_ms, last_run_id = run_id;"
	"CREATE UNIQUE INDEX alerts_identity ON alerts(pipeline, monitor, rule, severity, expr, data_key)"
	"  WHERE data_key IS NOT NULL;"
	"CREATE TABLE alert_runs ("
	"  alert_id    INTEGER NOT NULL REFERENCES alerts(id),"
	"  run_id      INTEGER NOT NULL,"                     /* outlives the run's rows */
	"  seen_ms     INTEGER NOT NULL,"
	"  PRIMARY KEY (alert_id, run_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX alert_runs_run ON alert_runs(run_id);"
	"INSERT INTO alert_runs (alert_id, run_id, seen_ms) SELECT id, run_id, created_ms FROM alerts;",
	/* 7: the model registry's rolled-back status. A version a rollback took out of
	 * production was left archived, its last event a rollback; it is rolled-back now, so
	 * that nothing returns it to production on its own. */
	"UPDATE model_versions SET status = 'rolled-back' WHERE status = 'archived' AND EXISTS ("
	"  SELECT 1 FROM model_events e WHERE e.id = (SELECT max(id) FROM model_events"
	"   WHERE model = model_versions.model AND version = model_versions.version)"
	"  AND e.action = 'rollback' AND e.status = 'archived');",
	/* 8: the audit records that change registry rows carry the rows whole, and every
	 * change of the registry replays them first (src/gov/registry-chain.c): found by kind.
	 * The step also keeps an older ntflow, which records no rows, from writing here. */
	"CREATE INDEX audit_kind ON audit(kind, seq);",
	/* 9: the store's identity, a random UUID made once: the workspace marker
	 * (STATE_DIR/WORKSPACE, marker.c) names it, so a database swapped for another one, or
	 * emptied and made anew, is told from the one the workspace held. */
	"CREATE TABLE meta ("
	"  key   TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO meta (key, value) SELECT 'store_id', lower(substr(h, 1, 8) || '-' || substr(h, 9, 4)"
	"  || '-4' || substr(h, 14, 3) || '-' || substr('89ab', 1 + abs(random() % 4), 1) || substr(h, 18, 3)"
	"  || '-' || substr(h, 21, 12)) FROM (SELECT hex(randomblob(16)) AS h);",
	/* 10: the interval a run stands for, [interval_start, interval_end) in ISO 8601 UTC
	 * (equal for a manual run; NULL for runs recorded before), and the index the scheduler
	 * finds an interval's run by (nf_store_run_for_interval). */
	"ALTER TABLE runs ADD COLUMN interval_start TEXT;"
	"ALTER TABLE runs ADD COLUMN interval_end TEXT;"
	"CREATE INDEX runs_interval ON runs(pipeline, interval_start);",
	/* 11: the scheduler's state: per pipeline the end of the last interval it decided (so
	 * a restarted daemon neither loses nor repeats one), and each decision it made. Times
	 * in seconds on the scheduler's clock. */
	"CREATE TABLE schedules ("
	"  pipeline      TEXT    PRIMARY KEY,"
	"  file          TEXT    NOT NULL,"
	"  cron          TEXT    NOT NULL,"
	"  timezone      TEXT    NOT NULL,"
	"  policy        TEXT    NOT NULL DEFAULT '',"     /* on a miss, as --status shows it */
	"  last_end      INTEGER NOT NULL,"
	"  registered_s  INTEGER NOT NULL,"
	"  updated_s     INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE schedule_events ("
	"  id             INTEGER PRIMARY KEY,"
	"  time_s         INTEGER NOT NULL,"
	"  pipeline       TEXT    NOT NULL,"
	"  decision       TEXT    NOT NULL,"
	"  interval_start INTEGER NOT NULL DEFAULT 0,"
	"  interval_end   INTEGER NOT NULL DEFAULT 0,"
	"  run_id         INTEGER NOT NULL DEFAULT 0,"
	"  pid            INTEGER NOT NULL DEFAULT 0,"
	"  alert_id       INTEGER NOT NULL DEFAULT 0,"
	"  exit_status    INTEGER NOT NULL DEFAULT -1,"
	"  detail         TEXT    NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX schedule_events_pipeline ON schedule_events(pipeline, decision, id);",
	/* 12: the stat cache of content hashes (statcache.c), which the cache module created
	 * itself before it came under the migrations: an older store may have it already. */
	"CREATE TABLE IF NOT EXISTS statcache ("
	"  path     TEXT PRIMARY KEY,"
	"  size     INTEGER,"
	"  mtime_ns INTEGER,"
	"  inode    INTEGER,"
	"  ctime_ns INTEGER,"
	"  sha256   TEXT"
	");",
	/* 13: history reads that do not grow with the history. A finished run keeps its node
	 * counts in its row (written with its end, nf_store_run_end, and by recovery), so
	 * `ntflow runs` reads one row per run instead of counting every node of every run;
	 * runs recorded before are summed here once. nodes_perf finds a node's last successful,
	 * non-cached runs by name, newest first (`show --perf`), instead of scanning each earlier
	 * run of the pipeline. */
	"ALTER TABLE runs ADD COLUMN nodes_total INTEGER;"
	"ALTER TABLE runs ADD COLUMN nodes_done INTEGER;"
	"UPDATE runs SET nodes_total = (SELECT count(*) FROM nodes WHERE run_id = runs.id),"
	"  nodes_done = (SELECT count(*) FROM nodes WHERE run_id = runs.id AND state IN"
	"   ('succeeded','cached','failed','timed-out','skipped','cancelled','rejected'))"
	"  WHERE status != 'running';"
	"CREATE INDEX nodes_perf ON nodes(name, run_id) WHERE state = 'succeeded' AND cached = 0;",
	/* 14: a cache miss's explanation computed when asked (why, show), not during the run:
	 * the run records the raw fact, the run of the entry its key is compared with (0: there
	 * was none), and miss_reason stays NULL (cache.c). */
	"ALTER TABLE nodes ADD COLUMN miss_prev_run INTEGER;",
	/* 15: the Slurm jobs of each run (slurm-jobs.c): an id never names a job alone (ids
	 * restart when a cluster's state is wiped), so with its submission time and name. */
	"CREATE TABLE slurm_jobs ("
	"  run_id       INTEGER NOT NULL,"
	"  node         TEXT    NOT NULL,"
	"  attempt      INTEGER NOT NULL,"
	"  job_id       INTEGER NOT NULL,"                  /* a single job's, or its array's */
	"  task         INTEGER NOT NULL DEFAULT -1,"       /* the array task, -1: none */
	"  submitted_ms INTEGER NOT NULL,"
	"  name         TEXT    NOT NULL,"
	"  cache_key    TEXT    NOT NULL DEFAULT '',"
	"  log          TEXT    NOT NULL DEFAULT '',"
	"  state        TEXT    NOT NULL DEFAULT 'PENDING',"
	"  reason       TEXT    NOT NULL DEFAULT '',"
	"  settled      INTEGER NOT NULL DEFAULT 0,"        /* 1: its run ended and saw to it */
	"  PRIMARY KEY (run_id, node, attempt)"
	") WITHOUT ROWID;"
	"CREATE INDEX slurm_jobs_unsettled ON slurm_jobs(settled, run_id);",
	/* 16: the plots a run's nodes declared (plots.c): the data or image file's path and its
	 * SHA-256 when the node ended, so `ntflow report` finds the bytes of that run (in the
	 * workspace while unchanged, else in the object store) and draws them as declared. */
	"CREATE TABLE IF NOT EXISTS plots ("
	"  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  node     TEXT    NOT NULL,"
	"  name     TEXT    NOT NULL,"
	"  idx      INTEGER NOT NULL DEFAULT 0,"            /* its place among the node's plots */
	"  kind     TEXT    NOT NULL,"                      /* data, image */
	"  path     TEXT    NOT NULL,"
	"  digest   TEXT    NOT NULL DEFAULT '',"           /* 64 hex; '': the file was missing */
	"  template TEXT    NOT NULL DEFAULT 'linear',"
	"  x        TEXT    NOT NULL DEFAULT '',"
	"  y        TEXT    NOT NULL DEFAULT '[]',"         /* a JSON array of column names */
	"  title    TEXT    NOT NULL DEFAULT '',"
	"  PRIMARY KEY (run_id, node, name)"
	") WITHOUT ROWID;",
	/* 17: a cache miss is compared with the same node in the previous run of its pipeline
	 * where it ran or was cached (SQL_NODE_CACHE_MISS), not with the newest cache entry,
	 * which may be a run in between: found by name, newest run first, among the nodes that
	 * got a key, so the lookup does not grow with the history. IF NOT EXISTS: creating it
	 * twice is harmless, as when a store's user_version was lowered by hand. */
	"CREATE INDEX IF NOT EXISTS nodes_keyed ON nodes(name, run_id) WHERE cache_key IS NOT NULL;",
	/* 18 (i20-cpu; renumbered on merge): CPU budgets per phase. Each node keeps the phase of
	 * its stage (NULL: "other"), and each run's end records per phase its CPU (every
	 * attempt's user + system), its wall span and, when the pipeline sets cpu_baseline, the
	 * baseline, the reduction and the verdict (gov/budget.c). A phase where every node ran
	 * (ran = nodes) may serve as a later run's baseline: the partial index finds the last N
	 * of them without reading the rest of the history. */
	"ALTER TABLE nodes ADD COLUMN phase TEXT;"
	"CREATE TABLE cpu_phases ("
	"  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  pipeline        TEXT    NOT NULL,"
	"  phase           TEXT    NOT NULL,"
	"  nodes           INTEGER NOT NULL,"               /* stages and monitors in the phase */
	"  ran             INTEGER NOT NULL,"               /* of them, succeeded running a process */
	"  cached          INTEGER NOT NULL,"
	"  cpu_ms          INTEGER NOT NULL,"
	"  wall_ms         INTEGER NOT NULL,"
	"  baseline        TEXT,"                           /* "run 12", "median of 5"; NULL: no budget */
	"  baseline_cpu_ms INTEGER,"                        /* NULL: no baseline */
	"  reduction_pct   REAL,"
	"  target_pct      REAL,"
	"  status          TEXT,"                           /* met | missed | no baseline | not compared */
	"  PRIMARY KEY (run_id, phase)"
	") WITHOUT ROWID;"
	"CREATE INDEX cpu_phases_complete ON cpu_phases(pipeline, phase, run_id) WHERE ran = nodes;",
	/* 19: cohorts, violations and risk (violations.c): the cohort a run and the version it
	 * registered belong to, the run's risk score and tier, and each failed gate criterion
	 * as a typed violation with its severity; run_id outlives the run's rows, so a
	 * violation keeps its cohort itself. IF NOT EXISTS: the table and index survive a
	 * user_version lowered by hand (the columns must be dropped for that). */
	"ALTER TABLE runs ADD COLUMN cohort TEXT;"
	"ALTER TABLE runs ADD COLUMN risk_score REAL;"
	"ALTER TABLE runs ADD COLUMN risk_tier TEXT;"
	"ALTER TABLE model_versions ADD COLUMN cohort TEXT;"
	"CREATE TABLE IF NOT EXISTS violations ("
	"  id         INTEGER PRIMARY KEY,"
	"  pipeline   TEXT    NOT NULL,"
	"  run_id     INTEGER NOT NULL,"                      /* outlives the run's rows */
	"  cohort     TEXT,"
	"  gate       TEXT    NOT NULL,"
	"  idx        INTEGER NOT NULL,"                      /* criterion position in the gate */
	"  expr       TEXT    NOT NULL,"
	"  type       TEXT    NOT NULL,"                      /* calibration, low_accuracy, ... */
	"  severity   TEXT    NOT NULL,"                      /* low | medium | high */
	"  value      REAL,"                                  /* the comparison's two sides */
	"  threshold  REAL,"
	"  model      TEXT,"                                  /* the version the run registered */
	"  version    INTEGER,"
	"  created_ms INTEGER NOT NULL,"
	"  UNIQUE (run_id, gate, idx)"
	");"
	"CREATE INDEX IF NOT EXISTS violations_cohort ON violations(pipeline, cohort, created_ms);",
	/* 20 (fixc; renumbered on merge): why a phase has no baseline ("no such run", "of another
	 * pipeline", ...), decided at the run's end (gov/budget.c): show cannot tell later, as
	 * the baseline run may since have been deleted. NULL: none, or recorded before this. */
	"ALTER TABLE cpu_phases ADD COLUMN reason TEXT;",
	/* 21 (i15): where a miss's previous run is looked for, instead of the index nodes_keyed
	 * (a node's name, then its run): that index took a new entry for every keyed node of
	 * every run, spread by name over all its pages, so each run rewrote nearly every page
	 * of an index that held every run before it (a cached rerun of 10 000 stages after 20
	 * runs wrote 29 MB, 22 of them for it). node_first_keyed holds, per (pipeline, node),
	 * the first run where the node got a key by a miss, written when a miss is recorded
	 * (nodes.c), never by a cached rerun: the previous run is found by walking the
	 * pipeline's runs back from the miss to that one (MISS_PREV_RUN), and a node without a
	 * row never had one. Filled from the history; IF NOT EXISTS and the upsert keep the
	 * step harmless run twice (a user_version lowered by hand). */
	"CREATE TABLE IF NOT EXISTS node_first_keyed ("
	"  pipeline TEXT    NOT NULL,"
	"  name     TEXT    NOT NULL,"
	"  run_id   INTEGER NOT NULL,"
	"  PRIMARY KEY (pipeline, name)"
	") WITHOUT ROWID;"
	"INSERT INTO node_first_keyed (pipeline, name, run_id)"
	" SELECT r.pipeline, p.name, min(p.run_id) FROM nodes p JOIN runs r ON r.id = p.run_id"
	" WHERE p.cache_key IS NOT NULL GROUP BY r.pipeline, p.name"
	" ON CONFLICT (pipeline, name) DO UPDATE SET run_id = excluded.run_id"
	" WHERE excluded.run_id < node_first_keyed.run_id;"
	"DROP INDEX IF EXISTS nodes_keyed;",
	/* 22 (i15): a cache entry's key components (the JSON a later miss is explained
	 * against, some 400 bytes of an entry's 700) in a table of their own, read only by
	 * `why`, `show` and `cache ls`. A cached rerun looks up every entry by key, and with
	 * the components inline its rows filled 2 000 pages for 10 000 entries, most of them
	 * read from disk at each rerun; without, 720 (a cached rerun of 10 000 stages: 4%
	 * faster). The entries are copied into a new table rather than the column dropped
	 * (ALTER TABLE DROP COLUMN rewrites each row where it is, leaving the pages as
	 * sparse as before). A key of NULL, which a rowid table's TEXT PRIMARY KEY lets
	 * through but ntflow never writes, has no components row. */
	"CREATE TABLE cache_components ("
	"  key        TEXT NOT NULL PRIMARY KEY,"
	"  components TEXT NOT NULL"
	") WITHOUT ROWID;"
	"INSERT OR REPLACE INTO cache_components (key, components)"
	" SELECT key, components FROM cache_entries WHERE key IS NOT NULL;"
	"CREATE TABLE cache_entries_v22 ("
	"  key         TEXT    PRIMARY KEY,"
	"  pipeline    TEXT    NOT NULL,"
	"  node        TEXT    NOT NULL,"
	"  outputs     TEXT    NOT NULL,"
	"  out_digest  TEXT    NOT NULL,"
	"  metrics     TEXT    NOT NULL DEFAULT '{}',"
	"  run_id      INTEGER NOT NULL,"
	"  git_commit  TEXT,"
	"  created_ms  INTEGER NOT NULL"
	");"
	"INSERT INTO cache_entries_v22 (key, pipeline, node, outputs, out_digest, metrics, run_id, git_commit,"
	"  created_ms)"
	" SELECT key, pipeline, node, outputs, out_digest, metrics, run_id, git_commit, created_ms"
	" FROM cache_entries ORDER BY rowid;"
	"DROP TABLE cache_entries;"
	"ALTER TABLE cache_entries_v22 RENAME TO cache_entries;"
	"CREATE INDEX cache_entries_node ON cache_entries(pipeline, node, created_ms);",
	/* 23 (i15): the components keyed by their entry's rowid, not by the key: a table
	 * keyed by the key took each new entry's 400 bytes at a random place in its B-tree, a
	 * page written per entry at the batch's commit (a full run's own CPU +10-13%); by the
	 * rowid of an entry just inserted, they are appended, as in step 21's entry rows. */
	"CREATE TABLE cache_components_v23 ("
	"  entry      INTEGER PRIMARY KEY,"            /* cache_entries.rowid */
	"  components TEXT    NOT NULL"
	");"
	"INSERT INTO cache_components_v23 (entry, components)"
	" SELECT e.rowid, c.components FROM cache_entries e JOIN cache_components c ON c.key = e.key"
	" ORDER BY e.rowid;"
	"DROP TABLE cache_components;"
	"ALTER TABLE cache_components_v23 RENAME TO cache_components;",
	/* 24 (i15): an entry's own components go with it, replaced (recursive_triggers: see
	 * connect_rw) or deleted, without a DELETE of its own before each put: that statement was
	 * 3% of a full run's own CPU, and a run's entries have no components row to drop. */
	"CREATE TRIGGER IF NOT EXISTS cache_entries_components AFTER DELETE ON cache_entries"
	" BEGIN"
	"  DELETE FROM cache_components WHERE entry = old.rowid;"
	" END;",
	/* 25: the outcome a run decided once its last stage ended, before its last bookkeeping
	 * (registering models, recording its end: nf_store_run_ending): recovery gives a run
	 * that died after it this outcome, not "crashed", so that a model it put in production
	 * is never a crashed run's. */
	"ALTER TABLE runs ADD COLUMN ending TEXT;",
	/* 26: when `ntflow prune` forgot the details of an ended run (0: never): its row stays,
	 * with its summary, as do its metrics, gate results and audit records; most node rows,
	 * their attempts and its logs go (prune.c). */
	"ALTER TABLE runs ADD COLUMN pruned_ms INTEGER NOT NULL DEFAULT 0;",
	/* 27: when `prune --redact-audit` emptied the run's per-stage audit records (0: never),
	 * so that planning does not read a redacted run's records again to find out. */
	"ALTER TABLE runs ADD COLUMN redacted_ms INTEGER NOT NULL DEFAULT 0;",
	/* 28: the runs whose results a pruned run's cached stages reused, written as its rows go
	 * (prune.c): what `cache gc --keep-runs` keeps for a pruned run in its window. */
	"CREATE TABLE IF NOT EXISTS pruned_reused ("
	"  run_id     INTEGER NOT NULL,"
	"  reused_run INTEGER NOT NULL,"
	"  PRIMARY KEY (run_id, reused_run)"
	") WITHOUT ROWID;",
	/* 29: what stopped a run that failed with no stage to blame (a model that could not be
	 * placed, a database that failed): `show` says it, where it said nothing. */
	"ALTER TABLE runs ADD COLUMN error TEXT;",
};

#define NF_STORE_SCHEMA_VERSION ((int)NF_ARRAY_SIZE(migrations))

/* For a step that cannot be written to be harmless run twice (one that moves data out of a
 * column it then drops), a query that says whether it is still to do: a store whose
 * user_version was lowered by hand has its tables as the step left them, and the step's
 * SQL would fail on them. */
static const char *const migration_needed[NF_STORE_SCHEMA_VERSION] = {
	[21] = "SELECT count(*) FROM pragma_table_info('cache_entries') WHERE name = 'components'",
	[22] = "SELECT count(*) FROM pragma_table_info('cache_components') WHERE name = 'key'",
	[24] = "SELECT count(*) = 0 FROM pragma_table_info('runs') WHERE name = 'ending'",
	[25] = "SELECT count(*) = 0 FROM pragma_table_info('runs') WHERE name = 'pruned_ms'",
	[26] = "SELECT count(*) = 0 FROM pragma_table_info('runs') WHERE name = 'redacted_ms'",
	[28] = "SELECT count(*) = 0 FROM pragma_table_info('runs') WHERE name = 'error'",
};

/* When the walk finds no row (`ntflow prune` deleted them), the run of the newest cache entry
 * of the node made before the row's run (cache_entries_node), whose components the entry
 * keeps: without a prune every such entry's run has its row, which the walk finds first. */
#define PRUNED_PREV_RUN(P, N) \
	"  (SELECT e.run_id FROM cache_entries e WHERE e.pipeline = " P " AND e.node = " N \
	"   AND e.run_id < nodes.run_id ORDER BY e.created_ms DESC LIMIT 1)"

/* The previous run of pipeline P (a parameter) where node N got a key and succeeded or was
 * cached, before the row's own run, or 0: the pipeline's runs walked newest first down to
 * the first where the node got a key (node_first_keyed), each probed for the node
 * (runs_pipeline, then the (run_id, name) key); usually the run before has it. No row in
 * node_first_keyed: the node never had a key, and nothing is walked. */
#define MISS_PREV_RUN(P, N) \
	"COALESCE((SELECT COALESCE((SELECT r.id FROM runs r JOIN nodes p ON p.run_id = r.id AND p.name = " N \
	"  WHERE r.pipeline = " P " AND r.id < nodes.run_id AND r.id >= k.run_id" \
	"  AND p.cache_key IS NOT NULL AND p.state IN ('succeeded','cached') ORDER BY r.id DESC LIMIT 1)," \
	PRUNED_PREV_RUN(P, N) ")" \
	" FROM node_first_keyed k WHERE k.pipeline = " P " AND k.name = " N "), 0)"


/* A run's node counts for the listings: from its summary once it has ended, counted while
 * it runs (CASE evaluates the count only for a row without a summary). */
#define NF_SQL_RUN_COUNTS \
	"CASE WHEN runs.nodes_total IS NULL THEN (SELECT count(*) FROM nodes WHERE run_id = runs.id)" \
	" ELSE runs.nodes_total END," \
	" CASE WHEN runs.nodes_done IS NULL THEN (SELECT count(*) FROM nodes WHERE run_id = runs.id" \
	" AND state IN " NF_SQL_DONE_STATES ") ELSE runs.nodes_done END"

/* Node columns shared by the listings: the node row and its latest attempt. */
#define NODE_COLS \
	"n.name, n.stage, n.instance, n.kind, n.state, n.attempts, a.exit_code, a.term_signal, " \
	"n.started_ms, n.finished_ms, a.wall_ms, a.user_ms, a.sys_ms, a.max_rss_kb, a.log_path, " \
	"n.reason, a.pgid"

/* A node's row as SQL_NODE_INSERT and SQL_NODE_INSERT_MANY write it, and that text repeated
 * (R63: 63 times, for NF_STORE_NODES_PER_INSERT rows in one statement). */
#define NODE_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define R1(x) x
#define R2(x) x x
#define R4(x) R2(x) R2(x)
#define R8(x) R4(x) R4(x)
#define R16(x) R8(x) R8(x)
#define R32(x) R16(x) R16(x)
#define R63(x) R32(x) R16(x) R8(x) R4(x) R2(x) R1(x)
_Static_assert(NF_STORE_NODES_PER_INSERT == 64, "SQL_NODE_INSERT_MANY writes R63 rows after the first");

static const char *const sql_text[SQL__COUNT] = {
	[SQL_RUN_INSERT] =
		"INSERT INTO runs (pipeline, file, logical_date, trigger, params, git_commit, dirty,"
		" started_ms, status, pid, pid_start, boot_id, host, interval_start, interval_end, cohort)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[SQL_RUN_END] =
		"UPDATE runs SET status = ?, finished_ms = ?, " NF_SQL_RUN_SUMMARY " WHERE id = ?",
	[SQL_RUN_END_COUNTED] =
		"UPDATE runs SET status = ?, finished_ms = ?, nodes_total = ?4, nodes_done = ?5 WHERE id = ?3",
	[SQL_RUN_SUMMARY] = "UPDATE runs SET " NF_SQL_RUN_SUMMARY " WHERE id = ? AND status != 'running'",
	[SQL_RUN_GET] =
		"SELECT id, pipeline, file, logical_date, trigger, params, git_commit, dirty,"
		" started_ms, finished_ms, status, pid,"
		" " NF_SQL_RUN_COUNTS ","
		" interval_start, interval_end, cohort, risk_score, risk_tier, pruned_ms"
		" FROM runs WHERE id = ?",
	[SQL_RUN_LAST] = "SELECT max(id) FROM runs",
	[SQL_RUN_FOR_INTERVAL] =
		"SELECT max(id) FROM runs WHERE pipeline = ? AND interval_start = ?"
		" AND trigger IN ('schedule','alert','backfill')",
	[SQL_RUN_LIST] =
		"SELECT id, pipeline, file, logical_date, trigger, params, git_commit, dirty,"
		" started_ms, finished_ms, status, pid,"
		" " NF_SQL_RUN_COUNTS ","
		" interval_start, interval_end, cohort, risk_score, risk_tier, pruned_ms"
		" FROM runs ORDER BY id DESC LIMIT ?",
	[SQL_RUN_LIST_OF] =   /* runs_pipeline (pipeline, id), newest first */
		"SELECT id, pipeline, file, logical_date, trigger, params, git_commit, dirty,"
		" started_ms, finished_ms, status, pid,"
		" " NF_SQL_RUN_COUNTS ","
		" interval_start, interval_end, cohort, risk_score, risk_tier, pruned_ms"
		" FROM runs WHERE pipeline = ? ORDER BY id DESC LIMIT ?",
	/* A row as the batch's sync finds its node (nodes.c: NODE_COLS parameters): waiting,
	 * or with the state, attempts, times and cache hit it has reached by then. */
	[SQL_NODE_INSERT] =
		"INSERT INTO nodes (id, run_id, seq, name, stage, instance, kind, phase, state, attempts,"
		" reason, started_ms, finished_ms, cache_key, cached, reused_run) VALUES " NODE_ROW,
	/* NF_STORE_NODES_PER_INSERT rows */
	[SQL_NODE_INSERT_MANY] =
		"INSERT INTO nodes (id, run_id, seq, name, stage, instance, kind, phase, state, attempts,"
		" reason, started_ms, finished_ms, cache_key, cached, reused_run) VALUES " NODE_ROW R63("," NODE_ROW),
	[SQL_NODE_MAX_ID] = "SELECT coalesce(max(id), 0) FROM nodes",
	[SQL_NODE_ID] = "SELECT id FROM nodes WHERE run_id = ? AND name = ?",
	[SQL_NODE_UPDATE] =
		"UPDATE nodes SET state = ?1, attempts = max(attempts, ?2), reason = ?3,"
		" started_ms = CASE WHEN ?4 > 0 AND started_ms = 0 THEN ?4 ELSE started_ms END,"
		" finished_ms = CASE WHEN ?5 > 0 THEN ?5 ELSE finished_ms END"
		" WHERE id = ?6",
	[SQL_ATTEMPT_UPSERT] =
		"INSERT INTO attempts (node_id, attempt, state, started_ms, finished_ms, exit_code,"
		" term_signal, wall_ms, user_ms, sys_ms, max_rss_kb, log_path, pgid, pgid_start, reason)"
		" VALUES (?1, ?2, ?3, coalesce(?4, 0), coalesce(?5, 0), ?6, ?7, coalesce(?8, 0),"
		" coalesce(?9, 0), coalesce(?10, 0), coalesce(?11, 0), ?12, coalesce(?13, 0),"
		" coalesce(?14, 0), ?15)"
		" ON CONFLICT (node_id, attempt) DO UPDATE SET state = excluded.state,"
		" started_ms = coalesce(?4, started_ms), finished_ms = coalesce(?5, finished_ms),"
		" exit_code = coalesce(?6, exit_code), term_signal = coalesce(?7, term_signal),"
		" wall_ms = coalesce(?8, wall_ms), user_ms = coalesce(?9, user_ms),"
		" sys_ms = coalesce(?10, sys_ms), max_rss_kb = coalesce(?11, max_rss_kb),"
		" log_path = coalesce(?12, log_path), pgid = coalesce(?13, pgid),"
		" pgid_start = coalesce(?14, pgid_start), reason = coalesce(?15, reason)",
	[SQL_NODE_LIST] =
		"SELECT " NODE_COLS " FROM nodes n"
		" LEFT JOIN " NF_SQL_LATEST_ATTEMPT
		" WHERE n.run_id = ? ORDER BY n.seq",
	[SQL_NODE_GET] =
		"SELECT " NODE_COLS " FROM nodes n"
		" LEFT JOIN " NF_SQL_LATEST_ATTEMPT
		" WHERE n.run_id = ? AND n.name = ?",
	[SQL_ATTEMPT_LIST] =
		"SELECT n.name, n.stage, n.instance, n.kind, a.state, a.attempt, a.exit_code,"
		" a.term_signal, a.started_ms, a.finished_ms, a.wall_ms, a.user_ms, a.sys_ms,"
		" a.max_rss_kb, a.log_path, a.reason, a.pgid"
		" FROM nodes n JOIN attempts a ON a.node_id = n.id"
		" WHERE n.run_id = ? AND n.name = ? ORDER BY a.attempt",
	[SQL_CACHE_GET] =
		"SELECT e.key, e.node, e.outputs, e.out_digest, e.metrics, " ENTRY_COMPONENTS("e") ", e.run_id,"
		" e.git_commit, e.created_ms FROM cache_entries e WHERE e.key = ?",
	[SQL_CACHE_HIT] =
		"SELECT outputs, out_digest, metrics, run_id FROM cache_entries WHERE key = ?",
	[SQL_CACHE_PUT] =
		"INSERT OR REPLACE INTO cache_entries (key, pipeline, node, outputs, out_digest, metrics,"
		" run_id, git_commit, created_ms) VALUES (?,?,?,?,?,?,?,?,?)",
	[SQL_CACHE_COMPONENTS_PUT] =
		"INSERT OR REPLACE INTO cache_components (entry, components) VALUES (last_insert_rowid(), ?)",
	[SQL_CACHE_LIST] =
		"SELECT e.key, e.node, e.outputs, e.out_digest, e.metrics, " ENTRY_COMPONENTS("e") ", e.run_id,"
		" e.git_commit, e.created_ms FROM cache_entries e ORDER BY e.created_ms, e.node",
	[SQL_CACHE_DELETE] = "DELETE FROM cache_entries WHERE key = ?",
	[SQL_CACHE_EACH] = "SELECT key, node, outputs, run_id, created_ms FROM cache_entries",
	[SQL_NODE_CACHE] =
		"UPDATE nodes SET cache_key = ?, components = ?, cached = ?, reused_run = ?, miss_reason = ?,"
		" miss_prev_run = NULL WHERE id = ?",
	[SQL_NODE_CACHE_MISS] =
		"UPDATE nodes SET cache_key = ?1, components = ?2, cached = 0, reused_run = NULL, miss_reason = NULL,"
		" miss_prev_run = " MISS_PREV_RUN("?3", "?4") " WHERE id = ?5",
	[SQL_RUN_CACHE_KEYS] =
		"SELECT cache_key FROM nodes WHERE run_id = ? AND cache_key IS NOT NULL",
	/* The components the miss was compared with: the earlier row's, else (pruned) its run's
	 * entry, found through cache_entries_node (a node's entries, not all of them: `show` of
	 * a cached run of 10 000 stages scanned 10 000 entries a stage). */
	[SQL_NODE_CACHE_GET] =
		"SELECT n.cache_key, n.cached, n.reused_run, n.miss_reason, n.components, n.miss_prev_run,"
		" CASE WHEN n.miss_prev_run > 0 THEN"
		" COALESCE((SELECT COALESCE(p.components,"
		"  (SELECT " ENTRY_COMPONENTS("e") " FROM cache_entries e WHERE e.key = p.cache_key),"
		"  (SELECT q.components FROM nodes q WHERE q.run_id = p.reused_run AND q.name = p.name))"
		" FROM nodes p WHERE p.run_id = n.miss_prev_run AND p.name = n.name),"
		" (SELECT " ENTRY_COMPONENTS("e") " FROM cache_entries e"
		"  WHERE e.pipeline = (SELECT r.pipeline FROM runs r WHERE r.id = n.run_id) AND e.node = n.name"
		"  AND e.run_id = n.miss_prev_run LIMIT 1)) END"
		" FROM nodes n WHERE n.run_id = ? AND n.name = ?",
	[SQL_RUN_REPRO] =
		"UPDATE runs SET git_commit = ?, branch = ?, dirty = ?, dirty_paths = ?, dag_sha256 = ?,"
		" ntflow_version = ? WHERE id = ?",
	[SQL_RUN_REPRO_GET] =
		"SELECT branch, dirty_paths, dag_sha256, ntflow_version FROM runs WHERE id = ?",
	[SQL_METRIC_PUT] = "INSERT OR REPLACE INTO metrics (node_id, name, value) VALUES (?,?,?)",
	[SQL_METRIC_LIST] =
		"SELECT n.name, m.name, m.value FROM metrics m JOIN nodes n ON n.id = m.node_id"
		" WHERE n.run_id = ? ORDER BY n.seq, m.name",
	[SQL_AUDIT_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
	[SQL_ATTEMPT_START] =
		"UPDATE attempts SET pgid_start = ? WHERE node_id = ? AND attempt = ? AND pgid = ?"
		" AND pgid_start = 0 AND state = 'running'",
	[SQL_AUDIT_INSERT] =
		"INSERT INTO audit (seq, time_ms, run_id, kind, payload, prev_hash, hash, mac_kind)"
		" VALUES (?,?,?,?,?,?,?,?)",
	/* SQL_NODE_UPDATE and SQL_NODE_CACHE of a cache hit in one row write */
	[SQL_NODE_UPDATE_HIT] =
		"UPDATE nodes SET state = ?1, attempts = max(attempts, ?2), reason = ?3,"
		" started_ms = CASE WHEN ?4 > 0 AND started_ms = 0 THEN ?4 ELSE started_ms END,"
		" finished_ms = CASE WHEN ?5 > 0 THEN ?5 ELSE finished_ms END,"
		" cache_key = ?7, components = NULL, cached = 1, reused_run = ?8, miss_reason = NULL,"
		" miss_prev_run = NULL WHERE id = ?6",
	/* SQL_NODE_UPDATE and SQL_NODE_CACHE_MISS in one row write. */
	[SQL_NODE_UPDATE_MISS] =
		"UPDATE nodes SET state = ?1, attempts = max(attempts, ?2), reason = ?3,"
		" started_ms = CASE WHEN ?4 > 0 AND started_ms = 0 THEN ?4 ELSE started_ms END,"
		" finished_ms = CASE WHEN ?5 > 0 THEN ?5 ELSE finished_ms END,"
		" cache_key = ?7, components = ?8, cached = 0, reused_run = NULL, miss_reason = NULL,"
		" miss_prev_run = " MISS_PREV_RUN("?9", "?10") " WHERE id = ?6",
	[SQL_CACHE_ANY] =
		"SELECT EXISTS (SELECT 1 FROM cache_entries)",
	/* The node's row got a key by a miss: its run is the first of its (pipeline, node) with
	 * one unless an earlier is known (MISS_PREV_RUN walks back to it). */
	[SQL_NODE_FIRST_KEYED] =
		"INSERT INTO node_first_keyed (pipeline, name, run_id)"
		" SELECT r.pipeline, n.name, n.run_id FROM nodes n JOIN runs r ON r.id = n.run_id WHERE n.id = ?1"
		" ON CONFLICT (pipeline, name) DO UPDATE SET run_id = excluded.run_id"
		" WHERE excluded.run_id < node_first_keyed.run_id",
};

const char *
nf_store__sql(nf_sql_id id)
{
	return sql_text[id];
}

/* What SQLite logged in this thread (SQLITE_CONFIG_LOG calls back in the thread that met
 * the error). logged_rc: the last error other than the busy and informational ones, which
 * made SQLite roll a batch back on its own when the statement that failed was run by code
 * that kept its message to itself (src/gov/ runs SQL on the raw handle). serious: how many
 * times a damaged page, a full disk or an I/O error was met, by whichever code ran the
 * statement, and the last one's code. Per thread: the store is the run's thread's, and what
 * the read-ahead's own connection meets (ahead.c: a checkpoint on a full disk) is that
 * helper's to ignore, not the run's store's to fail on. */
static _Thread_local int logged_rc;
static _Thread_local unsigned long serious;
static _Thread_local int serious_rc;

static void
sqlite_log(void *arg, int rc, const char *msg)
{
	(void)arg;
	(void)msg;
	switch (rc & 0xff) {
	case SQLITE_NOTICE:
	case SQLITE_WARNING:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_SCHEMA:
	case SQLITE_CONSTRAINT:
		return;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FULL:
	case SQLITE_IOERR:
		serious++;
		serious_rc = rc;
		logged_rc = rc;
		return;
	default:
		logged_rc = rc;
	}
}

/* Installs the log before SQLite's first use in the process (later it cannot be; then the
 * messages are only less precise). */
static void
log_setup(void)
{
	static bool done;

	if (!done) {
		done = true;
		(void)sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
		/* No memory statistics (nothing here reads them): with them, every allocation of
		 * every connection takes one global mutex, which the run's thread waited for
		 * while the read-ahead's connection (ahead.c) allocated. */
		(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	}
}

/* Whether rc says the database could not be written here (a read-only file system or file,
 * a full disk, an I/O error), as opposed to damage or a bug. */
static bool
cannot_write(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return true;
	default:
		return false;
	}
}

/* The one error mapper: nf_store__error (table false) and nf_store__table_error (true)
 * with SQLite's message given. */
static int
store_error(nf_store *st, int rc, const char *what, const char *msg, bool table)
{
	const char *path = st && st->path ? st->path : "state database";
	int code;

	if (st)
		st->last_rc = rc;
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		if (table)
			return nf_error_set(NF_ELOCKED, "%s: the state database is locked by another process", what);
		return nf_error_set(NF_ELOCKED, "%s: '%s' is locked by another process", what, path);
	case SQLITE_NOTADB:
		if (table)
			return nf_error_set(NF_EDAMAGED, "%s: the state database is damaged (%s)", what, msg);
		code = nf_error_set(NF_EDAMAGED, "'%s' is not an ntflow state database (%s)", path, msg);
		break;
	case SQLITE_CORRUPT:
		if (table)
			return nf_error_set(NF_EDAMAGED, "%s: the state database is damaged (%s)", what, msg);
		code = nf_error_set(NF_EDAMAGED, "'%s' is damaged (%s)", path, msg);
		break;
	default:
		if (table)
			return nf_error_set(NF_ERROR, "%s: %s", what, msg);
		if ((rc & 0xff) == SQLITE_FULL || (st && st->db && sqlite3_system_errno(st->db) == ENOSPC)) {
			char *fs = nf_fs_describe(path);

			code = nf_error_set(NF_ERROR, "%s: '%s': %s (%s)", what, path, msg, fs);
			free(fs);
		} else {
			code = nf_error_set(NF_ERROR, "%s: '%s': %s", what, path, msg);
		}
		break;
	}
	if (st && !st->fail_code) {
		st->fail_code = code;
		st->fail_msg = xstrdup(nf_error_last());
	}
	return code;
}

int
nf_store__error(nf_store *st, int rc, const char *what)
{
	return store_error(st, rc, what, st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), false);
}

int
nf_store__table_error(nf_store *st, int rc, const char *what)
{
	return store_error(st, rc, what, st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), true);
}

int
nf_store_failure(nf_store *st)
{
	if (!st)
		return 0;
	/* Damage, a full disk or an I/O error that code outside the store met on the database
	 * (and may have reported only as its own failure) is the store's failure too. */
	if (!st->fail_code && serious != st->serious_seen)
		store_error(st, serious_rc, "the state database failed", sqlite3_errstr(serious_rc), false);
	st->serious_seen = serious;
	if (!st->fail_code)
		return 0;
	return nf_error_set(st->fail_code, "%s", st->fail_msg);
}

/* The open batch was rolled back: what it held is dropped, and the rows of the run's nodes
 * it had inserted are inserted again by the next sync, or the states written after the
 * failure (the run writes its final states again) would have no row to go to. */
static void
batch_lost(nf_store *st)
{
	st->in_batch = false;
	nf_store__nodes_drop(st);
	st->names.counts_lost = true;
	if (st->names.rows_pending && st->names.g) {   /* still not committed */
		st->unwritten = st->names.g;
		st->unwritten_run = st->names.run;
		st->unwritten_base = st->names.base;
	}
}

/* The open batch was committed: everything written before is durable (nf_store_commits). */
static void
batch_committed(nf_store *st)
{
	st->in_batch = false;
	st->commits++;
	st->names.rows_pending = false;
}

void
nf_store_abort(nf_store *st)
{
	if (st->in_batch && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	nf_store__starts_drop(st);
	batch_lost(st);
}

bool
nf_store_readonly(const nf_store *st)
{
	return st->readonly;
}

/* What a statement has to do with the writes the batch holds back (computed once from its
 * text): STMT_SEES_STATE, it may read what the pending node-state records change (a node's
 * state, attempts, reason, times; the attempts table), so they are written first; of the
 * statements naming those tables, the ones listed touch only other columns (the cache's
 * and metrics' per-stage writes). STMT_TOUCHES_NODES, it reads or writes node rows, or
 * rows that refer to them by a foreign key (an attempt, a metric: the table, not the
 * column cache_entries.metrics), so the rows nf_store_nodes_add left are inserted first. */
enum { STMT_SEES_STATE = 1, STMT_TOUCHES_NODES = 2, STMT_KNOWN = 4 };

static unsigned
stmt_class(nf_sql_id id)
{
	static unsigned char known[SQL__COUNT];

	if ((unsigned)id >= SQL__COUNT)
		return STMT_SEES_STATE | STMT_TOUCHES_NODES;   /* never: keeps gcc's bounds check quiet */
	if (!known[id]) {
		const char *sql = sql_text[id];
		bool names = strstr(sql, "nodes") || strstr(sql, "attempts");
		unsigned c = STMT_KNOWN;

		if (names || strstr(sql, "INTO metrics") || strstr(sql, "FROM metrics"))
			c |= STMT_TOUCHES_NODES;
		switch (id) {
		/* SQL_RUN_CACHE_KEYS and SQL_NODE_CACHE_GET read the cache columns a pending
		 * hit holds (nf_store__node_hit): they see it written first. */
		case SQL_NODE_UPDATE: case SQL_NODE_UPDATE_HIT: case SQL_ATTEMPT_UPSERT: case SQL_NODE_INSERT:
		case SQL_NODE_INSERT_MANY: case SQL_NODE_MAX_ID:
		case SQL_NODE_UPDATE_MISS: case SQL_NODE_FIRST_KEYED:
		case SQL_NODE_ID: case SQL_NODE_CACHE: case SQL_NODE_CACHE_MISS: case SQL_METRIC_PUT:
			break;
		default:
			if (names)
				c |= STMT_SEES_STATE;
			break;
		}
		known[id] = (unsigned char)c;
	}
	return known[id];
}

sqlite3_stmt *
nf_store__stmt(nf_store *st, nf_sql_id id)
{
	sqlite3_stmt *q;
	int rc;

	if (((st->npnodes && (stmt_class(id) & STMT_SEES_STATE)) ||
	     (st->unwritten && (stmt_class(id) & STMT_TOUCHES_NODES))) &&
	    nf_store__nodes_sync(st) < 0)
		return NULL;
	q = st->stmts[id];
	if (q) {
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		return q;
	}
	rc = sqlite3_prepare_v3(st->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &q, NULL);
	if (rc != SQLITE_OK) {
		nf_store__error(st, rc, "cannot prepare a query");
		return NULL;
	}
	st->stmts[id] = q;
	return q;
}

int
nf_store__step_done(nf_store *st, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return nf_store__error(st, rc, what);
	return 0;
}

int
nf_store__batch(nf_store *st)
{
	int rc;

	if (st->in_batch)
		return 0;
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return nf_store__error(st, rc, "cannot write to the state database");
	st->in_batch = true;
	st->batch_gen++;
	return 0;
}

void
nf_store_before_commit(nf_store *st, int (*fn)(void *ctx), void *ctx)
{
	st->before_commit = fn;
	st->before_commit_ctx = ctx;
}

/* Before a COMMIT: the hook, and on its failure the transaction rolled back and the store
 * failed. A failed fsync cannot be retried safely (the kernel may have dropped the pages it
 * could not write and report the next fsync clean), so nothing that refers to what it was
 * to make durable may be committed, now or later. */
static int
pre_commit(nf_store *st)
{
	int err;

	if (!st->before_commit || (err = st->before_commit(st->before_commit_ctx)) >= 0)
		return 0;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	batch_lost(st);
	if (!st->fail_code) {
		st->fail_code = err;
		st->fail_msg = xstrdup(nf_error_last());
	}
	return err;
}

int
nf_store_flush(nf_store *st)
{
	int rc, err;

	if (!st->in_batch)
		return 0;
	/* A statement of the batch that failed on an I/O error, a full disk or a damaged page
	 * made SQLite roll the whole batch back: its writes are lost, and that is an error
	 * even though the statement's caller may have gone on. */
	if (sqlite3_get_autocommit(st->db)) {
		int why = logged_rc ? logged_rc : SQLITE_ERROR;

		batch_lost(st);
		return store_error(st, why, "the state database dropped the writes in progress after an error",
				   (why & 0xff) == SQLITE_ERROR ? "a statement failed" : sqlite3_errstr(why), false);
	}
	if ((err = nf_store__nodes_sync(st)) < 0)
		return err;
	if (st->nstarts && (rc = nf_store__starts_write(st)) < 0)
		return rc;
	if ((err = pre_commit(st)) < 0)
		return err;
	/* A failed COMMIT (busy) leaves the transaction open, so the next flush retries it. */
	rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return nf_store__error(st, rc, "cannot commit to the state database");
	batch_committed(st);
	return 0;
}

unsigned long
nf_store_commits(const nf_store *st)
{
	return st->commits;
}

int
nf_store_batch(nf_store *st)
{
	return nf_store__batch(st);
}

int
nf_store_atomic(nf_store *st, int (*fn)(void *ctx, nf_store *st), void *ctx)
{
	int err, rc;

	if ((err = nf_store_flush(st)) < 0 || (err = nf_store__batch(st)) < 0)
		return err;
	if ((err = fn(ctx, st)) < 0 || (err = nf_store__nodes_sync(st)) < 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		batch_lost(st);
		return err;
	}
	if ((err = pre_commit(st)) < 0)
		return err;
	if ((rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		err = nf_store__error(st, rc, "cannot commit to the state database");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		batch_lost(st);
	} else {
		batch_committed(st);
	}
	return err;
}

int
nf_store_read_txn(nf_store *st, int (*fn)(void *ctx, nf_store *st), void *ctx)
{
	int rc, err;

	if ((rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot read the state database");
	err = fn(ctx, st);
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return err;
}

void
nf_store__recovered_add(nf_store *st, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	st->recovered = xgrow(st->recovered, sizeof(*st->recovered), st->nrecovered + 2,
			      &st->recovered_cap);
	st->recovered[st->nrecovered++] = line;
	st->recovered[st->nrecovered] = NULL;
}

const char *const *
nf_store_recovered(const nf_store *st)
{
	return (const char *const *)st->recovered;
}

char *
nf_store__col_strdup(sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	return s ? xstrdup((const char *)s) : NULL;
}

/* Reads PRAGMA user_version. */
static int
schema_version(nf_store *st, int *version)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		*version = sqlite3_column_int(q, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_OK ? 0 : nf_store__error(st, rc, "cannot read the schema version");
}

static int
schema_too_new(nf_store *st, int version)
{
	return nf_error_set(NF_ECORRUPT, "'%s' has schema version %d; this ntflow knows up to %d",
			    st->path, version, NF_STORE_SCHEMA_VERSION);
}

/* The version to migrate to: the newest, unless a test asks for an older one (to build a
 * database as an earlier release left it, then see it migrated forward). */
static int
target_version(void)
{
	const char *env = nf_test_hook_value("NTFLOW_TEST_SCHEMA_VERSION");

	if (env && atoi(env) >= 0 && atoi(env) < NF_STORE_SCHEMA_VERSION)
		return atoi(env);
	return NF_STORE_SCHEMA_VERSION;
}

/* Whether a step is still to do: its query (migration_needed) gives a count above 0. */
static int
step_needed(nf_store *st, const char *sql, bool *needed)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot migrate the state database");
	rc = sqlite3_step(q);
	*needed = rc == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0;
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return nf_store__error(st, rc, "cannot migrate the state database");
	return 0;
}

/* Applies the missing steps in one transaction. The version is read again inside it, as
 * another ntflow may have migrated between our first look and our lock. */
static int
migrate(nf_store *st)
{
	int version, target = target_version(), rc, err;
	char sql[64];

	if ((err = schema_version(st, &version)) < 0)
		return err;
	if (version > NF_STORE_SCHEMA_VERSION)
		return schema_too_new(st, version);
	if (version >= target)
		return 0;
	if ((rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot migrate the state database");
	if ((err = schema_version(st, &version)) < 0)
		goto fail;
	if (version > NF_STORE_SCHEMA_VERSION) {
		err = schema_too_new(st, version);
		goto fail;
	}
	for (int v = version; v < target; v++) {
		bool needed = true;

		if (migration_needed[v] && (err = step_needed(st, migration_needed[v], &needed)) < 0)
			goto fail;
		if (needed && (rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL)) != SQLITE_OK) {
			err = nf_store__error(st, rc, "cannot migrate the state database");
			goto fail;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version > target ? version : target);
	if ((rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		err = nf_store__error(st, rc, "cannot migrate the state database");
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static int
busy_timeout_ms(void)
{
	const char *env = getenv("NTFLOW_BUSY_TIMEOUT_MS");
	char *end;
	long v;

	if (env && *env) {
		errno = 0;
		v = strtol(env, &end, 10);
		if (!errno && !*end && v >= 0 && v <= 3600 * 1000)
			return (int)v;
	}
	return 5000;
}

/* The database holds what stages were given (commands, env values): only its owner may
 * read it. SQLite creates it 0644 under the usual umask, and its -wal and -shm files with
 * the database's own mode, so narrowing the database right after the open (before the
 * first statement makes the others) narrows all three; those an older ntflow left are
 * narrowed too. A chmod that fails (not ours, a read-only file system) is no error. */
static void
make_private(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < NF_ARRAY_SIZE(suffixes); i++) {
		char *p = xasprintf("%s%s", path, suffixes[i]);
		struct stat sb;

		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) && sb.st_uid == geteuid())
			(void)chmod(p, sb.st_mode & 07700);
		free(p);
	}
}

typedef enum { OPEN_READ, OPEN_WRITE, OPEN_CREATE } open_mode;

static nf_store *
store_new(const char *path)
{
	nf_store *st = xcalloc(1, sizeof(*st));

	st->path = xstrdup(path);
	st->recovered = xcalloc(1, sizeof(*st->recovered));
	st->recovered_cap = 1;
	return st;
}

/* Drops the connection (and what was prepared on it) to open another on the same store. */
static void
disconnect(nf_store *st)
{
	for (size_t i = 0; i < SQL__COUNT; i++) {
		sqlite3_finalize(st->stmts[i]);
		st->stmts[i] = NULL;
	}
	sqlite3_close(st->db);
	st->db = NULL;
}

/* A read-write connection with the pragmas every writer uses. */
static int
connect_rw(nf_store *st, bool create)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	if ((rc = sqlite3_open_v2(st->path, &st->db, flags, NULL)) != SQLITE_OK) {
		st->last_rc = rc;
		return rc == SQLITE_CANTOPEN
			? nf_error_set(NF_EIO, "cannot open '%s': %s", st->path, sqlite3_errmsg(st->db))
			: nf_store__error(st, rc, "cannot open the state database");
	}
	if (strcmp(st->path, ":memory:") != 0)
		make_private(st->path);
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, busy_timeout_ms());
	/* journal_mode is the first statement to read the file, so a file that is not a
	 * database shows up here as SQLITE_NOTADB. */
	if ((rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL)) != SQLITE_OK ||
	    /* So that the rows INSERT OR REPLACE deletes fire their delete triggers, as a
	     * DELETE's do: a replaced cache entry takes its components with it (step 24). */
	    (rc = sqlite3_exec(st->db, "PRAGMA recursive_triggers = ON", NULL, NULL, NULL)) != SQLITE_OK ||
	    /* 3 MiB of pages, half again SQLite's default: a run's inserts into the node and
	     * audit indexes of a 20 MB database read fewer pages again (a cached rerun of 10 000
	     * stages: 8 000 reads at 4 MiB, 15 000 at 2). Not 4 MiB since a cached pass commits
	     * every 1 024 stages (NF_RUN_FLUSH_TURN): the same wall time, 1 MB less (issue 15,
	     * 100 000 stages in 64 MB). */
	    (rc = sqlite3_exec(st->db, "PRAGMA cache_size = -3072", NULL, NULL, NULL)) != SQLITE_OK ||
	    /* A statement of many rows inside the batch keeps the pages it changes in a
	     * statement journal, to undo itself alone: in memory (a few pages a statement),
	     * not spilled past 64 KiB to a file in /var/tmp (24 MB written by a cached rerun
	     * of 10 000 stages, for 64 node rows a statement). */
	    (rc = sqlite3_exec(st->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot open the state database");
	return 0;
}

/* "file:" URI of path with params (the characters URIs give a meaning to escaped). */
static char *
file_uri(const char *path, const char *params)
{
	nf_buf b = NF_BUF_INIT;

	nf_buf_puts(&b, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || (unsigned char)*p < 0x20 || *p == 0x7f)
			nf_buf_printf(&b, "%%%02X", (unsigned char)*p);
		else
			nf_buf_putc(&b, *p);
	}
	nf_buf_printf(&b, "?%s", params);
	return nf_buf_detach(&b);
}

/* Whether path's write-ahead log holds nothing (or does not exist): the database file alone
 * is then the whole database. */
static bool
wal_empty(const char *path)
{
	char *wal = xasprintf("%s-wal", path);
	struct stat sb;
	bool empty = stat(wal, &sb) < 0 ? errno == ENOENT : sb.st_size == 0;

	free(wal);
	return empty;
}

/* Opens a read-only connection with params and reads the schema version through it (the
 * first read of the file: a WAL database needs its -shm here); an SQLite code. */
static int
try_ro(nf_store *st, const char *params, int *version)
{
	char *uri = file_uri(st->path, params);
	sqlite3_stmt *q = NULL;
	int rc;

	rc = sqlite3_open_v2(uri, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(st->db, 1);
		sqlite3_busy_timeout(st->db, busy_timeout_ms());
		rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
			*version = sqlite3_column_int(q, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(q);
	}
	return rc;
}

/* A read-only connection. Where SQLite cannot make or grow the -shm file a WAL database
 * needs (a read-only file system, a full disk), the database is opened immutable when no log
 * is pending: the file then holds every committed write. */
static int
connect_ro(nf_store *st, int *version)
{
	int rc = try_ro(st, "mode=ro", version);

	if (rc != SQLITE_OK && cannot_write(rc) && wal_empty(st->path)) {
		disconnect(st);
		rc = try_ro(st, "immutable=1", version);
	}
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_CANTOPEN) {
			st->last_rc = rc;
			return nf_error_set(NF_EIO, "cannot open '%s' to read it: %s", st->path,
					    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		}
		return nf_store__error(st, rc, "cannot read the state database");
	}
	make_private(st->path);   /* a reader narrows what an older ntflow left open too */
	return 0;
}

/* Opens path as mode says; *rc_out: the SQLite code of the failure, when there was one. */
static int
store_open(nf_store **out, const char *path, open_mode mode, int *rc_out)
{
	nf_store *st = NULL;
	bool memory = strcmp(path, ":memory:") == 0, needed = false;
	struct stat sb;
	int err = 0, version = 0;

	*out = NULL;
	*rc_out = SQLITE_OK;
	log_setup();
	if (!memory && (err = nf_store__marker_check_file(path)) < 0)
		return err;
	if (!memory && mode != OPEN_CREATE && stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return nf_error_set(NF_ENOTFOUND, "no state database at '%s'", path);
		return nf_error_set_errno(NF_EIO, "cannot open '%s'", path);
	}
	st = store_new(path);
	if (mode == OPEN_READ && !memory) {
		if ((err = connect_ro(st, &version)) < 0)
			goto done;
		if (version > NF_STORE_SCHEMA_VERSION) {
			err = schema_too_new(st, version);
			goto done;
		}
		if (version >= target_version() && (err = nf_store__recovery_needed(st, &needed)) < 0)
			goto done;
		if (version >= target_version() && !needed) {
			st->readonly = true;
			goto check;
		}
		/* A migration or a crashed run to record: that needs a writer, when one can be. */
		{
			nf_store *rw = NULL;
			int rc;

			if ((err = store_open(&rw, path, OPEN_WRITE, &rc)) == 0) {
				nf_store_close(st);
				st = rw;
				goto ok;
			}
			if (!cannot_write(rc))
				goto done;
			if (version < target_version()) {
				char *why = xstrdup(nf_error_last());

				err = nf_error_set(err, "'%s' has schema version %d and must be migrated to %d, which needs "
						   "write access: %s", path, version, target_version(), why);
				free(why);
				goto done;
			}
			nf_store__recovered_add(st, "a run's ntflow process is gone, but it cannot be recorded as crashed "
						"now (%s)", nf_error_last());
			err = 0;
			st->readonly = true;
			goto check;
		}
	}
	if ((err = connect_rw(st, mode == OPEN_CREATE)) < 0)
		goto done;
	/* Recovery reads the newest schema; a test's older database skips it. */
	if ((err = migrate(st)) < 0 ||
	    (target_version() == NF_STORE_SCHEMA_VERSION && (err = nf_store__recover(st)) < 0))
		goto done;
check:
	if (!memory && (err = nf_store__marker_check_id(st)) < 0)
		goto done;
ok:
	/* Errors met while opening are the opener's, not a failure of the store from now on. */
	st->fail_code = 0;
	free(st->fail_msg);
	st->fail_msg = NULL;
	st->serious_seen = serious;
	*out = st;
	st = NULL;
done:
	if (st)
		*rc_out = st->last_rc;
	nf_store_close(st);
	return err;
}

int
nf_store_open(nf_store **out, const char *path, bool create)
{
	int rc;

	return store_open(out, path, create ? OPEN_CREATE : OPEN_WRITE, &rc);
}

int
nf_store_open_read(nf_store **out, const char *path)
{
	int rc;

	return store_open(out, path, OPEN_READ, &rc);
}

void
nf_store_close(nf_store *st)
{
	if (!st)
		return;
	nf_store_ahead_stop(st);   /* its connection is closed before this one */
	/* Whatever the executor recorded since the last flush is kept on a clean close. */
	if (st->in_batch && !sqlite3_get_autocommit(st->db)) {
		(void)nf_store__nodes_sync(st);
		(void)nf_store__starts_write(st);
	}
	if (st->in_batch && !sqlite3_get_autocommit(st->db) &&
	    (pre_commit(st) < 0 || sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	for (size_t i = 0; i < SQL__COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	nf_store__statcache_close(st);
	sqlite3_close(st->db);
	for (size_t i = 0; i < st->nrecovered; i++)
		free(st->recovered[i]);
	free(st->recovered);
	nf_nameidx_free(&st->names.ix);
	free(st->names.final);
	free(st->starts);
	nf_store__nodes_free(st);
	free(st->fail_msg);
	free(st->path);
	free(st);
}
