/* aside.c: declared outputs moved out of the way for one attempt (aside.h). An attempt that
 * moves something first writes its manifest, STEM.json, so at every moment the disk says
 * what to undo: no readable manifest, nothing moved; a manifest, each moved path is where
 * it names (or, when that place is empty, was never moved or is already back);
 * STEM.dropped, the attempt succeeded and what was moved is only waste. The moved paths
 * are STEM.0, STEM.1, ... beside the manifest, in one folder per run, so an attempt costs
 * no folder of its own. Every move is a rename(2) within one file system, so moving a
 * folder of any size costs the same. */
#include "config.h"
#include "aside.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/util.h"

/* Manifests are a few paths; a bigger file is not one of ours. */
#define MANIFEST_MAX (16u << 20)

/* Writes data to path without a temporary: a manifest cut short by a crash does not parse,
 * and that means nothing was moved, which is true (moves start after it is complete). */
static int
write_plain(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd, err = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
		return nf_error_set_errno(NF_EIO, "cannot create '%s'", path);
	err = nf_write_all(fd, data, len, path);
	if (close(fd) < 0 && !err)
		err = nf_error_set_errno(NF_EIO, "cannot write '%s'", path);
	return err;
}

/* Reads a manifest (STEM.json or STEM.dropped). 0 with *out set; NF_ENOTFOUND when there
 * is none; NF_ECORRUPT when it does not parse (a write cut short). */
static int
read_manifest(cJSON **out, const char *path)
{
	char *text = NULL;
	size_t len;
	int err;

	*out = NULL;
	err = nf_read_file(&text, &len, path, MANIFEST_MAX);
	if (err == 0) {
		cJSON *m = cJSON_Parse(text);

		if (!cJSON_IsObject(m) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "root")) ||
		    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "outputs"))) {
			cJSON_Delete(m);
			err = nf_error_set(NF_ECORRUPT, "'%s' is not a manifest", path);
		} else {
			*out = m;
		}
	}
	free(text);
	return err;
}

