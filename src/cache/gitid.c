/* gitid.c: the git identity of a stage's inputs through libgit2 (never by running git): the
 * blob or tree OID in HEAD for what is clean, the OID git would give the working-tree content
 * for what is dirty, and a SHA-256 of the content for what git ignores or cannot see.
 *
 * One status snapshot is taken at open (libgit2 compares the index's stat data with the
 * work tree, as `git status` does, so a clean repository is checked without reading file
 * contents). Its dirty and ignored paths are kept in sorted arrays, so "is this file dirty?"
 * and "is anything under this folder dirty?" are binary searches, and a clean tracked path
 * costs one lstat plus lookups in HEAD's trees, which are cached per folder: libgit2 does
 * not cache trees over 4 KiB, and a folder of 10 000 inputs is a 400 KiB tree.
 *
 * Ignored files inside a folder that git sees are not part of the folder's tree OID, as in
 * git, but they are part of what the folder holds as an input: their content is hashed and
 * folded into its identity (fold_ignored); a folder in which git sees nothing at all (every
 * file ignored) is content-hashed.
 *
 * An input is identified where it leads: symbolic links on its way or at its end are
 * followed (nf_path_resolve), so a tracked link `data/current -> v3` is keyed on what v3
 * holds, not on the link's text, and retargeting it changes the key. Where it leads must be
 * inside the project: a link out of it (`data -> /mnt/big`) is refused with a message, as
 * is an absolute path or one climbing out with "..". Links inside an input folder are part
 * of the folder's tree as git records them, by their text. */
#include "config.h"
#include "ntflow/cache.h"
#include "cache-internal.h"

#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

/* Names never part of a content identity: git's own folder and ntflow's state. */
static const char *const content_skip[] = { ".git", ".ntflow", NULL };

typedef struct status_entry {
	char *path;          /* relative to the work tree, no trailing '/' */
	unsigned flags;      /* git_status_t */
} status_entry;

struct nf_gitrepo {
	char *root;                  /* realpath of the root given to open */
	int rootfd;                  /* root, open once for the fast path of identify (-1: none) */
	bool rootfd_tried;
	nf_statcache *db;            /* the stat cache, or NULL */
	bool git_inited;
	/* A checkout of a commit (nf_gitrepo_open_at): exactly the commit's tree, no snapshot to
	 * take or doubt (every file of it was just written), nothing else writes it. */
	bool at;
	git_repository *repo;        /* NULL: no repository, everything is content-hashed */
	git_index *index;
	char *workdir;               /* realpath of the work tree, no trailing '/' */
	char *prefix;                /* root relative to workdir: "" or "sub/dir/" */
	bool filemode;               /* core.filemode */
	bool has_head;
	char head[GIT_OID_HEXSZ + 1];
	char *branch;
	git_tree *head_tree;

	/* The status snapshot, both sorted by strcmp on path, and when it was taken (real
	 * time, in ns, as file times are). */
	status_entry *dirty;
	size_t ndirty, dirty_cap;
	status_entry *ignored;
	size_t nignored, ignored_cap;
	int64_t snapshot_ns;

	/* HEAD's tree of each folder looked up so far (git path -> git_tree *, or
	 * &no_tree when HEAD has no folder there). Keys and trees are owned here. */
	nf_strmap *trees;
	char **tree_keys;
	size_t ntree_keys, tree_keys_cap;
	git_tree **tree_objs;
	size_t ntree_objs, tree_objs_cap;

	/* Dirty paths seen by identify, sorted, NULL-terminated (relative to root). */
	char **seen;
	size_t nseen, seen_cap;

	/* For one nf_gitrepo_identify_except: git paths left out of the folders' trees. */
	char **except;
	size_t nexcept;

	/* Files whose hash the stat cache vouched for, by absolute path (file_sha): the next
	 * look at one costs its stat, not a query. Entries and keys in files_arena. */
	nf_strmap *files;
	nf_arena *files_arena;
	/* Tracked files hashed from the work tree (blob_of), by absolute path: the next look at
	 * one costs its stat. Entries and keys in blobs_arena. */
	nf_strmap *blobs;
	nf_arena *blobs_arena;
	/* The folders under which something changed since the snapshot (mark_changed), for the
	 * folder being identified; keys in changed_arena. */
	nf_strmap *changed;
	nf_arena *changed_arena;
	struct { dev_t dev; bool local; } devs[8];   /* file systems seen (dev_local) */
	size_t ndevs;

	/* Folders identified since nf_gitrepo_memo turned keeping them on (NULL: off), by
	 * memo_key; entries and keys in memo_arena. */
	nf_strmap *memo;
	nf_arena *memo_arena;
};

/* A file's hash and the stat it holds for. */
typedef struct file_memo {
	nf_statkey key;
	char sha[65];
} file_memo;

/* A tracked file's blob id as hashed from the work tree, and the stat it holds for. */
typedef struct blob_memo {
	nf_statkey key;
	git_oid oid;
} blob_memo;

static char no_tree;

static int
git_fail(const char *what)
{
	const git_error *e = git_error_last();

	return nf_error_set(NF_EIO, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* ---- the status snapshot ---- */

static void
entries_release(status_entry **items, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < *n; i++)
		free((*items)[i].path);
	free(*items);
	*items = NULL;
	*n = *cap = 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const status_entry *)a)->path, ((const status_entry *)b)->path);
}

/* Index of the first entry whose path is >= key. */
static size_t
lower_bound(const status_entry *items, size_t n, const char *key)
{
	return nf_lower_bound_str(items, n, sizeof(*items), offsetof(status_entry, path), key);
}

static const status_entry *
find_exact(const status_entry *items, size_t n, const char *path)
{
	size_t i = lower_bound(items, n, path);

	return i < n && !strcmp(items[i].path, path) ? &items[i] : NULL;
}

/* The range [*first, *end) of entries strictly under folder gp ("" is the whole tree). */
static void
range_under(const status_entry *items, size_t n, const char *gp, size_t *first, size_t *end)
{
	size_t len = strlen(gp), i;
	char *key;

	if (!len) {
		*first = 0;
		*end = n;
		return;
	}
	key = xasprintf("%s/", gp);
	i = lower_bound(items, n, key);
	*first = i;
	while (i < n && !strncmp(items[i].path, key, len + 1))
		i++;
	*end = i;
	free(key);
}

static bool
dirty_under(const nf_gitrepo *r, const char *gp)
{
	size_t first, end;

	range_under(r->dirty, r->ndirty, gp, &first, &end);
	return first < end;
}

/* Left out by nf_gitrepo_identify_except: gp itself. */
static bool
excepted(const nf_gitrepo *r, const char *gp)
{
	for (size_t i = 0; i < r->nexcept; i++)
		if (!strcmp(r->except[i], gp))
			return true;
	return false;
}

/* Something under folder gp is left out: its tree is built, not HEAD's taken. */
static bool
except_under(const nf_gitrepo *r, const char *gp)
{
	size_t n = strlen(gp);

	for (size_t i = 0; i < r->nexcept; i++)
		if (!n || (!strncmp(r->except[i], gp, n) && r->except[i][n] == '/'))
			return true;
	return false;
}

/* A path under folder gp is dirty in the snapshot, other than those left out. */
static bool
dirty_under_except(const nf_gitrepo *r, const char *gp)
{
	size_t first, end;

	range_under(r->dirty, r->ndirty, gp, &first, &end);
	for (size_t i = first; i < end; i++)
		if (!excepted(r, r->dirty[i].path))
			return true;
	return false;
}

