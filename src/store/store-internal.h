/* store-internal.h: what the files of src/store share and nobody else sees: the store
 * itself, its cache of prepared statements, the lazy batch transaction and error mapping. */
#ifndef NTFLOW_STORE_INTERNAL_H
#define NTFLOW_STORE_INTERNAL_H

#include <sqlite3.h>
#include "ntflow/cache.h"
#include "ntflow/store.h"

/* A node with its latest attempt (aliases n and a): the one nodes-attempts join every read
 * of a node's state shares, as "nodes n LEFT JOIN " NF_SQL_LATEST_ATTEMPT (LEFT keeps the
 * nodes with no attempt yet) or "JOIN " NF_SQL_LATEST_ATTEMPT. */
#define NF_SQL_LATEST_ATTEMPT "attempts a ON a.node_id = n.id AND a.attempt = n.attempts"

/* The node states a listing counts as done. */
#define NF_SQL_DONE_STATES "('succeeded','cached','failed','timed-out','skipped','cancelled','rejected')"
/* The summary a run's row keeps once it has ended (migration 13): its node counts, set from
 * its nodes by the statement that ends it; an UPDATE's SET list. */
#define NF_SQL_RUN_SUMMARY \
	"nodes_total = (SELECT count(*) FROM nodes WHERE run_id = runs.id)," \
	" nodes_done = (SELECT count(*) FROM nodes WHERE run_id = runs.id AND state IN " NF_SQL_DONE_STATES ")"

/* The rows of a run's nodes one SQL_NODE_INSERT_MANY writes. */
#define NF_STORE_NODES_PER_INSERT 64

/* Every statement the store runs more than once, prepared on first use and kept. */
typedef enum {
	SQL_RUN_INSERT, SQL_RUN_END, SQL_RUN_GET, SQL_RUN_LAST, SQL_RUN_LIST, SQL_RUN_FOR_INTERVAL, SQL_RUN_SUMMARY,
	SQL_NODE_INSERT, SQL_NODE_ID, SQL_NODE_UPDATE, SQL_ATTEMPT_UPSERT,
	SQL_NODE_LIST, SQL_NODE_GET, SQL_ATTEMPT_LIST, SQL_METRIC_PUT, SQL_METRIC_LIST,
	SQL_CACHE_GET, SQL_CACHE_PUT, SQL_CACHE_LIST, SQL_CACHE_DELETE,
	SQL_NODE_CACHE, SQL_NODE_CACHE_MISS, SQL_RUN_CACHE_KEYS, SQL_NODE_CACHE_GET, SQL_RUN_REPRO, SQL_RUN_REPRO_GET,
	SQL_AUDIT_LAST, SQL_AUDIT_INSERT, SQL_ATTEMPT_START,
	SQL_RUN_LIST_OF,
	SQL_NODE_UPDATE_HIT,
	SQL_NODE_INSERT_MANY, SQL_NODE_MAX_ID,
	SQL_NODE_UPDATE_MISS,
	SQL_CACHE_ANY,
	SQL_NODE_FIRST_KEYED,
	SQL_CACHE_HIT,
	SQL_RUN_END_COUNTED,
	SQL_CACHE_COMPONENTS_PUT,
	SQL_CACHE_EACH,
	SQL__COUNT
} nf_sql_id;

typedef struct nf_store_ahead nf_store_ahead;

/* The windows of stat-cache rows held at once (statcache.c). */
#define SC_WINDOWS 3

struct nf_store {
	sqlite3 *db;
	char *path;
	nf_store_ahead *ahead;       /* the settled pass's second connection (ahead.c), or NULL */
	sqlite3_stmt *stmts[SQL__COUNT];
	bool in_batch;               /* a BEGIN IMMEDIATE is open until the next flush */
	unsigned long batch_gen;     /* counts the batches begun (nf_store__batch) */
	unsigned long commits;       /* counts the write transactions committed (nf_store_commits) */
	/* The audit chain's head as this connection last read or wrote it inside the batch
	 * numbered audit_head_gen: no other process can append while the batch's write lock
	 * is held, so a run's records read it once per batch, not once per record (audit.c). */
	unsigned long audit_head_gen;
	int64_t audit_head_seq;
	char audit_head_hash[65];
	bool readonly;               /* opened by nf_store_open_read without writing */
	int last_rc;                 /* the SQLite code of the last error nf_store__error mapped */
	int fail_code;               /* the first error other than busy (nf_store_failure) */
	char *fail_msg;
	unsigned long serious_seen;  /* store.c's count of serious errors SQLite logged, when last looked at */
	char **recovered;            /* NULL-terminated lines (never NULL after open) */
	size_t nrecovered, recovered_cap;