/* A free name beside name (in the folder dirfd) for it to go aside on its own file system. */
static char *
beside(int dirfd, const char *name)
{
	char *base = xasprintf(".%s.ntflow-aside", name);
	char *p = xstrdup(base);
	struct stat sb;

	for (int k = 1; fstatat(dirfd, p, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT; k++) {
		free(p);
		p = xasprintf("%s.%d", base, k);
	}
	free(base);
	return p;
}

/* Removes what is at abs; nothing there (or a file where a folder on the way should be)
 * is fine. */
static int
remove_path(const char *abs)
{
	struct stat sb;

	if (lstat(abs, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	return nf_remove_tree(abs);
}

/* The folder holding stem, created when missing (with its parents the first time). */
static int
make_stem_folder(const char *stem, struct stat *sb)
{
	char *dir = xstrdup(stem), *slash = strrchr(dir, '/');
	int err = 0;

	if (slash && slash != dir)
		*slash = '\0';
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		err = nf_mkdir_p(dir, 0777);
	if (err == 0 && stat(dir, sb) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot open '%s'", dir);
	free(dir);
	return err;
}

int
nf_aside_begin(nf_aside_moves *out, const char *stem, const char *root, const char *const *paths,
	       size_t n, const char *keep)
{
	return nf_aside_begin_at(out, stem, -1, root, paths, n, keep);
}

int
nf_aside_begin_at(nf_aside_moves *out, const char *stem, int rootfd, const char *root,
		  const char *const *paths, size_t n, const char *keep)
{
	cJSON *m = NULL, *outs;
	char **abs = xcalloc(n + 1, sizeof(*abs)), **to = xcalloc(n + 1, sizeof(*to));
	char **norm = xcalloc(n + 1, sizeof(*norm)), **beside_name = xcalloc(n + 1, sizeof(*beside_name));
	const char **name = xcalloc(n + 1, sizeof(*name));
	int *dirfd = xcalloc(n + 1, sizeof(*dirfd));
	char *text = NULL, *mpath = NULL, *msg = NULL;
	struct stat *st = xcalloc(n + 1, sizeof(*st));
	bool *there = xcalloc(n + 1, sizeof(*there));
	nf_aside_moves moves = { 0, 0 };
	struct stat dsb;
	int err = 0;

	if (out)
		*out = moves;
	for (size_t i = 0; i < n; i++)
		dirfd[i] = -1;
	for (size_t i = 0; i < n; i++) {
		const char *place, *who;
		bool in_state;

		/* Found without following a link: never one on the way, nor the output itself. */
		err = nf_path_open_at(&dirfd[i], &name[i], &norm[i], rootfd, root, paths[i], "output", 0);
		if (norm[i])
			abs[i] = xasprintf("%s/%s", root, norm[i]);
		if (abs[i] && keep && nf_path_holds(abs[i], keep)) {
			err = nf_error_set(NF_EINVALID, "output '%s' holds the state directory '%s'", paths[i], keep);
			goto done;
		}
		/* Nor inside it, or the repository's own folder: moved aside, replaced and deleted,
		 * the database or the repository would go with it (a value of -p is enough). */
		/* (A --at checkout lies in the state directory: its own files are the run's.) */
		in_state = abs[i] && keep && nf_path_holds(keep, abs[i]) && !nf_path_holds(keep, root);
		who = "ntflow";
		place = in_state ? keep : norm[i] ? nf_path_private(norm[i], &who) : NULL;
		if (place) {
			err = nf_error_set(NF_EINVALID, "output '%s' is inside %s, which only %s writes", paths[i], place,
					   who);
			goto done;
		}
		if (err == 0)
			err = nf_path_stat_at(dirfd[i], name[i], "output", paths[i], &st[i]);
		if (err == NF_ENOTFOUND) {
			err = 0;   /* not there (or a file where a folder on the way should be) */
			nf_error_clear();
			continue;
		}
		if (err < 0)
			goto done;
		there[i] = true;
		moves.moved++;
	}
	if (moves.moved == 0)
		goto done;   /* nothing to move: nothing written either */
	if ((err = make_stem_folder(stem, &dsb)) < 0)
		goto done;

	/* Where each existing path goes: next to the manifest, or beside itself on another
	 * file system. */
	moves.moved = 0;
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "root", root);
	outs = cJSON_AddArrayToObject(m, "outputs");
	for (size_t i = 0; i < n; i++) {
		cJSON *o;

		if (!there[i])
			continue;
		if (st[i].st_dev != dsb.st_dev) {
			const char *slash = strrchr(abs[i], '/');

			beside_name[i] = beside(dirfd[i], name[i]);
			to[i] = xasprintf("%.*s/%s", (int)(slash - abs[i]), abs[i], beside_name[i]);
			moves.beside++;
		} else {
			to[i] = xasprintf("%s.%zu", stem, moves.moved);
		}
		moves.moved++;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", paths[i]);
		cJSON_AddStringToObject(o, "aside", to[i]);
		cJSON_AddItemToArray(outs, o);
	}
	text = cJSON_PrintUnformatted(m);
	mpath = xasprintf("%s.json", stem);
	if ((err = write_plain(mpath, text)) < 0) {
		(void)unlink(mpath);
		goto done;
	}

	for (size_t i = 0; i < n; i++) {
		bool gone = false;

		/* Inside an output moved before it: it went with that one (the folder dirfd[i]
		 * went too, so renaming from it would take the path out of what was moved). */
		for (size_t j = 0; j < i && !gone; j++)
			gone = to[j] && nf_path_holds(norm[j], norm[i]);
		if (!to[i] || gone)
			continue;
		if (beside_name[i] ? renameat(dirfd[i], name[i], dirfd[i], beside_name[i]) == 0
				   : renameat(dirfd[i], name[i], AT_FDCWD, to[i]) == 0)
			continue;
		if (errno == ENOENT)
			continue;   /* gone since it was looked at */
		err = nf_error_set_errno(NF_EIO, "cannot move output '%s' aside to '%s'", paths[i], to[i]);
		msg = xstrdup(nf_error_last());
		if (nf_aside_restore(stem) == 0)
			nf_error_set(err, "%s", msg);
		else   /* the manifest stays for the next run's recovery: say both */
			nf_error_set(err, "%s; putting back what had moved failed too: %s", msg, nf_error_last());
		goto done;
	}
	if (out)
		*out = moves;
done:
	free(msg);
	for (size_t i = 0; i < n; i++) {
		free(abs[i]);
		free(to[i]);
		free(norm[i]);
		free(beside_name[i]);
		if (dirfd[i] >= 0)
			close(dirfd[i]);
	}
	free(abs);
	free(to);
	free(norm);
	free(beside_name);
	free(name);
	free(dirfd);
	free(st);
	free(there);
	if (text)
		cJSON_free(text);
	free(mpath);
	cJSON_Delete(m);
	return err;
}

/* Deletes every moved path a manifest lists (the attempt succeeded: they are waste). */
static void
delete_moved(const cJSON *m)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "outputs")) {
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "aside"));

		if (to)
			(void)remove_path(to);
	}
}