/* Ignored in the snapshot: the path itself or one of its folders was reported ignored. */
static bool
snapshot_ignored(const nf_gitrepo *r, const char *gp)
{
	char *p;
	bool found = false;

	if (!r->nignored)
		return false;
	if (find_exact(r->ignored, r->nignored, gp))
		return true;
	p = xstrdup(gp);
	for (char *s = strchr(p, '/'); s && !found; s = strchr(s + 1, '/')) {
		*s = '\0';
		found = find_exact(r->ignored, r->nignored, p) != NULL;
		*s = '/';
	}
	free(p);
	return found;
}

static void
trees_clear(nf_gitrepo *r)
{
	for (size_t i = 0; i < r->ntree_objs; i++)
		git_tree_free(r->tree_objs[i]);
	for (size_t i = 0; i < r->ntree_keys; i++)
		free(r->tree_keys[i]);
	free(r->tree_objs);
	free(r->tree_keys);
	r->tree_objs = NULL;
	r->tree_keys = NULL;
	r->ntree_objs = r->tree_objs_cap = r->ntree_keys = r->tree_keys_cap = 0;
	nf_strmap_free(r->trees);
	r->trees = NULL;
}

static void
snapshot_release(nf_gitrepo *r)
{
	entries_release(&r->dirty, &r->ndirty, &r->dirty_cap);
	entries_release(&r->ignored, &r->nignored, &r->ignored_cap);
	trees_clear(r);
	git_tree_free(r->head_tree);
	r->head_tree = NULL;
	r->has_head = false;
	r->head[0] = '\0';
	free(r->branch);
	r->branch = NULL;
}

/* HEAD's commit, tree and branch; an unborn branch has a name but no commit. */
static int
load_head(nf_gitrepo *r)
{
	git_reference *ref = NULL, *sym = NULL;
	git_object *commit = NULL;
	int rc, err = 0;

	rc = git_repository_head(&ref, r->repo);
	if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
		const char *target;

		if (git_reference_lookup(&sym, r->repo, "HEAD") == 0 &&
		    git_reference_type(sym) == GIT_REFERENCE_SYMBOLIC &&
		    (target = git_reference_symbolic_target(sym)) &&
		    !strncmp(target, "refs/heads/", 11))
			r->branch = xstrdup(target + 11);
		goto done;
	}
	if (rc < 0) {
		err = git_fail("cannot read HEAD");
		goto done;
	}
	if (git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) < 0 ||
	    git_commit_tree(&r->head_tree, (git_commit *)commit) < 0) {
		err = git_fail("cannot read HEAD's commit");
		goto done;
	}
	git_oid_tostr(r->head, sizeof(r->head), git_object_id(commit));
	r->has_head = true;
	if (git_reference_is_branch(ref))
		r->branch = xstrdup(git_reference_shorthand(ref));
done:
	git_object_free(commit);
	git_reference_free(ref);
	git_reference_free(sym);
	return err;
}

static int
snapshot_take(nf_gitrepo *r)
{
	git_status_options opts;
	git_status_list *list = NULL;
	size_t n;
	int err = 0;

	snapshot_release(r);
	r->trees = nf_strmap_new(64);
	r->snapshot_ns = nf_coarse_now_ns();   /* the clock local file times are stamped with */
	if (git_index_read(r->index, 0) < 0) {
		err = git_fail("cannot read the git index");
		goto done;
	}
	if ((err = load_head(r)) < 0)
		goto done;
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		GIT_STATUS_OPT_INCLUDE_IGNORED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&list, r->repo, &opts) < 0) {
		err = git_fail("cannot read the git status");
		goto done;
	}
	n = git_status_list_entrycount(list);
	for (size_t i = 0; i < n; i++) {
		const git_status_entry *s = git_status_byindex(list, i);
		const git_diff_delta *d = s->index_to_workdir ? s->index_to_workdir : s->head_to_index;
		status_entry e;
		size_t len;

		if (!d || s->status == GIT_STATUS_CURRENT)
			continue;
		e.path = xstrdup(d->new_file.path ? d->new_file.path : d->old_file.path);
		len = strlen(e.path);
		while (len && e.path[len - 1] == '/')   /* ignored folders come as "dir/" */
			e.path[--len] = '\0';
		e.flags = s->status;
		if (s->status & GIT_STATUS_IGNORED)
			NF_PUSH(r->ignored, r->nignored, r->ignored_cap, e);
		else
			NF_PUSH(r->dirty, r->ndirty, r->dirty_cap, e);
	}
	if (r->ndirty)
		qsort(r->dirty, r->ndirty, sizeof(*r->dirty), entry_cmp);
	if (r->nignored)
		qsort(r->ignored, r->nignored, sizeof(*r->ignored), entry_cmp);
done:
	git_status_list_free(list);
	return err;
}

/* ---- HEAD's trees, cached per folder ---- */

/* HEAD's tree for folder gp ("" is the root), or NULL when HEAD has no folder there. */
static git_tree *
head_folder(nf_gitrepo *r, const char *gp)
{
	void *cached;
	const char *slash;
	char *parent_path;
	git_tree *parent, *tree = NULL;
	const git_tree_entry *e;

	if (!r->head_tree)
		return NULL;
	if (!*gp)
		return r->head_tree;
	if ((cached = nf_strmap_get(r->trees, gp)))
		return cached == &no_tree ? NULL : cached;
	slash = strrchr(gp, '/');
	parent_path = slash ? xstrndup(gp, (size_t)(slash - gp)) : xstrdup("");
	parent = head_folder(r, parent_path);
	free(parent_path);
	if (parent && (e = git_tree_entry_byname(parent, slash ? slash + 1 : gp)) &&
	    git_tree_entry_type(e) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&tree, r->repo, git_tree_entry_id(e)) == 0)
		NF_PUSH(r->tree_objs, r->ntree_objs, r->tree_objs_cap, tree);
	else
		tree = NULL;
	NF_PUSH(r->tree_keys, r->ntree_keys, r->tree_keys_cap, xstrdup(gp));
	nf_strmap_put(r->trees, r->tree_keys[r->ntree_keys - 1], tree ? (void *)tree : &no_tree);
	return tree;
}

/* HEAD's entry for gp (not the root), borrowed from the cached folder tree, or NULL. */
static const git_tree_entry *
head_entry(nf_gitrepo *r, const char *gp)
{
	const char *slash = strrchr(gp, '/');
	git_tree *parent;

	if (slash) {
		char *dir = xstrndup(gp, (size_t)(slash - gp));

		parent = head_folder(r, dir);
		free(dir);
	} else {
		parent = head_folder(r, "");
	}
	return parent ? git_tree_entry_byname(parent, slash ? slash + 1 : gp) : NULL;
}

/* ---- dirty paths seen ---- */

static void
note_dirty(nf_gitrepo *r, const char *gp)
{
	size_t plen = strlen(r->prefix), lo = 0, hi = r->nseen;
	char *path;

	if (plen && !strncmp(gp, r->prefix, plen))
		path = xstrdup(gp + plen);
	else if (plen)
		path = xasprintf("%s/%s", r->workdir, gp);
	else
		path = xstrdup(gp);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->seen[mid], path);

		if (c == 0) {
			free(path);
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r->seen = xgrow(r->seen, sizeof(*r->seen), r->nseen + 2, &r->seen_cap);
	memmove(&r->seen[lo + 1], &r->seen[lo], (r->nseen - lo) * sizeof(*r->seen));
	r->seen[lo] = path;
	r->seen[++r->nseen] = NULL;
}

