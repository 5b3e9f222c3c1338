/* util.h: error values, allocation that cannot silently fail, arenas, growable strings,
 * file reading and small helpers every module shares. */
#ifndef NTFLOW_UTIL_H
#define NTFLOW_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/types.h>

/* Error codes: functions return 0 or one of these; the message is in nf_error_last(). */
enum {
	NF_ERROR     = -1,  /* anything callers do not act on specifically */
	NF_ENOTFOUND = -2,
	NF_ECYCLE    = -3,
	NF_EINVALID  = -4,  /* bad input: a DAG, a metrics file, an option */
	NF_ELOCKED   = -5,  /* the database is locked by another process */
	NF_EEXISTS   = -6,
	NF_EIO       = -7,
	NF_ECORRUPT  = -8,  /* a damaged database, cache object or artifact */
	NF_EINTR     = -9,  /* interrupted by a signal */
	NF_ENOPROD   = -10, /* no model version is in production */
	NF_EBUSY     = -11, /* the workspace's write lock is held by another process */
	NF_EDAMAGED  = -12, /* the workspace's state database is damaged, missing or emptied
	                     * after runs, or not the one the workspace held (store.h) */
};

/* Exit statuses (DESIGN.md "Run semantics"). */
enum {
	NF_EXIT_OK          = 0,
	NF_EXIT_FAILED      = 1,
	NF_EXIT_USAGE       = 2,
	NF_EXIT_GATED       = 3,
	NF_EXIT_DAMAGED     = 4,    /* the state database is damaged, missing or not this workspace's */
	NF_EXIT_BUSY        = 75,   /* the workspace is locked (--no-wait, --wait-timeout): EX_TEMPFAIL */
	NF_EXIT_INTERRUPTED = 130,
};

#if defined(__GNUC__)
#define NF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define NF_NORETURN __attribute__((noreturn))
#else
#define NF_PRINTF(f, a)
#define NF_NORETURN
#endif

#define NF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Sets the thread's last error message and returns code, so callers write
 * `return nf_error_set(NF_EINVALID, "bad %s", x);`. */
int nf_error_set(int code, const char *fmt, ...) NF_PRINTF(2, 3);
/* Like nf_error_set, with ": strerror(errno)" appended. */
int nf_error_set_errno(int code, const char *fmt, ...) NF_PRINTF(2, 3);
/* The last message set; never NULL ("" when none). */
const char *nf_error_last(void);
void nf_error_clear(void);

/* Allocation that aborts with a message on exhaustion. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
/* Hands the free memory in the middle of the heap back to the system, after a phase that
 * freed much of what it allocated (a large pipeline's parse): otherwise it stays in the
 * process's resident set for as long as the process lives. Costs a walk of the free lists. */
void nf_memory_trim(void);
void *xrealloc(void *p, size_t n);
/* Grows *items (of *cap elements of size elem) so that index `need - 1` fits; doubles. */
void *xgrow(void *items, size_t elem, size_t need, size_t *cap);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) NF_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

/* Appends one element to a (items, n, cap) triple of a struct. */
#define NF_PUSH(items, n, cap, value) \
	do { (items) = xgrow((items), sizeof(*(items)), (n) + 1, &(cap)); (items)[(n)++] = (value); } while (0)

/* Arena: many small allocations freed at once. Memory is zeroed; nf_arena_alloc aligns a
 * block to 16 bytes, or to 8 when its size is no multiple of 16. */
typedef struct nf_arena nf_arena;
nf_arena *nf_arena_new(void);
void nf_arena_free(nf_arena *a);
/* Frees everything allocated in a, keeping one chunk for what comes next. */
void nf_arena_reset(nf_arena *a);
void *nf_arena_alloc(nf_arena *a, size_t n);
/* n zeroed 32-bit values at a multiple of 4: a graph's edge lists of three ids take 12
 * bytes, not 16. */
uint32_t *nf_arena_alloc_u32(nf_arena *a, size_t n);
/* A copy of n elements of size elem in the arena (NULL when n is 0). */
void *nf_arena_memdup(nf_arena *a, const void *p, size_t n);
char *nf_arena_strdup(nf_arena *a, const char *s);
char *nf_arena_strndup(nf_arena *a, const char *s, size_t n);
char *nf_arena_printf(nf_arena *a, const char *fmt, ...) NF_PRINTF(2, 3);

