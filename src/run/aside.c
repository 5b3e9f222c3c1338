/* aside.c: declared outputs moved out of the way for one attempt (aside.h). The attempt's
 * folder gets a manifest before anything moves, so at every moment the disk says what to
 * undo: no readable manifest, nothing moved; a manifest, each path that went aside is in
 * the place it names (or, when that place is empty, was never moved or is already back);
 * "dropped", the attempt succeeded and what was moved is only waste. Everything is a
 * rename(2) within one file system, so moving a folder of any size costs the same. */
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

int
nf_aside_normalize(char **out, const char *path)
{
	nf_buf b = NF_BUF_INIT;
	size_t *starts = NULL, n = 0, cap = 0;
	const char *p = path;
	int err = 0;

	*out = NULL;
	if (path[0] == '/')
		return nf_error_set(NF_EINVALID, "output '%s' is an absolute path; outputs are relative to the project root", path);
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0) {
				err = nf_error_set(NF_EINVALID, "output '%s' is outside the workspace", path);
				goto done;
			}
			b.len = starts[--n];
			if (b.len)
				b.len--;   /* the '/' before it */
			b.buf[b.len] = '\0';
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (b.len)
				nf_buf_putc(&b, '/');
			NF_PUSH(starts, n, cap, b.len);
			nf_buf_add(&b, p, len);
		}
		p += len;
		if (*p == '/')
			p++;
	}
	if (b.len == 0)
		err = nf_error_set(NF_EINVALID, "output '%s' is the whole workspace", path);
	else
		*out = nf_buf_detach(&b);
done:
	free(starts);
	nf_buf_release(&b);
	return err;
}

bool
nf_aside_holds(const char *outer, const char *inner)
{
	size_t n = strlen(outer);

	return strncmp(outer, inner, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

static char *
join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* Writes data to path without a temporary: a manifest cut short by a crash does not parse,
 * and that means nothing was moved, which is true (moves start after it is complete). */
static int
write_plain(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd, err = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
		return nf_error_set_errno(NF_EIO, "cannot create '%s'", path);
	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = nf_error_set_errno(NF_EIO, "cannot write '%s'", path);
			break;
		}
		data += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && !err)
		err = nf_error_set_errno(NF_EIO, "cannot write '%s'", path);
	return err;
}

/* Reads dir's manifest (name: NF_ASIDE_MANIFEST or NF_ASIDE_DROPPED). 0 with *out set;
 * NF_ENOTFOUND when there is none; NF_ECORRUPT when it does not parse (a write cut short). */
static int
read_manifest(cJSON **out, const char *dir, const char *name)
{
	char *path = join(dir, name), *text = NULL;
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
	free(path);
	return err;
}

/* A free name beside abs for it to go aside on its own file system. */
static char *
beside(const char *abs)
{
	const char *slash = strrchr(abs, '/');
	char *base = xasprintf("%.*s/.%s.ntflow-aside", (int)(slash - abs), abs, slash + 1);
	char *p = xstrdup(base);
	struct stat sb;

	for (int k = 1; lstat(p, &sb) == 0 || errno != ENOENT; k++) {
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

static int
make_parent(const char *abs)
{
	char *parent = xstrdup(abs);
	char *slash = strrchr(parent, '/');
	int err = 0;

	if (slash && slash != parent) {
		*slash = '\0';
		err = nf_mkdir_p(parent, 0777);
	}
	free(parent);
	return err;
}

int
nf_aside_begin(const char *dir, const char *root, const char *const *paths, size_t n,
	       const char *keep)
{
	cJSON *m = NULL, *outs;
	char **abs = xcalloc(n + 1, sizeof(*abs)), **to = xcalloc(n + 1, sizeof(*to));
	char *text = NULL, *mpath = NULL, *msg = NULL;
	struct stat dsb, sb;
	bool made = false;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		char *norm = NULL;

		if ((err = nf_aside_normalize(&norm, paths[i])) < 0)
			goto done;
		abs[i] = xasprintf("%s/%s", root, norm);
		free(norm);
		if (keep && nf_aside_holds(abs[i], keep)) {
			err = nf_error_set(NF_EINVALID, "output '%s' holds the state directory '%s'", paths[i], keep);
			goto done;
		}
	}
	if ((err = nf_mkdir_p(dir, 0777)) < 0)
		goto done;
	made = true;
	if (stat(dir, &dsb) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open '%s'", dir);
		goto done;
	}

	/* Where each existing path goes: into dir, or beside itself on another file system. */
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "root", root);
	outs = cJSON_AddArrayToObject(m, "outputs");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (lstat(abs[i], &sb) == 0) {
			if (sb.st_dev == dsb.st_dev) {
				char name[32];

				snprintf(name, sizeof(name), "%zu", i);
				to[i] = join(dir, name);
			} else {
				to[i] = beside(abs[i]);
			}
		} else if (errno != ENOENT && errno != ENOTDIR) {
			err = nf_error_set_errno(NF_EIO, "cannot look at output '%s'", paths[i]);
			cJSON_Delete(o);
			goto done;
		}
		cJSON_AddStringToObject(o, "path", paths[i]);
		if (to[i])
			cJSON_AddStringToObject(o, "aside", to[i]);
		else
			cJSON_AddNullToObject(o, "aside");
		cJSON_AddItemToArray(outs, o);
	}
	text = cJSON_PrintUnformatted(m);
	mpath = join(dir, NF_ASIDE_MANIFEST);
	if ((err = write_plain(mpath, text)) < 0)
		goto done;

	for (size_t i = 0; i < n; i++) {
		if (!to[i] || rename(abs[i], to[i]) == 0)
			continue;
		if (errno == ENOENT)
			continue;   /* inside an output moved before it: it went with that one */
		err = nf_error_set_errno(NF_EIO, "cannot move output '%s' aside to '%s'", paths[i], to[i]);
		msg = xstrdup(nf_error_last());
		if (nf_aside_restore(dir) == 0)
			nf_error_set(err, "%s", msg);
		else   /* dir stays for the next run's recovery: say both */
			nf_error_set(err, "%s; putting back what had moved failed too: %s", msg, nf_error_last());
		made = false;   /* restore removed dir, or keeps it on purpose */
		goto done;
	}