static void
note_dirty_under(nf_gitrepo *r, const char *gp)
{
	size_t first, end;

	range_under(r->dirty, r->ndirty, gp, &first, &end);
	for (size_t i = first; i < end; i++)
		note_dirty(r, r->dirty[i].path);
}

/* ---- identities ---- */

static void
set_id(nf_path_id *out, nf_id_kind kind, const char *scheme, const char *hex)
{
	out->kind = kind;
	snprintf(out->id, sizeof(out->id), "%s:%s", scheme, hex);
}

static void
set_oid(nf_path_id *out, nf_id_kind kind, const char *scheme, const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), oid);
	set_id(out, kind, scheme, hex);
}

static int
hash_for_manifest(void *ctx, char sha[65], int dirfd, const char *name, const char *abs, const struct stat *st)
{
	(void)st;
	return nf_hash_at(sha, dirfd, name, abs, ctx);
}

/* Frees map m and arena a, which holds its entries and keys. */
static void
memo_free(nf_strmap **m, nf_arena **a)
{
	nf_strmap_free(*m);
	nf_arena_free(*a);
	*m = NULL;
	*a = NULL;
}

/* A new entry of size bytes for key in the memo *map, its key and entry in *arena (both
 * made at the first). */
static void *
memo_add(nf_strmap **map, nf_arena **arena, const char *key, size_t size)
{
	void *e;

	if (!*map) {
		*map = nf_strmap_new(64);
		*arena = nf_arena_new();
	}
	e = nf_arena_alloc(*arena, size);
	nf_strmap_put(*map, nf_arena_strdup(*arena, key), e);
	return e;
}

/* Whether the file system of device dev (abs on it) is local (nf_local_fs_path), asked once
 * a device in a run. */
static bool
dev_local(nf_gitrepo *r, dev_t dev, const char *abs)
{
	for (size_t i = 0; i < r->ndevs; i++)
		if (r->devs[i].dev == dev)
			return r->devs[i].local;
	if (r->ndevs < sizeof(r->devs) / sizeof(r->devs[0])) {
		r->devs[r->ndevs].dev = dev;
		r->devs[r->ndevs].local = nf_local_fs_path(abs);
		return r->devs[r->ndevs++].local;
	}
	return nf_local_fs_path(abs);
}

/* The SHA-256 of regular file abs, whose stat (of the path) is st. A file the stat cache
 * vouched for is remembered for the run, so that the folder read for each of a matrix's
 * instances reads, asks and opens it once and then only stats it: on a local file system,
 * where a stat of the path is as fresh as one of the opened file. On a network one (NFS
 * answers a path's stat from attributes it cached for up to a minute, and refreshes them
 * at an open), it is opened each time, as nf_hash_file does. */
static int
file_sha(nf_gitrepo *r, const char *abs, const struct stat *st, char sha[65])
{
	file_memo *m = r->files ? nf_strmap_get(r->files, abs) : NULL;
	bool local = r->db && dev_local(r, st->st_dev, abs), vouched = false;
	struct stat opened;
	int err;

	if (local && m && nf_statkey_is(&m->key, st)) {
		memcpy(sha, m->sha, sizeof(m->sha));
		return 0;
	}
	if ((err = nf_hash_file_vouched(sha, abs, r->db, &vouched, &opened)) < 0 || !local || !vouched)
		return err;
	if (!m)
		m = memo_add(&r->files, &r->files_arena, abs, sizeof(*m));
	nf_stat_key(&m->key, &opened);
	memcpy(m->sha, sha, sizeof(m->sha));
	return 0;
}

/* SHA-256 of a file's content, or of a folder's manifest (see manifest.c, version 1: only
 * the executable bit, as git sees modes). abs is where the input leads (links resolved by
 * the caller); links inside a folder are listed by their text. */