/* Growable NUL-terminated byte string. */
typedef struct nf_buf {
	char *buf;   /* NULL until the first write; nf_buf_cstr gives "" then */
	size_t len;
	size_t cap;
} nf_buf;
#define NF_BUF_INIT { NULL, 0, 0 }
/* Room for extra more bytes and the NUL (the slow path of the two below). */
void nf_buf__grow(nf_buf *b, size_t extra);
/* Inline: the JSON writers of a cached rerun add a few bytes at a time, a million times
 * at 10 000 stages, where a call cost as much as the copy. */
static inline void
nf_buf_add(nf_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap)
		nf_buf__grow(b, n);
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
}
static inline void
nf_buf_putc(nf_buf *b, char c)
{
	if (b->len + 2 > b->cap)
		nf_buf__grow(b, 1);
	b->buf[b->len++] = c;
	b->buf[b->len] = '\0';
}
void nf_buf_puts(nf_buf *b, const char *s);
void nf_buf_printf(nf_buf *b, const char *fmt, ...) NF_PRINTF(2, 3);
void nf_buf_vprintf(nf_buf *b, const char *fmt, va_list ap);
/* A finite v in the fewest of 15 or 17 significant digits that read back as v ("0.1",
 * "1796428800"), where %g's six would round it ("1.79643e+09"). */
void nf_buf_put_double(nf_buf *b, double v);
/* Appends s as a JSON string literal (with quotes); a byte that is not part of valid UTF-8
 * is written \u00XX, as nf_json_print does. */
void nf_buf_add_json_string(nf_buf *b, const char *s);
/* Of a byte in a JSON string: 0 escaped, 1 printable ASCII, 2 above 127 (buf.c). */
extern const unsigned char nf_json_plain[256];
const char *nf_buf_cstr(const nf_buf *b);
void nf_buf_reset(nf_buf *b);
/* Hands the string to the caller (who frees it); b is empty afterwards. */
char *nf_buf_detach(nf_buf *b);
void nf_buf_release(nf_buf *b);

/* JSON that strict readers accept (src/util/json.c). The length of the valid UTF-8
 * sequence at s (1 to 4), or 0 when s starts none (a stray, overlong, surrogate or too
 * large form); end bounds it. */
size_t nf_utf8_seq_len(const char *s, const char *end);
/* Appends len bytes of s, each byte not part of valid UTF-8 written as the JSON escape
 * \u00XX (for text inside a JSON string); returns how many were. */
size_t nf_buf_add_utf8_json(nf_buf *b, const char *s, size_t len);
/* The length of the character at s (end bounds it) when a terminal shows it as it is, or 0
 * for a control character (below 0x20, DEL, U+0080 to U+009F, and the bidirectional
 * controls U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) or a byte that is not
 * part of valid UTF-8, which a person's output writes as \xNN (json.c). */
size_t nf_visible_len(const char *s, const char *end);
/* Whether a terminal shows all of s as it is: no character nf_visible_len refuses. */
bool nf_str_visible(const char *s);
/* Appends s for a person's terminal: each control character (below 0x20, DEL, U+0080 to
 * U+009F) and each byte that is not part of valid UTF-8 as \xNN, so that a value cannot
 * move the cursor, clear the screen or split a line (json.c). lines: line breaks and tabs
 * stay (a command of several lines). */
void nf_buf_add_visible(nf_buf *b, const char *s, bool lines);
/* cJSON_Print (pretty) or cJSON_PrintUnformatted, with bytes that are not UTF-8 in strings
 * written \u00XX: what every JSON output of ntflow goes through. Caller frees (free()). */
struct cJSON;
char *nf_json_print(const struct cJSON *j, bool pretty);

/* Reads a whole file, NUL-terminated; *len excludes the NUL. Refuses files over max bytes
 * (0: no limit) with NF_EINVALID. NF_ENOTFOUND when it does not exist. */