/* Finishes the drop a STEM.dropped stands for. */
static int
finish_drop(const char *dropped)
{
	cJSON *m = NULL;

	if (read_manifest(&m, dropped) == 0)
		delete_moved(m);
	cJSON_Delete(m);
	if (unlink(dropped) < 0 && errno != ENOENT)
		return nf_error_set_errno(NF_EIO, "cannot remove '%s'", dropped);
	return 0;
}

int
nf_aside_restore(const char *stem)
{
	char *mpath = xasprintf("%s.json", stem), *dpath = xasprintf("%s.dropped", stem);
	cJSON *m = NULL;
	const cJSON *outs;
	const char *root;
	struct stat sb;
	int err, first = 0;

	if ((err = read_manifest(&m, mpath)) == NF_ENOTFOUND) {
		err = finish_drop(dpath);   /* it had succeeded, or moved nothing */
		goto done;
	}
	if (err == NF_ECORRUPT) {
		err = remove_path(mpath);   /* cut short before anything moved */
		goto done;
	}
	if (err < 0)
		goto done;
	root = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "root"));
	outs = cJSON_GetObjectItemCaseSensitive(m, "outputs");
	if (stat(root, &sb) < 0) {
		/* The tree it ran in is gone (a --at checkout): nothing to put back. */
		delete_moved(m);
		err = remove_path(mpath);
		goto done;
	}
	/* Last first: a path inside an earlier one goes back after its container. Each goes
	 * back through folders found without following a link: an attempt that left one on the
	 * way gets an error, never a write through it. */
	for (int i = cJSON_GetArraySize(outs) - 1; i >= 0; i--) {
		const cJSON *o = cJSON_GetArrayItem(outs, i);
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "path"));
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "aside"));
		char *norm = NULL, *abs;
		const char *name;
		int dirfd = -1;

		if (!path || !to || nf_path_normalize(&norm, path, "output") < 0)
			continue;
		abs = xasprintf("%s/%s", root, norm);
		free(norm);
		norm = NULL;
		if (lstat(to, &sb) < 0)
			err = 0;   /* never moved (cut short before it), or already back */
		else if ((err = nf_path_open(&dirfd, &name, &norm, root, path, "output", NF_PATH_MKDIR)) == 0 &&
			 (err = nf_path_remove_at(dirfd, name, abs)) == 0 && renameat(AT_FDCWD, to, dirfd, name) < 0)
			err = nf_error_set_errno(NF_EIO, "cannot put output '%s' back from '%s'", path, to);
		if (err < 0 && !first)
			first = err;
		if (dirfd >= 0)
			close(dirfd);
		free(norm);
		free(abs);
	}
	/* On a failure the manifest stays, for another try; the first message is the one set
	 * by then only if nothing after it failed, so say it again. */
	err = first < 0 ? first : remove_path(mpath);
done:
	cJSON_Delete(m);
	free(mpath);
	free(dpath);
	return err;
}