static int
content_id(nf_gitrepo *r, const char *abs, nf_path_id *out)
{
	nf_manifest_ops ops = { hash_for_manifest, NULL, r->db };
	struct stat st;
	nf_manifest m = { NULL, 0, 0 };
	nf_buf text = NF_BUF_INIT;
	char sha[65];
	int fd = -1, err = 0;

	if (stat(abs, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			out->kind = NF_ID_MISSING;
			snprintf(out->id, sizeof(out->id), "missing");
			return 0;
		}
		return nf_error_set_errno(NF_EIO, "cannot stat '%s'", abs);
	}
	if (!S_ISDIR(st.st_mode)) {
		if ((err = S_ISREG(st.st_mode) ? file_sha(r, abs, &st, sha) : nf_hash_file(sha, abs, r->db)) < 0)
			return err;
		set_id(out, NF_ID_CONTENT, "sha256", sha);
		return 0;
	}
	/* One transaction for the folder's stat cache rows instead of one per file. */
	if (r->db)
		r->db->begin(r->db);
	if ((fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", abs);
	else
		err = nf_manifest_scan_at(&m, fd, abs, content_skip, &ops);
	if (r->db)
		r->db->end(r->db);
	if (err < 0)
		goto done;
	nf_manifest_format(&text, &m, NF_MANIFEST_V1);
	nf_sha256_buf(sha, text.buf, text.len);
	set_id(out, NF_ID_CONTENT, "sha256", sha);
done:
	if (fd >= 0)
		close(fd);
	nf_manifest_release(&m);
	nf_buf_release(&text);
	return err;
}

/* The blob OID git would give the working-tree file (filters applied, as `git add` does);
 * for a symlink, the blob of its target text. */
static int
worktree_blob(nf_gitrepo *r, git_oid *oid, const char *abs, const char *gp, const struct stat *st)
{
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(abs, target, sizeof(target));

		if (n < 0)
			return nf_error_set_errno(NF_EIO, "cannot read the link '%s'", abs);
		if (git_odb_hash(oid, target, (size_t)n, GIT_OBJECT_BLOB) < 0)
			return git_fail("cannot hash a link");
		return 0;
	}
	if (!S_ISREG(st->st_mode))
		return nf_error_set(NF_EINVALID, "cannot identify '%s': not a file, folder or symlink", abs);
	if (git_repository_hashfile(oid, r->repo, abs, GIT_OBJECT_BLOB, gp) < 0) {
		char *what = xasprintf("cannot hash '%s'", abs);
		int err = git_fail(what);

		free(what);
		return err;
	}
	return 0;
}

static unsigned
worktree_mode(const nf_gitrepo *r, const struct stat *st, const git_index_entry *ie)
{
	if (S_ISLNK(st->st_mode))
		return NF_MODE_LINK;
	if (!r->filemode && ie && (ie->mode == NF_MODE_EXEC || ie->mode == NF_MODE_FILE))
		return ie->mode;
	return (st->st_mode & S_IXUSR) && r->filemode ? NF_MODE_EXEC : NF_MODE_FILE;
}

typedef struct tree_item {
	char *name;
	unsigned mode;
	git_oid oid;
} tree_item;

/* git's order of tree entries: by name, a folder's name compared as if it ended in '/'. */
static int
tree_item_cmp(const void *pa, const void *pb)
{
	const tree_item *a = pa, *b = pb;
	size_t la = strlen(a->name), lb = strlen(b->name), n = la < lb ? la : lb;
	int c = memcmp(a->name, b->name, n);
	unsigned ca, cb;

	if (c)
		return c;
	ca = la > n ? (unsigned char)a->name[n] : (a->mode == NF_MODE_DIR ? '/' : 0);
	cb = lb > n ? (unsigned char)b->name[n] : (b->mode == NF_MODE_DIR ? '/' : 0);
	return (int)ca - (int)cb;
}

static bool
has_git_dir(const char *abs)
{
	char *p = xasprintf("%s/.git", abs);
	struct stat st;
	bool yes = lstat(p, &st) == 0;

	free(p);
	return yes;
}

/* Whether the file st describes may have changed since the status snapshot, which then
 * says nothing of it: its inode changed (ctime, set by the kernel on every write, rename
 * or chmod, and never by a program) no earlier than a second before the snapshot, a margin
 * for file systems stamped by another machine's clock. A person's edit during a long run is
 * seen so, and a stage retried after its input was mended is keyed on the mended input; a
 * file written just before the run is hashed once more than it needed. */
static bool
changed_since_snapshot(const nf_gitrepo *r, const struct stat *st)
{
	return !r->at && nf_ts_ns(&st->st_ctim) >= r->snapshot_ns - 1000000000;
}

/* Walks folder abs (gp under the work tree) once, marking in r->changed each folder under
 * which something changed since the snapshot, as changed_since_snapshot says (the folder
 * itself too: an entry added, removed or renamed); whether abs is one. The snapshot's word
 * that a folder is clean holds only for one not marked (changed_at). What git leaves out
 * (.git, nested repositories, what the snapshot saw ignored) is not looked at; a folder
 * that cannot be read counts as changed (build_tree reports why). The cost is a stat of
 * each entry each time the folder is read (once for the keys of a run until a stage runs:
 * nf_gitrepo_memo), where git's status took one at the snapshot: 0.04 s for 20 000 files. */
static bool
mark_changed(nf_gitrepo *r, const char *gp, const char *abs)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	bool changed;

	if (lstat(abs, &st) < 0 || !S_ISDIR(st.st_mode) || !(d = opendir(abs))) {
		changed = true;
	} else {
		changed = changed_since_snapshot(r, &st);
		while ((errno = 0, de = readdir(d))) {
			char *cgp, *cabs;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".git"))
				continue;
			cgp = *gp ? xasprintf("%s/%s", gp, de->d_name) : xstrdup(de->d_name);
			cabs = xasprintf("%s/%s", abs, de->d_name);
			if (!snapshot_ignored(r, cgp)) {
				if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					changed |= errno != ENOENT;
				else if (S_ISDIR(st.st_mode))
					changed |= !has_git_dir(cabs) && mark_changed(r, cgp, cabs);
				else
					changed |= changed_since_snapshot(r, &st);
			}
			free(cgp);
			free(cabs);
		}
		changed |= errno != 0;
		closedir(d);
	}
	if (changed) {
		if (!r->changed) {
			r->changed = nf_strmap_new(16);
			r->changed_arena = nf_arena_new();
		}
		nf_strmap_put(r->changed, nf_arena_strdup(r->changed_arena, gp), r);
	}
	return changed;
}

/* Whether folder gp was marked by the last mark_changed over a folder holding it. */
static bool
changed_at(const nf_gitrepo *r, const char *gp)
{
	return r->changed && nf_strmap_get(r->changed, gp);
}

static void
changed_clear(nf_gitrepo *r)
{
	nf_strmap_free(r->changed);
	nf_arena_free(r->changed_arena);
	r->changed = NULL;
	r->changed_arena = NULL;
}

static int build_tree(nf_gitrepo *r, const char *gp, const char *abs, git_oid *oid, bool *nonempty);
static int blob_of(nf_gitrepo *r, git_oid *oid, const char *abs, const char *gp, const struct stat *st);

/* The tree entry of one work-tree path, or *keep false when git would not record it. */
static int
tree_item_of(nf_gitrepo *r, const char *cgp, const char *cabs, tree_item *it, bool *keep)
{
	const git_index_entry *ie;
	const status_entry *se;
	struct stat st;
	int err;

	*keep = false;
	if (excepted(r, cgp))
		return 0;
	if (lstat(cabs, &st) < 0)
		return errno == ENOENT ? 0 : nf_error_set_errno(NF_EIO, "cannot stat '%s'", cabs);
	if (snapshot_ignored(r, cgp))
		return 0;
	ie = git_index_get_bypath(r->index, cgp, 0);
	if (S_ISDIR(st.st_mode)) {
		if (ie && ie->mode == GIT_FILEMODE_COMMIT) {   /* a submodule: its recorded commit */
			it->mode = GIT_FILEMODE_COMMIT;
			git_oid_cpy(&it->oid, &ie->id);
			*keep = true;
			return 0;
		}
		if (has_git_dir(cabs))   /* an unregistered nested repository: not ours to hash */
			return 0;
		it->mode = NF_MODE_DIR;
		return build_tree(r, cgp, cabs, &it->oid, keep);
	}
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return 0;                /* git records no FIFOs, sockets or devices */
	se = find_exact(r->dirty, r->ndirty, cgp);
	if (!se && ie && (S_ISLNK(st.st_mode) ? ie->mode == NF_MODE_LINK : ie->mode != NF_MODE_LINK) &&
	    !changed_since_snapshot(r, &st)) {
		/* Clean: the index holds the work tree's OID (status compared them). */
		git_oid_cpy(&it->oid, &ie->id);
		it->mode = ie->mode;
		*keep = true;
		return 0;
	}
	if (!se && !ie) {
		/* Not in the snapshot: created since. Ask the ignore rules directly. */
		int ignored = 0;

		if (git_ignore_path_is_ignored(&ignored, r->repo, cgp) < 0)
			return git_fail("cannot read the ignore rules");
		if (ignored)
			return 0;
	}
	if ((err = blob_of(r, &it->oid, cabs, cgp, &st)) < 0)
		return err;
	it->mode = worktree_mode(r, &st, ie);
	/* Changed since the snapshot, and back to what the snapshot saw: clean still. */
	if (se || !ie || !git_oid_equal(&it->oid, &ie->id) || it->mode != ie->mode)
		note_dirty(r, cgp);
	*keep = true;
	return 0;
}

/* The tree OID folder gp would have after `git add -A gp`, computed without writing any
 * object. A folder with nothing dirty under it is HEAD's tree: no walk. *nonempty is false
 * when git would record nothing there. */