int nf_read_file(char **out, size_t *len, const char *path, size_t max);
/* Writes all of data to fd (path names it in the message), through short writes and EINTR. */
int nf_write_all(int fd, const void *data, size_t len, const char *path);
/* Writes data to path through a temporary file and rename, so readers never see half a file;
 * through a symbolic link, to what it leads to; into a device or a pipe (/dev/null,
 * /dev/stdout), never replacing it. */
int nf_write_file_atomic(const char *path, const void *data, size_t len);
/* mkdir -p. */
int nf_mkdir_p(const char *path, int mode);
/* rm -rf: removes path and everything below it (symlinks are removed, not followed). */
int nf_remove_tree(const char *path);

/* Paths inside the project (src/util/path.c). Every path a pipeline names is relative to
 * the project root and stays beneath it once interpolated. */
typedef enum nf_path_why {
	NF_PATH_INSIDE,     /* a path below the start */
	NF_PATH_ABSOLUTE,
	NF_PATH_OUTSIDE,    /* ".." climbs above the start */
	NF_PATH_TOP,        /* the start itself ("", ".", "a/..") */
} nf_path_why;
/* "./a//b/../c/" -> "a/c" (caller frees): "." and empty components dropped, ".." applied,
 * no trailing '/'. NULL, with *why saying why, when the path is not below its start. */
char *nf_path_lexical(const char *path, nf_path_why *why);
/* nf_path_lexical with the message set, naming path as a what ("output"): NF_EINVALID,
 * "output '../x' is outside the workspace" (or "is an absolute path; outputs are relative to
 * the project root", "is the whole workspace"). */
int nf_path_normalize(char **out, const char *path, const char *what);
/* True when inner is outer or lies below it (both normalized the same way). */
bool nf_path_holds(const char *outer, const char *inner);
/* ".ntflow" or ".git" when the normalized relative path lies in (or is) the state directory's
 * usual place or the repository's own folder, which only ntflow or git may write; else NULL.
 * *writer (writer may be NULL): "ntflow" or "git", who does. */
const char *nf_path_private(const char *norm, const char **writer);
/* Folders missing on the way are created (mkdir 0777 less the umask). */
#define NF_PATH_MKDIR 1u
/* Opens the folder that holds path (normalized: nf_path_lexical's form) beneath the open
 * folder basefd, following no symbolic link: each folder on the way is a real folder inside
 * basefd (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, else one openat O_NOFOLLOW per
 * component). *dirfd is the folder (caller closes), *name path's last component (borrowed
 * from path). NF_EINVALID when a folder on the way is a symbolic link ("output 'a/l/f' goes
 * through the symbolic link 'a/l'; ntflow does not follow links in outputs") or path is not
 * normalized; NF_ENOTFOUND when one is missing (without NF_PATH_MKDIR) or is not a folder. */
int nf_path_parent_at(int *dirfd, const char **name, int basefd, const char *path, const char *what,
		      unsigned flags);
/* The same beneath the folder root (a path). */
int nf_path_parent(int *dirfd, const char **name, const char *root, const char *path, const char *what,
		   unsigned flags);
/* fstatat(dirfd, name) without following a link: 0, NF_ENOTFOUND (no message) when nothing is
 * there, NF_EINVALID when it is a symbolic link ("output 'o/l' is a symbolic link; ntflow
 * does not follow links in outputs", path and what naming it). */
struct stat;
int nf_path_stat_at(int dirfd, const char *name, const char *what, const char *path, struct stat *st);
/* nf_path_normalize for a path about to be used beneath root: also refused when a ".."
 * in it would climb back out of a symbolic link ("output 'sub/link/..' goes through the
 * symbolic link 'sub/link'; ..."), since there the kernel and the normalized path part. */
int nf_path_beneath(char **out, const char *root, const char *path, const char *what);
/* What a run does with a path of its pipeline: nf_path_beneath, then nf_path_parent of the
 * normalized path, every message naming path as written. *norm (caller frees, also on
 * NF_ENOTFOUND) is the normalized path, *name its last component (in *norm). */
int nf_path_open(int *dirfd, const char **name, char **norm, const char *root, const char *path, const char *what,
		 unsigned flags);