done:
	if (err < 0 && made) {
		msg = msg ? msg : xstrdup(nf_error_last());
		(void)nf_remove_tree(dir);   /* nothing moved yet */
		nf_error_set(err, "%s", msg);
	}
	free(msg);
	for (size_t i = 0; i < n; i++) {
		free(abs[i]);
		free(to[i]);
	}
	free(abs);
	free(to);
	if (text)
		cJSON_free(text);
	free(mpath);
	cJSON_Delete(m);
	return err;
}

/* The moved files a dropped attempt left beside their outputs (the ones in dir go with it). */
static void
delete_beside(const cJSON *m, const char *dir)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "outputs")) {
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "aside"));

		if (to && !nf_aside_holds(dir, to))
			(void)nf_remove_tree(to);
	}
}

int
nf_aside_restore(const char *dir)
{
	cJSON *m = NULL;
	const cJSON *outs;
	const char *root;
	struct stat sb;
	int err, first = 0;

	if ((err = read_manifest(&m, dir, NF_ASIDE_MANIFEST)) == NF_ENOTFOUND) {
		if (read_manifest(&m, dir, NF_ASIDE_DROPPED) == 0)
			delete_beside(m, dir);   /* it had succeeded: finish the drop */
		cJSON_Delete(m);
		return nf_remove_tree(dir);
	}
	if (err == NF_ECORRUPT)
		return nf_remove_tree(dir);   /* cut short before anything moved */
	if (err < 0)
		return err;
	root = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "root"));
	outs = cJSON_GetObjectItemCaseSensitive(m, "outputs");
	if (stat(root, &sb) < 0) {
		/* The tree it ran in is gone (a --at checkout): nothing to put back. */
		delete_beside(m, dir);
		cJSON_Delete(m);
		return nf_remove_tree(dir);
	}
	/* Last first: a path inside an earlier one goes back after its container. */
	for (int i = cJSON_GetArraySize(outs) - 1; i >= 0; i--) {
		const cJSON *o = cJSON_GetArrayItem(outs, i);
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "path"));
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "aside"));
		char *norm = NULL, *abs;

		if (!path || nf_aside_normalize(&norm, path) < 0)
			continue;
		abs = xasprintf("%s/%s", root, norm);
		free(norm);
		if (!to) {
			err = remove_path(abs);   /* there was nothing: what the attempt wrote goes */
		} else if (lstat(to, &sb) < 0) {
			err = 0;   /* never moved (cut short before it), or already back */
		} else if ((err = remove_path(abs)) == 0 && (err = make_parent(abs)) == 0 &&
			   rename(to, abs) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot put output '%s' back from '%s'", path, to);
		}
		if (err < 0 && !first)
			first = err;
		free(abs);
	}
	cJSON_Delete(m);
	if (first < 0) {
		/* Repeat the first failure's message: the ones after it may have replaced it. */
		return first;
	}
	return nf_remove_tree(dir);
}

int
nf_aside_drop(const char *dir)
{
	char *from = join(dir, NF_ASIDE_MANIFEST), *to = join(dir, NF_ASIDE_DROPPED);
	cJSON *m = NULL;
	int err = 0;

	/* Without its manifest the folder says nothing was moved: right, now that the attempt's
	 * outputs are the ones to keep (only a file left beside its output would leak). */
	if (rename(from, to) < 0 && errno != ENOENT && unlink(from) < 0 && errno != ENOENT)
		err = nf_error_set_errno(NF_EIO, "cannot mark '%s' done", dir);
	free(from);
	free(to);
	if (err < 0)
		return err;
	if (read_manifest(&m, dir, NF_ASIDE_DROPPED) == 0)
		delete_beside(m, dir);
	cJSON_Delete(m);
	return nf_remove_tree(dir);
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
		size_t natt = 0;
		char **atts;

		if (*end || end == runs[r] || run <= 0 || (live && live(ctx, run)))
			continue;
		rdir = join(trash, runs[r]);
		atts = list_dir(rdir, &natt);
		for (size_t a = 0; a < natt; a++) {
			char *adir = join(rdir, atts[a]), *mpath = join(adir, NF_ASIDE_MANIFEST);
			bool had = access(mpath, F_OK) == 0;
			int err = nf_aside_restore(adir);

			if (err < 0) {
				if (report) {
					char *line = xasprintf("run %lld had crashed: %s", run, nf_error_last());

					report(ctx, line);
					free(line);
				}
				if (!first)
					first = err;
			} else if (had && report) {
				const char *dot = strrchr(atts[a], '.');
				char *line = dot ? xasprintf("run %lld had crashed: the outputs of %.*s (attempt %s) "
							     "are back as they were before it", run,
							     (int)(dot - atts[a]), atts[a], dot + 1)
						 : xasprintf("run %lld had crashed: the outputs of %s are back as they "
							     "were before it", run, atts[a]);

				report(ctx, line);
				free(line);
			}
			free(mpath);
			free(adir);
		}
		(void)rmdir(rdir);
		free_names(atts, natt);
		free(rdir);
	}
	free_names(runs, nruns);
	(void)rmdir(trash);
	return first;
}