static int
build_tree(nf_gitrepo *r, const char *gp, const char *abs, git_oid *oid, bool *nonempty)
{
	git_tree *head = head_folder(r, gp);
	tree_item *items = NULL;
	size_t n = 0, cap = 0;
	nf_buf body = NF_BUF_INIT;
	DIR *d = NULL;
	struct dirent *de;
	int err = 0;

	if (head && !dirty_under(r, gp) && !except_under(r, gp) && !changed_at(r, gp)) {
		git_oid_cpy(oid, git_tree_id(head));
		*nonempty = git_tree_entrycount(head) > 0;
		return 0;
	}
	if (!(d = opendir(abs))) {
		err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", abs);
		goto done;
	}
	while ((errno = 0, de = readdir(d))) {
		tree_item it;
		bool keep;
		char *cgp, *cabs;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".git"))
			continue;
		cgp = *gp ? xasprintf("%s/%s", gp, de->d_name) : xstrdup(de->d_name);
		cabs = xasprintf("%s/%s", abs, de->d_name);
		memset(&it, 0, sizeof(it));
		err = tree_item_of(r, cgp, cabs, &it, &keep);
		free(cgp);
		free(cabs);
		if (err < 0)
			goto done;
		if (keep) {
			it.name = xstrdup(de->d_name);
			NF_PUSH(items, n, cap, it);
		}
	}
	if (errno) {
		err = nf_error_set_errno(NF_EIO, "cannot read the folder '%s'", abs);
		goto done;
	}
	if (n)
		qsort(items, n, sizeof(*items), tree_item_cmp);
	for (size_t i = 0; i < n; i++) {
		nf_buf_printf(&body, "%o %s", items[i].mode, items[i].name);
		nf_buf_add(&body, "", 1);
		nf_buf_add(&body, items[i].oid.id, GIT_OID_RAWSZ);
	}
	if (git_odb_hash(oid, body.buf ? body.buf : "", body.len, GIT_OBJECT_TREE) < 0) {
		err = git_fail("cannot hash a tree");
		goto done;
	}
	*nonempty = n > 0;
done:
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(items[i].name);
	free(items);
	nf_buf_release(&body);
	return err;
}

/* Whether path p (under the work tree) is never part of a folder input's content: in
 * .git or the state directory (content_skip), or left out (nf_gitrepo_identify_except). */
static bool
fold_skips(const nf_gitrepo *r, const char *p)
{
	/* The caches tools keep beside the code, which running it rewrites: keyed, each edit
	 * of src/ would rerun a stage reading it twice (once for the edit, once more for the
	 * bytecode the first run left). Never data. */
	static const char *const tool_caches[] = {
		"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".ipynb_checkpoints", ".DS_Store", NULL,
	};
	size_t plen = strlen(p);

	if (plen > 4 && !strcmp(p + plen - 4, ".pyc"))
		return true;
	for (const char *c = p; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
		for (size_t k = 0; content_skip[k]; k++) {
			size_t n = strlen(content_skip[k]);

			if (!strncmp(c, content_skip[k], n) && (c[n] == '/' || c[n] == '\0'))
				return true;
		}
		for (size_t k = 0; tool_caches[k]; k++) {
			size_t n = strlen(tool_caches[k]);

			if (!strncmp(c, tool_caches[k], n) && (c[n] == '/' || c[n] == '\0'))
				return true;
		}
	}
	for (size_t i = 0; i < r->nexcept; i++) {
		size_t n = strlen(r->except[i]);

		if (!strncmp(r->except[i], p, n) && (p[n] == '/' || p[n] == '\0'))
			return true;
	}
	return false;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Folds ignored path p (relative to the work tree; its name in the folder from name_at on)
 * into text: a line "NAME ID". A folder is hashed whole, unless something under it is left
 * out (the stage's own outputs, an upstream's) or it cannot be hashed whole: then entry by
 * entry (walk). What git ignores is no input the pipeline declared, so what cannot be read
 * (a socket, a FIFO, a file of another user) is named as such, not a failure: its reading
 * must not fail a stage that merely reads the folder around it. */
static void
fold_one(nf_gitrepo *r, const char *p, size_t name_at, nf_buf *text, size_t *n, bool walk)
{
	char *abs = xasprintf("%s/%s", r->workdir, p);
	struct stat lst, st;
	nf_path_id one;

	if (fold_skips(r, p) || lstat(abs, &lst) < 0)
		goto done;
	/* A link counts by its text, as git records a tracked one (ntflow-dag(5), PATHS): never
	 * by what it leads to, which may be outside the project (a link to /usr was hashed
	 * whole at each run, and a file elsewhere read into the key). What it leads to is an
	 * input of its own when the stage declares it. */
	if (S_ISLNK(lst.st_mode)) {
		char target[PATH_MAX], sha[65];
		ssize_t len = readlink(abs, target, sizeof(target));

		if (len < 0) {
			nf_buf_printf(text, "%s unreadable\n", p + name_at);
		} else {
			nf_sha256_buf(sha, target, (size_t)len);
			nf_buf_printf(text, "%s link:%s\n", p + name_at, sha);
		}
		(*n)++;
		goto done;
	}
	st = lst;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		nf_buf_printf(text, "%s special\n", p + name_at);
		(*n)++;
		goto done;
	}
	if (S_ISDIR(lst.st_mode) && (walk || except_under(r, p))) {
		DIR *d = opendir(abs);
		struct dirent *de;
		char **names = NULL;
		size_t nnames = 0, cap = 0;

		if (!d) {
			nf_buf_printf(text, "%s unreadable\n", p + name_at);
			(*n)++;
			goto done;
		}
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				NF_PUSH(names, nnames, cap, xasprintf("%s/%s", p, de->d_name));
		closedir(d);
		if (nnames > 1)
			qsort(names, nnames, sizeof(*names), by_name);
		for (size_t i = 0; i < nnames; i++) {
			fold_one(r, names[i], name_at, text, n, true);
			free(names[i]);
		}
		free(names);
		goto done;
	}
	if (S_ISREG(st.st_mode)) {
		char sha[65];
		int err;

		/* Its stat taken just now stands for content_id's own. */
		if ((err = file_sha(r, abs, &st, sha)) == NF_ENOTFOUND) {
			goto done;   /* gone since: as content_id, missing */
		} else if (err < 0) {
			nf_buf_printf(text, "%s unreadable\n", p + name_at);
		} else {
			set_id(&one, NF_ID_CONTENT, "sha256", sha);
			nf_buf_printf(text, "%s %s\n", p + name_at, one.id);
		}
		(*n)++;
		goto done;
	}
	if (content_id(r, abs, &one) < 0) {
		if (S_ISDIR(lst.st_mode)) {   /* something in it cannot be read: entry by entry */
			free(abs);
			fold_one(r, p, name_at, text, n, true);
			return;
		}
		nf_buf_printf(text, "%s unreadable\n", p + name_at);
		(*n)++;
	} else if (one.kind != NF_ID_MISSING) {
		nf_buf_printf(text, "%s %s\n", p + name_at, one.id);
		(*n)++;
	}
done:
	free(abs);
}

/* A folder input holds what git ignores in it too: data files are usually ignored (too big
 * to commit), and a stage reading data/ must rerun when data/train.csv changes. The files
 * and folders the snapshot lists as ignored under gp are hashed (through the stat cache)
 * and folded with the folder's git identity into a SHA-256 of the same kind (clean or
 * dirty); none: the identity as it is. */
static int
fold_ignored(nf_gitrepo *r, const char *gp, nf_path_id *out)
{
	size_t first, end, glen = strlen(gp), n = 0;
	nf_buf text = NF_BUF_INIT;
	char sha[65];

	range_under(r->ignored, r->nignored, gp, &first, &end);
	/* Relative to the folder: the key does not depend on where the project is. */
	for (size_t i = first; i < end; i++)
		fold_one(r, r->ignored[i].path, glen ? glen + 1 : 0, &text, &n, false);
	if (n) {
		/* Clean or dirty as git sees the folder (ignored files are never committed). */
		nf_buf_printf(&text, "%s\n", out->id);
		nf_sha256_buf(sha, text.buf, text.len);
		set_id(out, out->kind, "sha256", sha);
	}
	nf_buf_release(&text);
	return 0;
}