	/* Node name -> node row id of the run being written (nodes.c), so state changes of a
	 * 100 000-node run do not look names up in SQL. No name is copied: a slot holds a
	 * name's hash and its node's position in the graph's order (its row is
	 * names.base + 1 + position), the name read from the graph nf_store_nodes_add was given (valid
	 * until nf_store_nodes_forget). 8 bytes a slot, where a map of copied names took 16
	 * and the copies 10 more (3 MB at 100 000 nodes). */
	struct nf_store_names {
		const struct nf_graph *g;    /* NULL: none */
		int64_t run, base;
		nf_nameidx ix;               /* g's names by position (in g->order) */
		/* g's rows are not committed yet: whenever the batch is rolled back (store.c's
		 * batch_lost) they are to be inserted again by the next sync. */
		bool rows_pending;
		/* The position names_find found last, + 1 (0: none): a node's cache, state
		 * and attempt are recorded one after another, each naming it. */
		size_t last;
		/* Which of g's nodes were last given a final state (a byte each, by position)
		 * and how many: the run's end writes these counts rather than counting its rows
		 * again (2% of a cached rerun). Not trusted (counts_lost) once a batch was lost:
		 * what it rolled back is counted still. */
		unsigned char *final;        /* NODE_* flags of each node (nodes.c) */
		size_t nfinal, ncached;      /* nodes final; nodes cached that never ran */
		bool counts_lost;
	} names;

	/* The rows of the last nf_store_nodes_add, not yet inserted (nodes.c): the batch's
	 * sync inserts them, each with what it holds by then, so that a node found cached
	 * before the batch commits is written once, not inserted waiting and then updated.
	 * unwritten is the caller's graph (NULL: none), kept valid until the sync. */
	const struct nf_graph *unwritten;
	int64_t unwritten_run, unwritten_base;

	/* The process groups started in the open batch whose leader's start time is still to
	 * be recorded (nodes.c): read from /proc when the batch is committed, not at the spawn,
	 * where the read waits for the child's exec; an attempt that ended meanwhile needs none. */
	struct nf_store_start {
		int64_t node_id;
		int attempt;
		pid_t pgid;
	} *starts;
	size_t nstarts, starts_cap;

	/* The node-state writes of the open batch, coalesced per node and per attempt
	 * (nodes.c): a stage's ready -> running -> succeeded within one batch costs one node
	 * UPDATE and one attempt upsert, written before anything reads the state tables
	 * (nf_store__nodes_sync) and before the batch commits. */
	struct nf_store_pnode *pnodes;
	size_t npnodes, pnodes_cap;
	struct nf_store_patt *patts;
	size_t npatts, patts_cap;
	uint32_t *pindex;            /* open addressing: node id -> pnodes index + 1 */
	size_t pindex_cap;           /* a power of 2, or 0 */
	nf_arena *pending_arena;     /* the pending records' strings */
	unsigned long state_writes;  /* node UPDATEs (cache columns included) and attempt
	                              * upserts stepped (tests) */

