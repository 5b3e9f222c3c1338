/* gc.c: garbage collection of the object store. `ntflow cache gc` first drops cache entries,
 * then marks every object the remaining ones reach (a folder digest reaches its manifest and
 * what the manifest lists) and sweeps the rest, so objects shared by several entries stay. */
#include "config.h"
#include "ntflow/cache.h"
#include "cache-internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct nf_objstore_marks {
	nf_strmap *set;      /* sha256 -> itself, the key living in keys */
	nf_arena *keys;
};

nf_objstore_marks *
nf_objstore_marks_new(void)
{
	nf_objstore_marks *m = xcalloc(1, sizeof(*m));

	m->set = nf_strmap_new(256);
	m->keys = nf_arena_new();
	return m;
}

void
nf_objstore_marks_free(nf_objstore_marks *m)
{
	if (!m)
		return;
	nf_strmap_free(m->set);
	nf_arena_free(m->keys);
	free(m);
}

size_t
nf_objstore_marks_count(const nf_objstore_marks *m)
{
	return nf_strmap_count(m->set);
}

static void
mark_sha(nf_objstore_marks *m, const char *sha)
{
	char *key;

	if (nf_strmap_get(m->set, sha))
		return;
	key = nf_arena_strdup(m->keys, sha);
	nf_strmap_put(m->set, key, key);
}

int
nf_objstore_mark(nf_objstore *s, nf_objstore_marks *m, const char *digest)
{
	nf_manifest man = { NULL, 0, 0 };
	const char *sha;
	bool is_dir;
	int err;

	if (strncmp(digest, "file:", 5) == 0) {
		sha = digest + 5;
		is_dir = false;
	} else if (strncmp(digest, "dir:", 4) == 0) {
		sha = digest + 4;
		is_dir = true;
	} else {
		return nf_error_set(NF_EINVALID, "invalid digest '%s'", digest);
	}
	if (!nf_is_sha256_hex(sha))
		return nf_error_set(NF_EINVALID, "invalid digest '%s'", digest);
	mark_sha(m, sha);
	if (!is_dir)
		return 0;
	if ((err = nf_objstore__manifest(s, sha, &man)) < 0)
		return err;
	for (size_t i = 0; i < man.n; i++)
		if (man.entries[i].mode != NF_MODE_DIR)
			mark_sha(m, man.entries[i].sha256);
	nf_manifest_release(&man);
	return 0;
}

static bool
is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return p[n] == '\0';
}

/* Sweeps one fan-out folder ("ab"), then removes it when it is left empty. */
static int
sweep_fanout(const char *objects, const char *fan, const nf_objstore_marks *m, int64_t keep_from_ms,
	     uint64_t *objects_removed, uint64_t *bytes)
{
	char *dir = xasprintf("%s/%s", objects, fan);
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;

	if (!d) {
		err = errno == ENOENT ? 0 : nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", dir);
		free(dir);
		return err;
	}
	while (!err && (de = readdir(d))) {
		char sha[65], *path;
		struct stat st;
		int64_t mtime_ms;

		if (strlen(de->d_name) != 62 || !is_hex(de->d_name, 62))
			continue;   /* not an object: `cache verify` reports it */
		snprintf(sha, sizeof(sha), "%.2s%.62s", fan, de->d_name);
		if (nf_strmap_get(m->set, sha))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
			if (mtime_ms < keep_from_ms) {
				if (unlink(path) == 0) {
					(*objects_removed)++;
					*bytes += (uint64_t)st.st_size;
				} else if (errno != ENOENT) {
					err = nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
				}
			}
		}
		free(path);
	}
	closedir(d);
	if (!err)
		rmdir(dir);   /* fails, harmlessly, while it holds anything */
	free(dir);
	return err;
}

/* Removes what puts killed midway left in objects/tmp, last modified before keep_from_ms as
 * objects are (a put in progress writes its file now); what it frees counts in *bytes. `cache
 * verify` removes them only after an hour, and nothing else did: a weekly run killed while
 * storing a model kept a partial copy of it for good. */
static void
sweep_tmp(const char *objects, int64_t keep_from_ms, uint64_t *bytes)
{
	char *dir = xasprintf("%s/tmp", objects);
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *path = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;

		if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) &&
		    (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 < keep_from_ms && unlink(path) == 0)
			*bytes += (uint64_t)st.st_size;
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
}

int
nf_objstore_sweep(nf_objstore *s, const nf_objstore_marks *m, int64_t keep_from_ms,
		  uint64_t *objects_removed, uint64_t *bytes)
{
	const char *objects = nf_objstore__objects(s);
	DIR *d;
	struct dirent *de;
	int err = 0;

	*objects_removed = 0;
	*bytes = 0;
	if (!(d = opendir(objects))) {
		if (errno == ENOENT)
			return 0;   /* nothing stored yet */
		return nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", objects);
	}
	while (!err && (de = readdir(d)))
		if (strlen(de->d_name) == 2 && is_hex(de->d_name, 2))
			err = sweep_fanout(objects, de->d_name, m, keep_from_ms, objects_removed, bytes);
	closedir(d);
	if (!err)
		sweep_tmp(objects, keep_from_ms, bytes);
	return err;
}