static int identify_dir_git(nf_gitrepo *r, const char *gp, const char *abs, nf_path_id *out);

static int
identify_dir(nf_gitrepo *r, const char *gp, const char *abs, nf_path_id *out)
{
	int err = identify_dir_git(r, gp, abs, out);

	if (err == 0 && (out->kind == NF_ID_CLEAN || out->kind == NF_ID_DIRTY))
		err = fold_ignored(r, gp, out);
	return err;
}

static int
identify_dir_git(nf_gitrepo *r, const char *gp, const char *abs, nf_path_id *out)
{
	git_tree *head = head_folder(r, gp);
	const git_index_entry *ie = *gp ? git_index_get_bypath(r->index, gp, 0) : NULL;
	git_oid oid;
	bool nonempty = false, changed;
	int err;

	/* What changed since the snapshot, looked at once for the folder and all under it
	 * (build_tree asks changed_at of each folder beneath). */
	changed_clear(r);
	changed = !r->at && mark_changed(r, gp, abs);
	if (head && !dirty_under(r, gp) && !except_under(r, gp) && !changed) {
		set_oid(out, NF_ID_CLEAN, "tree", git_tree_id(head));
		return 0;
	}
	if ((ie && ie->mode == GIT_FILEMODE_COMMIT) || (*gp && has_git_dir(abs)))
		return content_id(r, abs, out);       /* a submodule or nested repository */
	if ((err = build_tree(r, gp, abs, &oid, &nonempty)) < 0)
		return err;
	if (!nonempty && !head)
		return content_id(r, abs, out);       /* git sees nothing here: like ignored */
	if (head && git_oid_equal(&oid, git_tree_id(head))) {
		set_oid(out, NF_ID_CLEAN, "tree", &oid);
		return 0;
	}
	if (r->nexcept && head && !dirty_under_except(r, gp)) {
		/* It differs from HEAD's tree by what is left out alone. */
		set_oid(out, NF_ID_CLEAN, "tree", &oid);
		return 0;
	}
	note_dirty_under(r, gp);
	set_oid(out, NF_ID_DIRTY, "tree", &oid);
	return 0;
}

/* worktree_blob, remembered for the run: a tracked file changed or touched since the
 * snapshot, or modified, is hashed once, not once for each stage (or matrix instance) that
 * reads it, while its stat (st, as looked at now) stays. Only a regular file on a local file
 * system (where a path's stat is fresh), unchanged while it was read and settled before
 * (a write in the same tick of the file system's clock would not show in its stat). */
static int
blob_of(nf_gitrepo *r, git_oid *oid, const char *abs, const char *gp, const struct stat *st)
{
	blob_memo *m = r->blobs ? nf_strmap_get(r->blobs, abs) : NULL;
	struct stat after;
	int64_t began;
	int err;

	if (m && nf_statkey_is(&m->key, st)) {
		git_oid_cpy(oid, &m->oid);
		return 0;
	}
	began = nf_coarse_now_ns();
	if ((err = worktree_blob(r, oid, abs, gp, st)) < 0)
		return err;
	if (!S_ISREG(st->st_mode) || !dev_local(r, st->st_dev, abs) || lstat(abs, &after) < 0 ||
	    !nf_same_stat(st, &after) || !nf_stat_settled(&after, true, began, nf_coarse_now_ns()))
		return 0;
	if (!m)
		m = memo_add(&r->blobs, &r->blobs_arena, abs, sizeof(*m));
	nf_stat_key(&m->key, &after);
	git_oid_cpy(&m->oid, oid);
	return 0;
}

static int
identify_file(nf_gitrepo *r, const char *gp, const char *abs, const struct stat *st,
	      nf_path_id *out)
{
	const status_entry *se = find_exact(r->dirty, r->ndirty, gp);
	const git_tree_entry *he = se ? NULL : head_entry(r, gp);
	git_oid oid;
	int ignored = 0, err;

	if (he && git_tree_entry_type(he) == GIT_OBJECT_BLOB && !changed_since_snapshot(r, st) &&
	    (git_tree_entry_filemode(he) == GIT_FILEMODE_LINK) == (S_ISLNK(st->st_mode) != 0)) {
		set_oid(out, NF_ID_CLEAN, "blob", git_tree_entry_id(he));
		return 0;
	}
	if (!se && !git_index_get_bypath(r->index, gp, 0)) {
		/* Neither dirty nor tracked in the snapshot: ignored by a rule the snapshot did
		 * not list, or created since the snapshot. */
		if (git_ignore_path_is_ignored(&ignored, r->repo, gp) < 0)
			return git_fail("cannot read the ignore rules");
		if (ignored)
			return content_id(r, abs, out);
	}
	if ((err = blob_of(r, &oid, abs, gp, st)) < 0)
		return err;
	he = head_entry(r, gp);
	if (he && git_oid_equal(&oid, git_tree_entry_id(he)) &&
	    (git_tree_entry_filemode(he) == GIT_FILEMODE_LINK) == (S_ISLNK(st->st_mode) != 0)) {
		/* Staged and reverted, or only the mode changed: the content is HEAD's. */
		set_oid(out, NF_ID_CLEAN, "blob", &oid);
		return 0;
	}
	note_dirty(r, gp);
	set_oid(out, NF_ID_DIRTY, "blob", &oid);
	return 0;
}

/* Lexically normalised absolute path: no ".", "..", empty components or trailing '/'. */
static char *
normalize_abs(const char *root, const char *relpath)
{
	nf_buf in = NF_BUF_INIT, out = NF_BUF_INIT;
	const char *p;

	if (relpath[0] != '/') {
		nf_buf_puts(&in, root);
		nf_buf_putc(&in, '/');
	}
	nf_buf_puts(&in, relpath);
	for (p = in.buf; *p;) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			break;
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (out.len && out.buf[out.len - 1] != '/')
				out.len--;
			if (out.len)
				out.len--;
			if (out.buf)
				out.buf[out.len] = '\0';
		} else if (!(len == 1 && p[0] == '.')) {
			nf_buf_putc(&out, '/');
			nf_buf_add(&out, p, len);
		}
		p += len;
	}
	if (!out.len)
		nf_buf_putc(&out, '/');
	nf_buf_release(&in);
	return nf_buf_detach(&out);
}

/* The common case of identify, without a symbolic link on the way nor at the end: relpath
 * (relative, without "..") opened beneath the root following no link (one openat2 on the
 * root's descriptor, kept open), and its last component looked at: then it leads to itself
 * (*real, its normalized form) and *st is its lstat. False (nothing set) otherwise, and
 * nf_path_resolve, which reads each link on the way (and realpaths the root), decides. */