	/* The stat cache the cache module hashes files through (statcache.c): its interface
	 * first, so a pointer to it is one to the store's. Its statements are prepared on first
	 * use without reporting errors: a failure is a miss. */
	struct nf_store_statcache {
		nf_statcache ops;
		nf_store *st;
		sqlite3_stmt *get, *put, *batch, *window;
		/* The rows of the paths nf_store_statcache_preload read (path -> struct
		 * sc_row, one without a row too): a get of such a path asks no SQL. */
		nf_strmap *rows;
		nf_arena *rows_arena;
		/* Or, when the table holds about the run's outputs and no more, its rows read
		 * in windows in the table's order (the order the builds wrote them, which is
		 * the order of the lookups), the newest first: a window is read when a lookup
		 * reaches the second half of the newest, and the oldest let go then, so that a
		 * cached rerun of 100 000 stages does not hold 11 MB of rows. */
		struct sc_window *win[SC_WINDOWS];
		bool windowed;
		bool win_end;                /* the last read reached the table's end */
		int64_t win_after;           /* the rowid the next window starts after */
		size_t win_misses;           /* gets found in no window since the last read */
		unsigned long asked;         /* gets the table answered (tests) */
		/* The table had no row at the preload (a workspace's first run): a path has
		 * none either, but for what this process put since. Those paths are remembered
		 * in a Bloom filter (seen, seen_bits a power of two): a get of a path it has
		 * not seen asks nothing; one it may have seen asks the table. Not a row per
		 * put in memory: a first run of 100 000 stages put 3.6 MB of them. */
		bool none_before;
		uint64_t *seen;
		size_t seen_bits;
	} statcache;

	/* Called before each commit (nf_store_before_commit): what the rows about to be
	 * committed refer to outside the database is made durable first. */
	int (*before_commit)(void *ctx);
	void *before_commit_ctx;
};

/* Records the start times of the process groups started in the batch (before its COMMIT),
 * or forgets them (drop: the batch is rolled back). */
int nf_store__starts_write(nf_store *st);
/* Writes the pending node-state records of the batch (before a COMMIT, and before a
 * statement that reads the state of nodes or attempts), or forgets them (rollback). */
int nf_store__nodes_sync(nf_store *st);
/* Node row id got a key by a miss: its run becomes the first keyed one of its (pipeline,
 * node) unless an earlier is known (node_first_keyed). */
int nf_store__node_first_keyed(nf_store *st, int64_t id);
/* A cache hit's columns of node row id (key, reused_run; cached = 1, no components or
 * reason), kept with its pending state and written by the same UPDATE at the sync. */
void nf_store__node_hit(nf_store *st, int64_t id, const char *key, int64_t reused_run);
/* A cache miss's columns of node row id (key, components; the run of the same stage
 * compared with, found by name and pipeline), kept with its pending state in the same way. */
void nf_store__node_miss(nf_store *st, int64_t id, const char *key, const char *components,
			 const char *pipeline, const char *name);
/* A write of node id's cache columns that replaces a pending hit's or miss's. */
void nf_store__node_hit_forget(nf_store *st, int64_t id);
void nf_store__nodes_drop(nf_store *st);
/* Frees the pending records' memory (nf_store_close). */
void nf_store__nodes_free(nf_store *st);
void nf_store__starts_drop(nf_store *st);

/* Finalizes the stat cache's statements (nf_store_close). */
void nf_store__statcache_close(nf_store *st);

/* The components of cache entry E (an alias of cache_entries): its own row in
 * cache_components, or, for an entry a run wrote after its node's miss
 * (components_in_node), the row of that node in that run, which holds them (a prune copies
 * them out of the row before it deletes it, prune.c); the key names its components, so a
 * later entry of the key has the same. */
#define ENTRY_COMPONENTS(E) \
	"COALESCE((SELECT c.components FROM cache_components c WHERE c.entry = " E ".rowid)," \
	" (SELECT x.components FROM nodes x WHERE x.run_id = " E ".run_id AND x.name = " E ".node))"

/* The statement for id, reset and with its bindings cleared; NULL after setting the
 * error when it does not prepare. */
sqlite3_stmt *nf_store__stmt(nf_store *st, nf_sql_id id);
/* Maps an SQLite result code to NF_ELOCKED, NF_ECORRUPT or NF_ERROR and sets the message
 * ("what" says what was being done: "cannot record run"). */
int nf_store__error(nf_store *st, int rc, const char *what);
/* The same classification for the tables of the modules above the store (gate results,
 * metric series, alerts, audit, registry), in the words they always used ("WHAT: the state
 * database is damaged (...)", "WHAT: SQLite's message") and without failing the store: a
 * run stops on what the store itself meets, and on damage SQLite logs (nf_store_failure). */