/* The same from rootfd, root's folder opened by the caller (a run opens it once for all its
 * outputs instead of once per output); rootfd < 0: as nf_path_open. */
int nf_path_open_at(int *dirfd, const char **name, char **norm, int rootfd, const char *root, const char *path,
		    const char *what, unsigned flags);
/* The folders that hold outputs, opened once each and reused (src/util/dircache.c) while
 * nothing can have changed the tree: the caller stops the cache (closing them) before
 * anything may move, replace or remove a folder beneath root. One folder in use at a time. */
typedef struct nf_dircache nf_dircache;
nf_dircache *nf_dircache_new(const char *root);
/* The same with root's folder open as rootfd (the caller's, kept open while the cache is). */
nf_dircache *nf_dircache_new_at(const char *root, int rootfd);
void nf_dircache_free(nf_dircache *c);
/* nf_path_open beneath the cache's root, the same checks and messages; *dirfd is released
 * with nf_dircache_release, never closed by the caller. */
int nf_dircache_open(nf_dircache *c, int *dirfd, const char **name, char **norm, const char *path,
		     const char *what, unsigned flags);
/* Closes dirfd unless the cache keeps it. */
void nf_dircache_release(const nf_dircache *c, int dirfd);
/* Closes every kept folder; the next opens walk anew and are kept again. */
void nf_dircache_clear(nf_dircache *c);
/* Closes every kept folder; from now on each open walks anew (as nf_path_open). */
void nf_dircache_stop(nf_dircache *c);
bool nf_dircache_stopped(const nf_dircache *c);
/* How many opens were answered by a kept folder (for tests). */
size_t nf_dircache_hits(const nf_dircache *c);
/* pthread_create with every signal blocked in the new thread (src/util/thread.c); 0 or
 * NF_ERROR (no message: the callers fall back to doing the work themselves). */
int nf_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);
/* The lstat of many paths beneath a root taken ahead by a thread (src/util/statahead.c), for
 * a caller about to look at each while nothing changes the tree. */
typedef struct nf_statahead nf_statahead;
/* Stats held at once: the thread keeps at most half of it ahead of the furthest path asked
 * for, and a path more than half of it behind that is the caller's to look at again. */
#define NF_STATAHEAD_WINDOW 4096
/* Starts taking paths[0..n) (normalized relative paths, as nf_path_lexical gives them; NULL
 * or "" for none), each reached through real folders beneath rootfd's folder. The paths are
 * copied. NULL when there is nothing to take or no thread could start. */
nf_statahead *nf_statahead_start(int rootfd, const char *const *paths, size_t n);
/* Path i's lstat (the fields nf_same_stat, the mode and the racy rules read) when the
 * thread has taken it, it is path, and a file or folder was there; false otherwise (not
 * taken yet, more than half a window behind the furthest path asked for, missing, a link
 * on the way or at the end): the caller looks itself. Never waits; asking for i lets the
 * thread go on to half a window past it. */
bool nf_statahead_get(nf_statahead *s, size_t i, const char *path, struct stat *st);
/* How many paths the thread has taken so far (for tests). */
size_t nf_statahead_taken(const nf_statahead *s);
/* Stops the thread, waits for it and frees s. */
void nf_statahead_free(nf_statahead *s);
/* rm -rf of name in the folder dirfd, never following a link (a link is removed itself);
 * nothing there is fine. path names it in messages. */
int nf_path_remove_at(int dirfd, const char *name, const char *path);
/* Where path (relative to root) leads once every symbolic link is followed, relative to root
 * ("" for the root itself; caller frees); *linked (may be NULL) is true when that differs
 * from path itself (a link on the way). NF_EINVALID when path is absolute or climbs out of
 * root, or when a link leads out of it ("input 'data' leads to '/mnt/big', outside the
 * project, through a symbolic link"). A part that does not exist yet is taken as written. */
int nf_path_resolve(char **out, bool *linked, const char *root, const char *path, const char *what);
/* The project root of a DAG file (src/util/root.c): the top of the git work tree holding it,
 * else its folder. Stages run there and relative paths in the file (params files too) are
 * relative to it. NULL when dag_path does not exist. Caller frees. */