static bool
plain_path(nf_gitrepo *r, const char *relpath, char **real, struct stat *st)
{
	nf_path_why why;
	const char *name;
	char *norm;
	int dfd;
	bool ok;

	for (const char *p = relpath; (p = strstr(p, "..")); p += 2)
		if ((p == relpath || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return false;
	if (!r->rootfd_tried) {
		r->rootfd_tried = true;
		r->rootfd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (r->rootfd < 0 || !(norm = nf_path_lexical(relpath, &why)))
		return false;
	if (nf_path_parent_at(&dfd, &name, r->rootfd, norm, "input", 0) < 0) {
		nf_error_clear();
		free(norm);
		return false;
	}
	ok = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st->st_mode);
	close(dfd);
	if (!ok) {
		free(norm);
		return false;
	}
	*real = norm;
	return true;
}

/* ---- folders identified while the work tree stands still ---- */

/* The path as the caller named it (links on its way are part of the answer) and the paths
 * left out, each length-prefixed: no two requests share a key. */
static char *
memo_key(const nf_gitrepo *r, const char *relpath)
{
	nf_buf k = NF_BUF_INIT;

	nf_buf_printf(&k, "%zu:%s", strlen(relpath), relpath);
	for (size_t i = 0; i < r->nexcept; i++)
		nf_buf_printf(&k, "|%zu:%s", strlen(r->except[i]), r->except[i]);
	return nf_buf_detach(&k);
}

void
nf_gitrepo_memo(nf_gitrepo *r, bool on)
{
	if (!r)
		return;
	if (!on) {
		memo_free(&r->memo, &r->memo_arena);
	} else if (!r->memo) {
		r->memo = nf_strmap_new(16);
		r->memo_arena = nf_arena_new();
	}
}

int
nf_gitrepo_identify_except(nf_gitrepo *r, const char *relpath, const char *const *except, size_t n,
			   nf_path_id *out)
{
	int err;

	r->except = xcalloc(n + 1, sizeof(*r->except));
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(except[i]);

		while (len > 1 && except[i][len - 1] == '/')
			len--;
		r->except[i] = xasprintf("%s%.*s", r->prefix, (int)len, except[i]);
	}
	r->nexcept = n;
	err = nf_gitrepo_identify(r, relpath, out);
	for (size_t i = 0; i < n; i++)
		free(r->except[i]);
	free(r->except);
	r->except = NULL;
	r->nexcept = 0;
	return err;
}

int
nf_gitrepo_identify(nf_gitrepo *r, const char *relpath, nf_path_id *out)
{
	char *rel = NULL, *real = NULL, *abs = NULL, *mkey = NULL;
	const char *gp = NULL;
	bool linked = false, there, folder = false;
	size_t wlen;
	struct stat st;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (r->memo) {
		const nf_path_id *m;

		mkey = memo_key(r, relpath);
		if ((m = nf_strmap_get(r->memo, mkey))) {
			*out = *m;
			free(mkey);
			return 0;
		}
	}
	if (relpath[0] == '/') {
		/* An absolute path is taken when it names something in the project. */
		char *n = normalize_abs(r->root, relpath);
		size_t rl = strlen(r->root);

		if (!strcmp(n, r->root))
			rel = xstrdup(".");
		else if (!strncmp(n, r->root, rl) && n[rl] == '/')
			rel = xstrdup(n + rl + 1);
		free(n);
		if (!rel) {
			err = nf_error_set(NF_EINVALID, "input '%s' is outside the project '%s'", relpath, r->root);
			goto done;
		}
	}
	/* Where the input leads, links followed; inside the project or refused. */
	if (!rel && plain_path(r, relpath, &real, &st)) {
		there = true;
	} else {
		if ((err = nf_path_resolve(&real, &linked, r->root, rel ? rel : relpath, "input")) < 0)
			goto done;
		there = false;
	}
	abs = *real ? xasprintf("%s/%s", r->root, real) : xstrdup(r->root);
	if (r->repo) {
		wlen = strlen(r->workdir);
		if (!strcmp(abs, r->workdir))
			gp = "";
		else if (!strncmp(abs, r->workdir, wlen) && abs[wlen] == '/')
			gp = abs + wlen + 1;
		if (gp && (!strcmp(gp, ".git") || !strncmp(gp, ".git/", 5)))
			gp = NULL;
	}
	if (!there && (there = lstat(abs, &st) == 0) == false && errno != ENOENT && errno != ENOTDIR) {
		err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", abs);
		goto done;
	}
	if (!there || S_ISLNK(st.st_mode)) {
		/* Nothing there, or a link leading nowhere (yet): nothing to read. */
		if (gp && find_exact(r->dirty, r->ndirty, gp))
			note_dirty(r, gp);   /* a tracked input deleted from the work tree */
		out->kind = NF_ID_MISSING;
		snprintf(out->id, sizeof(out->id), "missing");
		goto done;
	}
	folder = S_ISDIR(st.st_mode);
	if (!gp || snapshot_ignored(r, gp))
		err = content_id(r, abs, out);
	else if (folder)
		err = identify_dir(r, gp, abs, out);
	else
		err = identify_file(r, gp, abs, &st, out);
	/* A file's id has no mode (a blob, a SHA-256 of the content): "+x" when it is
	 * executable, since a script made executable, or not, runs differently. Folders record
	 * the bit in their trees and manifests already. */
	if (err == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) && strlen(out->id) + 3 <= sizeof(out->id))
		strcat(out->id, "+x");
	if (err == 0 && linked && r->repo) {
		/* The link itself retargeted and not committed: the run is dirty too. */
		char *lexical = normalize_abs(r->root, rel ? rel : relpath);
		size_t wl = strlen(r->workdir);

		if (!strncmp(lexical, r->workdir, wl) && lexical[wl] == '/' &&
		    find_exact(r->dirty, r->ndirty, lexical + wl + 1)) {
			note_dirty(r, lexical + wl + 1);
			if (out->kind == NF_ID_CLEAN)
				out->kind = NF_ID_DIRTY;
		}
		free(lexical);
	}
	/* A folder's identity reads every entry of it that git does not vouch for (ignored data,
	 * a folder outside git): the matrix instances of one stage read the same folder again
	 * and again. A file costs a stat. */
	if (err == 0 && folder && mkey)
		nf_strmap_put(r->memo, nf_arena_strdup(r->memo_arena, mkey),
			      nf_arena_memdup(r->memo_arena, out, sizeof(*out)));
done:
	free(mkey);
	free(rel);
	free(real);
	free(abs);
	return err;
}

/* ---- open, refresh, getters ---- */

/* Whether a .git (a folder, or the file of a linked worktree or submodule) is at dir or in
 * a folder above it: where libgit2's search from dir can find a work tree. Without one,
 * libgit2 is not started at all (its start loads the system's CA certificates, 3% of a
 * cached rerun). dir is absolute and real. */
static bool
git_marker_above(const char *dir)
{
	char *p = xmalloc(strlen(dir) + sizeof("/.git"));
	size_t len = strlen(dir);
	struct stat sb;
	bool found = false;

	memcpy(p, dir, len + 1);
	for (;;) {
		while (len > 0 && p[len - 1] == '/')
			len--;
		memcpy(p + len, "/.git", sizeof("/.git"));
		if (lstat(p, &sb) == 0) {
			found = true;
			break;
		}
		while (len > 0 && p[len - 1] != '/')
			len--;
		if (len == 0)
			break;
	}
	free(p);
	return found;
}