int nf_store__table_error(nf_store *st, int rc, const char *what);
/* Opens the batch transaction unless one is open (every batched write calls it first). */
int nf_store__batch(nf_store *st);
/* Runs one statement to completion (SQLITE_DONE), then resets it. */
int nf_store__step_done(nf_store *st, sqlite3_stmt *q, const char *what);
/* The row id of a node of a run (cached per run). */
int nf_store__node_id(nf_store *st, int64_t run_id, const char *name, int64_t *id);
/* run_id's node count and how many of its nodes have a final state, as the store recorded
 * them for the run being written: true; false when they are to be counted in SQL. */
bool nf_store__node_counts(const nf_store *st, int64_t run_id, int64_t *total, int64_t *done);
/* Whether every node of run_id, the run being written, is cached (none ran): its phases
 * are then known without reading its rows (nf_store_phase_totals). */
bool nf_store__all_cached(const nf_store *st, int64_t run_id);
/* Notes what a node of the run being written was given: its cache column set or cleared. */
void nf_store__note_cached(nf_store *st, int64_t run_id, int64_t id, bool cached);
/* Appends a line to nf_store_recovered(). */
void nf_store__recovered_add(nf_store *st, const char *fmt, ...) NF_PRINTF(2, 3);

/* The state directory of a database path: its folder (caller frees). */
char *nf_store__state_dir(const char *db_path);
/* Before opening db_path: NF_EDAMAGED when the workspace marker exists and the database is
 * missing or empty. After: NF_EDAMAGED when the store's id is not the marker's. */
int nf_store__marker_check_file(const char *db_path);
int nf_store__marker_check_id(nf_store *st);

/* Marks runs whose ntflow process is gone as crashed and kills their leftover process
 * groups (recover.c); called by nf_store_open after migrating. */
int nf_store__recover(nf_store *st);
/* Whether nf_store__recover has a run to mark (read only). */
int nf_store__recovery_needed(nf_store *st, bool *needed);
/* This process's start time in clock ticks after boot (/proc/self/stat field 22), and
 * the kernel's boot id: together they tell a live ntflow from a reused pid. */
int64_t nf_store__proc_start(pid_t pid);
const char *nf_store__boot_id(void);
/* This machine's name: a run begun on another host cannot be judged from here. */
const char *nf_store__host(void);
/* Whether a process other than this one holds the workspace lock beside st's database
 * (lock.c): 1 one does; 0 none does (free, or held by this process's nf_workspace_lock);
 * -1 cannot be told (no lock file: no run ever held it there; an in-memory store). What
 * tells a run of another host gone: every run holds the lock from before its row is
 * written until past its end. */
int nf_store__lock_others(const nf_store *st);

/* A process group a run recorded (procs.c): its id and its leader's start time. */
typedef struct nf_proc_rec {
	pid_t pgid;
	int64_t start;
} nf_proc_rec;
/* Appends the groups of procs/RUN to *recs (grown with xgrow; *n, *cap). A missing file
 * adds nothing. */
void nf_store__procs_read(nf_store *st, int64_t run_id, nf_proc_rec **recs, size_t *n, size_t *cap);

/* The statement nf_store_perf_history runs per node (series.c; check_store reads its plan). */
extern const char nf_store__perf_history_sql[];
/* The statements comparing runs (compare.c), and the text of store.c's statement id: for
 * check_store, which reads their query plans. */
extern const char nf_store__prev_run_sql[];
extern const char nf_store__run_outputs_sql[];
const char *nf_store__sql(nf_sql_id id);

/* A column as a new string (NULL for SQL NULL). */
char *nf_store__col_strdup(sqlite3_stmt *q, int col);
/* Binds s, or NULL when s is NULL (SQLITE_STATIC: s outlives the step). */
void nf_store__bind_text_or_null(sqlite3_stmt *q, int col, const char *s);
/* Fills r from a row of the runs columns in SQL_RUN_GET's order (runs.c); the caller zeroes r first. */
void nf_store__run_from_row(nf_run_info *r, sqlite3_stmt *q);
/* Whether the ntflow process that wrote a running run (pid, its start time, the boot it
 * ran in) is still that process (recover.c). */
bool nf_store__run_alive(pid_t pid, int64_t pid_start, const char *boot_id);

/* ahead.c: the entry of key when it was read ahead and not taken yet (moved into
 * *out, as nf_store_cache_hit fills it); false: read it. st->ahead is set. */
bool nf_store__ahead_take(nf_store *st, const char *key, nf_cache_entry *out);

#endif