char *nf_project_root(const char *dag_path);
/* A state folder's path made absolute with the folders above it resolved, not the folder
 * itself (src/util/root.c): a .ntflow that is a symbolic link to another disk still sits in
 * its project, whose models folder the registry records relative to the state folder's
 * parent. Caller frees. */
char *nf_state_dir_canon(const char *state_dir);
/* The file system holding path (or its nearest existing ancestor), src/util/fs.c: the bytes
 * we may still write there (root counts the blocks reserved for it) and its size. */
int nf_fs_space(const char *path, uint64_t *avail, uint64_t *size);
/* "the file system at /mnt/data (ext4) has 0 bytes free of 20 MB", for messages about a full
 * disk (caller frees). */
char *nf_fs_describe(const char *path);
/* nf_error_set_errno for an I/O error on path; when errno is ENOSPC or EDQUOT the message
 * also names path's file system and its free space (nf_fs_describe). */
int nf_error_set_io(int code, const char *path, const char *fmt, ...) NF_PRINTF(3, 4);
/* "812 bytes", "1.5 KB", "20 MB" (1024-based). */
void nf_format_bytes(char *out, size_t size, uint64_t n);
/* "100MB", "512K", "1GB", "4096" -> bytes (B, K/KB, M/MB, G/GB, T/TB; 1024-based; a whole
 * number). NF_EINVALID when malformed. */
int nf_parse_size(uint64_t *out, const char *s);

/* Levenshtein distance, giving up (returning max + 1) once it exceeds max. */
size_t nf_edit_distance(const char *a, const char *b, size_t max);
/* The candidate nearest to word, if near enough to be a plausible typo; else NULL. */
const char *nf_suggest(const char *word, const char *const *cands, size_t n);
/* n bytes as 2n lower-case hex digits and a NUL at out (2n + 1 bytes). */
void nf_hex_encode(char *out, const unsigned char *in, size_t n);
/* The first 2n characters of hex, lower-case hex digits, as n bytes at out: 0, or -1 (out
 * then undefined) when one is not; a digest kept as bytes writes back as the same text. */
int nf_hex_decode(unsigned char *out, size_t n, const char *hex);

/* "30s", "10m", "2h", "1h30m", "500ms", "1d" -> milliseconds. NF_EINVALID when malformed. */
int nf_parse_duration(int64_t *ms, const char *s);
/* Formats milliseconds for people: "850ms", "4.2s", "3m05s", "1h02m". */
void nf_format_duration(char *out, size_t size, int64_t ms);

/* Hash map from NUL-terminated string keys (borrowed, must outlive the map) to pointers. */
/* FNV-1a over s's bytes: the hash of nf_strmap, and of the tables that keep no key. */
uint64_t nf_str_hash(const char *s);
typedef struct nf_strmap nf_strmap;
nf_strmap *nf_strmap_new(size_t hint);
void nf_strmap_free(nf_strmap *m);
/* Returns the previous value for key, or NULL. */
void *nf_strmap_put(nf_strmap *m, const char *key, void *value);
void *nf_strmap_get(const nf_strmap *m, const char *key);
size_t nf_strmap_count(const nf_strmap *m);
/* An index of names held elsewhere, by number: a slot holds a name's hash (its low half) and
 * 1 + its number, 8 bytes at most 4/5 full where an nf_strmap takes 17 and a key pointer;
 * name(ctx, i) says where number i's name is (and must go on saying so). */
typedef const char *nf_nameidx_name(const void *ctx, uint32_t i);
typedef struct nf_nameidx {
	uint32_t *slots;   /* cap pairs: hash, 1 + number (0: free) */
	size_t cap, count;
	nf_nameidx_name *name;
	const void *ctx;
} nf_nameidx;
void nf_nameidx_init(nf_nameidx *x, size_t hint, nf_nameidx_name *name, const void *ctx);
void nf_nameidx_free(nf_nameidx *x);
/* Adds number i under its name (a name already there is found first, as before). */
void nf_nameidx_add(nf_nameidx *x, uint32_t i);
/* 1 + the number of name, or 0 when it has none. */
uint32_t nf_nameidx_find(const nf_nameidx *x, const char *name);
/* In an array of n elements of size bytes sorted by the string each holds at offset (strcmp
 * order), the index of the first whose string is not below key (n: none). */