int
nf_gitrepo_open(nf_gitrepo **out, const char *root, nf_statcache *statcache_db)
{
	nf_gitrepo *r = xcalloc(1, sizeof(*r));
	git_config *cfg = NULL;
	char *real = NULL;
	const char *wd;
	size_t wlen;
	int rc, err = 0, filemode = 1;

	*out = NULL;
	r->db = statcache_db;
	r->prefix = xstrdup("");
	r->seen = xcalloc(1, sizeof(*r->seen));
	r->seen_cap = 1;
	if (!(r->root = realpath(root, NULL))) {
		err = nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO, "cannot open '%s'", root);
		goto done;
	}
	/* No .git at or above the root: no work tree to open (a bare repository or a git
	 * folder itself is none either, as below). */
	if (!git_marker_above(r->root))
		goto done;
	if ((rc = git_libgit2_init()) < 0) {
		err = git_fail("cannot initialise libgit2");
		goto done;
	}
	r->git_inited = true;
	rc = git_repository_open_ext(&r->repo, r->root, 0, NULL);
	if (rc == GIT_ENOTFOUND)
		goto done;            /* no repository: everything is content-hashed */
	if (rc < 0) {
		char *what = xasprintf("cannot open the git repository of '%s'", root);

		err = git_fail(what);
		free(what);
		goto done;
	}
	if (git_repository_is_bare(r->repo) || !(wd = git_repository_workdir(r->repo)) ||
	    !(real = realpath(wd, NULL))) {
		git_repository_free(r->repo);
		r->repo = NULL;
		goto done;
	}
	wlen = strlen(real);
	while (wlen > 1 && real[wlen - 1] == '/')
		real[--wlen] = '\0';
	r->workdir = real;
	real = NULL;
	if (strcmp(r->root, r->workdir)) {
		if (strncmp(r->root, r->workdir, wlen) || r->root[wlen] != '/') {
			/* root lies inside .git or the like: not in the work tree */
			git_repository_free(r->repo);
			r->repo = NULL;
			goto done;
		}
		free(r->prefix);
		r->prefix = xasprintf("%s/", r->root + wlen + 1);
	}
	/* ntflow's state is never part of what git (or a folder identity) sees. */
	if (git_ignore_add_rule(r->repo, ".ntflow/\n") < 0 ||
	    git_repository_index(&r->index, r->repo) < 0) {
		err = git_fail("cannot read the git index");
		goto done;
	}
	if (git_repository_config_snapshot(&cfg, r->repo) == 0 &&
	    git_config_get_bool(&filemode, cfg, "core.filemode") < 0)
		filemode = 1;
	r->filemode = filemode != 0;
	err = snapshot_take(r);
done:
	git_config_free(cfg);
	free(real);
	if (err < 0) {
		nf_gitrepo_free(r);
		return err;
	}
	*out = r;
	return 0;
}

void
nf_gitrepo_free(nf_gitrepo *r)
{
	if (!r)
		return;
	snapshot_release(r);
	memo_free(&r->memo, &r->memo_arena);
	memo_free(&r->files, &r->files_arena);
	memo_free(&r->blobs, &r->blobs_arena);
	changed_clear(r);
	for (size_t i = 0; i < r->nseen; i++)
		free(r->seen[i]);
	free(r->seen);
	if (r->rootfd_tried && r->rootfd >= 0)
		close(r->rootfd);
	git_index_free(r->index);
	git_repository_free(r->repo);
	if (r->git_inited)
		git_libgit2_shutdown();
	free(r->workdir);
	free(r->prefix);
	free(r->root);
	free(r);
}

int
nf_gitrepo_refresh(nf_gitrepo *r)
{
	if (r->memo) {   /* still on, but nothing kept from before the new snapshot */
		nf_gitrepo_memo(r, false);
		nf_gitrepo_memo(r, true);
	}
	memo_free(&r->blobs, &r->blobs_arena);   /* a blob may hash otherwise (.gitattributes) */
	/* A checkout of a commit is that commit's tree: the repository's status (its HEAD,
	 * index and work tree) says nothing of it. */
	return r->repo && !r->at ? snapshot_take(r) : 0;
}

bool
nf_gitrepo_present(const nf_gitrepo *r)
{
	return r && r->repo;
}

const char *
nf_gitrepo_head(const nf_gitrepo *r)
{
	return r && r->has_head ? r->head : NULL;
}

const char *
nf_gitrepo_branch(const nf_gitrepo *r)
{
	return r && r->repo ? r->branch : NULL;
}

const char *const *
nf_gitrepo_dirty_paths(const nf_gitrepo *r)
{
	return (const char *const *)r->seen;
}

/* ---- a past commit checked out elsewhere (ntflow run --at) ---- */

int
nf_git_checkout_to(char oid_hex[41], const char *repo_root, const char *rev, const char *dir)
{
	git_repository *repo = NULL;
	git_object *obj = NULL, *commit = NULL;
	git_checkout_options opts;
	int err = 0;

	if (git_libgit2_init() < 0)
		return git_fail("cannot initialise libgit2");
	if (git_repository_open_ext(&repo, repo_root, 0, NULL) < 0) {
		err = nf_error_set(NF_ENOTFOUND, "--at needs a git repository, and '%s' is in none", repo_root);
		goto done;
	}
	if (git_revparse_single(&obj, repo, rev) < 0 || git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		err = nf_error_set(NF_EINVALID, "unknown commit '%s'", rev);
		goto done;
	}
	if ((err = nf_mkdir_p(dir, 0777)) < 0)
		goto done;
	git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
	/* Write the files elsewhere and leave the repository's own index and HEAD alone. */
	opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
	opts.target_directory = dir;
	if (git_checkout_tree(repo, commit, &opts) < 0) {
		err = git_fail("cannot check the commit out");
		goto done;
	}
	git_oid_tostr(oid_hex, 41, git_object_id(commit));
done:
	git_object_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return err;
}

int
nf_gitrepo_open_at(nf_gitrepo **out, const char *repo_root, const char *checkout, const char *oid_hex,
		   nf_statcache *statcache_db)
{
	nf_gitrepo *r = xcalloc(1, sizeof(*r));
	git_object *commit = NULL;
	git_oid oid;
	int err = 0;

	*out = NULL;
	r->db = statcache_db;
	r->prefix = xstrdup("");
	r->seen = xcalloc(1, sizeof(*r->seen));
	r->seen_cap = 1;
	r->filemode = true;
	r->trees = nf_strmap_new(64);
	if (!(r->root = realpath(checkout, NULL)) || !(r->workdir = realpath(checkout, NULL))) {
		err = nf_error_set_errno(NF_EIO, "cannot open '%s'", checkout);
		goto done;
	}
	if (git_libgit2_init() < 0) {
		err = git_fail("cannot initialise libgit2");
		goto done;
	}
	r->git_inited = true;
	if (git_repository_open_ext(&r->repo, repo_root, 0, NULL) < 0 ||
	    git_repository_index(&r->index, r->repo) < 0) {
		err = git_fail("cannot open the git repository");
		goto done;
	}
	/* The checkout is exactly the commit's tree: nothing in it is dirty, and every path's
	 * identity is its entry in that tree, the same as in a run at that commit. */
	if (git_oid_fromstr(&oid, oid_hex) < 0 ||
	    git_object_lookup(&commit, r->repo, &oid, GIT_OBJECT_COMMIT) < 0 ||
	    git_commit_tree(&r->head_tree, (git_commit *)commit) < 0) {
		err = git_fail("cannot read the commit");
		goto done;
	}
	snprintf(r->head, sizeof(r->head), "%s", oid_hex);
	r->has_head = true;
	r->at = true;
done:
	git_object_free(commit);
	if (err < 0) {
		nf_gitrepo_free(r);
		return err;
	}
	*out = r;
	return 0;
}