int
nf_aside_drop(const char *stem, const nf_aside_moves *moves)
{
	char *mpath, *dpath;
	int err = 0;

	if (moves && moves->moved == 0)
		return 0;
	mpath = xasprintf("%s.json", stem);
	dpath = xasprintf("%s.dropped", stem);
	if (moves && moves->beside == 0) {
		/* Without its manifest what was moved means nothing, which is right now that the
		 * attempt's outputs are the ones to keep: it is waste, deleted next. */
		if (unlink(mpath) < 0 && errno != ENOENT) {
			err = nf_error_set_errno(NF_EIO, "cannot mark '%s' done", mpath);
			goto done;
		}
		for (size_t i = 0; i < moves->moved; i++) {
			char *to = xasprintf("%s.%zu", stem, i);

			if ((err = remove_path(to)) < 0) {
				free(to);
				goto done;
			}
			free(to);
		}
		goto done;
	}
	/* Something lies beside its output: the list is kept to find it again after a crash. */
	if (rename(mpath, dpath) < 0 && errno != ENOENT) {
		err = nf_error_set_errno(NF_EIO, "cannot mark '%s' done", mpath);
		goto done;
	}
	err = finish_drop(dpath);
done:
	free(mpath);
	free(dpath);
	return err;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted (so reports come in a stable order); NULL when it cannot be read. */
static char **
list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		names = xgrow(names, sizeof(*names), *n + 2, &cap);
		names[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(names, *n, sizeof(*names), cmp_names);
	return names;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool
ends_with(const char *s, const char *suffix, size_t *stem_len)
{
	size_t n = strlen(s), k = strlen(suffix);

	*stem_len = n >= k ? n - k : 0;
	return n > k && strcmp(s + n - k, suffix) == 0;
}

int
nf_aside_recover(const char *trash, bool (*live)(void *ctx, int64_t run),
		 void (*report)(void *ctx, const char *line), void *ctx)
{
	size_t nruns = 0;
	char **runs = list_dir(trash, &nruns);
	int first = 0;

	for (size_t r = 0; r < nruns; r++) {
		char *end, *rdir;
		long long run = strtoll(runs[r], &end, 10);
		size_t nfiles = 0, len;
		char **files;
		int failed = 0;

		if (*end || end == runs[r] || run <= 0 || (live && live(ctx, run)))
			continue;
		rdir = xasprintf("%s/%s", trash, runs[r]);
		files = list_dir(rdir, &nfiles);
		/* The manifests first (what to put back, what to finish dropping), then whatever
		 * is left: moved files of attempts that had succeeded. */
		for (size_t f = 0; f < nfiles; f++) {
			bool put_back = ends_with(files[f], ".json", &len);
			char *stem, *line = NULL;
			const char *dot;
			int err;

			if (!put_back && !ends_with(files[f], ".dropped", &len))
				continue;
			stem = xasprintf("%s/%.*s", rdir, (int)len, files[f]);
			err = nf_aside_restore(stem);
			/* "train@x1.2": the node, then the attempt after the last dot. */
			for (dot = files[f] + len; dot > files[f] && dot[-1] != '.'; dot--)
				;
			dot = dot > files[f] ? dot - 1 : NULL;
			if (err < 0) {
				line = xasprintf("run %lld had crashed: %s", run, nf_error_last());
				failed = err;
				if (!first)
					first = err;
			} else if (put_back) {
				line = dot ? xasprintf("run %lld had crashed: the outputs of %.*s (attempt %.*s) are "
						       "back as they were before it", run, (int)(dot - files[f]), files[f],
						       (int)(len - (size_t)(dot - files[f]) - 1), dot + 1)
					   : xasprintf("run %lld had crashed: the outputs of %.*s are back as they "
						       "were before it", run, (int)len, files[f]);
			}
			if (line && report)
				report(ctx, line);
			free(line);
			free(stem);
		}
		if (!failed) {   /* else what is left is still needed */
			free_names(files, nfiles);
			files = list_dir(rdir, &nfiles);
			for (size_t f = 0; f < nfiles; f++) {
				char *p = xasprintf("%s/%s", rdir, files[f]);

				(void)remove_path(p);
				free(p);
			}
			(void)rmdir(rdir);
		}
		free_names(files, nfiles);
		free(rdir);
	}
	free_names(runs, nruns);
	(void)rmdir(trash);
	return first;
}