size_t nf_lower_bound_str(const void *base, size_t n, size_t size, size_t offset, const char *key);

/* A text table for listings: a header line, then a line per row; each column as wide as
 * its widest cell, two spaces between columns, the last column not padded. */
typedef struct nf_table nf_table;
/* head: ncols column names, borrowed (they must outlive the table). */
nf_table *nf_table_new(size_t ncols, const char *const *head);
void nf_table_free(nf_table *t);
/* Pads column col on the left (ids, counts) instead of the right. */
void nf_table_align_right(nf_table *t, size_t col);
/* Appends a row and returns its ncols cells, NULL, for the caller to fill with malloc'd
 * strings (xstrdup, xasprintf) the table then owns; valid until the next call. */
char **nf_table_add_row(nf_table *t);
/* How wide column col is: its widest cell or its name. */
size_t nf_table_width(const nf_table *t, size_t col);
/* Appends the table to out. */
void nf_table_format(nf_buf *out, const nf_table *t);
/* The same fitted to max terminal columns (0: no limit): the widest column is cut, its
 * cells ending in an ellipsis, then the next widest, down to 3 characters and the
 * ellipsis (or its heading's width) each. Widths count UTF-8 characters. */
void nf_table_format_fit(nf_buf *out, const nf_table *t, size_t max);

/* The value of the number written in [s, s+n) ("0.5", "1e-3"), with '.' as the decimal
 * point whatever the locale. */
double nf_number_value(const char *s, size_t n);

/* Test-only hooks (src/util/hook.c), inert unless built with NF_TEST_HOOKS: ./ntflow has
 * none by default; tests/ntflow-test, which the test suite drives, has them.
 * nf_test_hook: true when NTFLOW_FAULT names point, a crash point of the caller's (which
 * then dies as a crash would, e.g. _exit(99)). nf_test_hook_value: the value of the test-only
 * variable name (NTFLOW_TEST_...), NULL when unset or empty. */
bool nf_test_hook(const char *point);
const char *nf_test_hook_value(const char *name);

/* Milliseconds on the monotonic and the real-time clocks. */
int64_t nf_now_monotonic_ms(void);
int64_t nf_now_realtime_ms(void);
/* "YYYY-MM-DD" that is a real calendar date (src/util/time.c). */
bool nf_date_ok(const char *s);

/* Processes (src/util/proc.c, Linux /proc). A process's start time in clock ticks after
 * boot (field 22 of /proc/PID/stat), 0 when it is gone or unreadable: with the pid it
 * tells a process from a later one that reused the pid. */
int64_t nf_proc_start_time(pid_t pid);
/* Tells nf_proc_start_time the start of a child just spawned, which the child read from its
 * own /proc/self/stat: the next question about pid is answered from this, once. */
void nf_proc_note_start(pid_t pid, int64_t start);
/* The start time field of the text of a /proc/PID/stat file in stat[0, len), 0 when it is
 * not there. Async-signal-safe (a vfork child reads its own). */
int64_t nf_proc_stat_start(const char *stat, size_t len);
/* Whether pid has ended and waits to be reaped (a zombie): a detached process killed while
 * its parent (init, or a container's first process) has not yet waited for it. */
bool nf_proc_zombie(pid_t pid);
/* Sends sig to every process (but ourselves and init) whose environment, as it was when
 * it started its program (/proc/PID/environ), holds the entry mark ("NAME=VALUE")
 * exactly, and whose process group is not one of skip_groups (sorted ascending; nskip of
 * them). Up to max of their pids go to killed (may be NULL). Returns how many. */
size_t nf_proc_kill_marked(const char *mark, int sig, const pid_t *skip_groups, size_t nskip, pid_t *killed,
			   size_t max);

/* The process's SHA-256 implementation (OpenSSL's EVP_MD), fetched once (src/util/sha256.c). */
struct evp_md_st;
const struct evp_md_st *nf_sha256_md(void);

#endif
