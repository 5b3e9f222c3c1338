/* artifact.c: a model artifact's files: its SHA-256 (a folder's through a manifest of its
 * files), copies into the registry, and the workspace copies under models/ swapped in with
 * renames. Plus the fault hook the registry shares. */
#include "config.h"
#include "registry-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/cache.h"
#include "ntflow/cachekey.h"

void
nf_gov__crash(const char *point)
{
	if (nf_test_hook(point))
		raise(SIGKILL);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a folder but . and .., sorted bytewise (not by locale). */
static int
list_dir(char ***out, size_t *n, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return nf_error_set_errno(NF_EIO, "cannot read folder '%s'", path);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		NF_PUSH(names, nn, cap, xstrdup(de->d_name));
	}
	closedir(d);
	if (nn)
		qsort(names, nn, sizeof(*names), cmp_names);
	*out = names;
	*n = nn;
	return 0;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Appends the manifest lines of the folder abs (rel: its path inside the artifact); files
 * are hashed through the stat cache of db when it is set. */
static int
manifest(nf_buf *m, int64_t *size, const char *abs, const char *rel, int depth, nf_statcache *db)
{
	char **names = NULL;
	size_t n = 0;
	int err;

	if (depth > 64)
		return nf_error_set(NF_EINVALID, "'%s' is nested too deeply", abs);
	if ((err = list_dir(&names, &n, abs)) < 0)
		return err;
	for (size_t i = 0; i < n && err == 0; i++) {
		char *p = xasprintf("%s/%s", abs, names[i]);
		char *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat sb;
		char hex[65], target[4096];
		ssize_t tl;

		if (lstat(p, &sb) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", p);
		} else if (S_ISDIR(sb.st_mode)) {
			nf_buf_printf(m, "d - 0 - %s\n", r);
			err = manifest(m, size, p, r, depth + 1, db);
		} else if (S_ISREG(sb.st_mode)) {
			if ((err = nf_hash_file(hex, p, db)) == 0) {
				nf_buf_printf(m, "f %c %lld %s %s\n", sb.st_mode & 0111 ? 'x' : '-',
					      (long long)sb.st_size, hex, r);
				*size += sb.st_size;
			}
		} else if (S_ISLNK(sb.st_mode)) {
			if ((tl = readlink(p, target, sizeof(target) - 1)) < 0) {
				err = nf_error_set_errno(NF_EIO, "cannot read link '%s'", p);
			} else {
				target[tl] = '\0';
				nf_buf_printf(m, "l - 0 %s %s\n", target, r);
			}
		} else {
			err = nf_error_set(NF_EINVALID, "'%s' is neither a file, a folder nor a link", p);
		}
		free(p);
		free(r);
	}
	free_names(names, n);
	return err;
}

int
nf_artifact_hash(nf_artifact_id *out, const char *path)
{
	return nf_artifact_hash_cached(out, path, NULL);
}

int
nf_artifact_hash_cached(nf_artifact_id *out, const char *path, nf_statcache *db)
{
	struct stat sb;
	nf_buf m = NF_BUF_INIT;
	int err;

	memset(out, 0, sizeof(*out));
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return nf_error_set(NF_ENOTFOUND, "'%s' does not exist", path);
		return nf_error_set_errno(NF_EIO, "cannot stat '%s'", path);
	}
	if (S_ISREG(sb.st_mode)) {
		out->kind = "file";
		out->size = sb.st_size;
		return nf_hash_file(out->sha256, path, db);
	}
	if (!S_ISDIR(sb.st_mode))
		return nf_error_set(NF_EINVALID, "'%s' is neither a file nor a folder", path);
	out->kind = "dir";
	if ((err = manifest(&m, &out->size, path, "", 0, db)) == 0)
		nf_sha256_of(out->sha256, m.buf ? m.buf : "", m.len);
	nf_buf_release(&m);
	return err;
}

static int
copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	int in = -1, out = -1, err = 0;
	ssize_t r;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return nf_error_set_errno(NF_EIO, "cannot open '%s'", src);
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777)) < 0) {
		err = nf_error_set_io(NF_EIO, dst, "cannot create '%s'", dst);
		goto done;
	}
	while ((r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = nf_error_set_errno(NF_EIO, "cannot read '%s'", src);
			goto done;
		}
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				err = nf_error_set_io(NF_EIO, dst, "cannot write '%s'", dst);
				goto done;
			}
			off += w;
		}
	}
	if (fsync(out) < 0)
		err = nf_error_set_io(NF_EIO, dst, "cannot write '%s'", dst);
done:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && err == 0)
		err = nf_error_set_io(NF_EIO, dst, "cannot write '%s'", dst);
	return err;
}

static int
copy_tree(const char *src, const char *dst, int depth)
{
	struct stat sb;
	char **names = NULL;
	size_t n = 0;
	int err = 0;

	if (depth > 64)
		return nf_error_set(NF_EINVALID, "'%s' is nested too deeply", src);
	if (lstat(src, &sb) < 0)
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO, "cannot stat '%s'", src);
	if (S_ISREG(sb.st_mode))
		return copy_file(src, dst, sb.st_mode);
	if (S_ISLNK(sb.st_mode)) {
		char target[4096];
		ssize_t tl = readlink(src, target, sizeof(target) - 1);

		if (tl < 0)
			return nf_error_set_errno(NF_EIO, "cannot read link '%s'", src);
		target[tl] = '\0';
		if (symlink(target, dst) < 0)
			return nf_error_set_io(NF_EIO, dst, "cannot create '%s'", dst);
		return 0;
	}
	if (!S_ISDIR(sb.st_mode))
		return nf_error_set(NF_EINVALID, "'%s' is neither a file, a folder nor a link", src);
	if (mkdir(dst, (sb.st_mode & 07777) | 0700) < 0)
		return nf_error_set_io(NF_EIO, dst, "cannot create '%s'", dst);
	if ((err = list_dir(&names, &n, src)) < 0)
		return err;
	for (size_t i = 0; i < n && err == 0; i++) {
		char *s = xasprintf("%s/%s", src, names[i]);
		char *d = xasprintf("%s/%s", dst, names[i]);

		err = copy_tree(s, d, depth + 1);
		free(s);
		free(d);
	}
	free_names(names, n);
	return err;
}

int
nf_artifact_copy(const char *src, const char *dst)
{
	struct stat sb;

	/* The top is followed when it is a link: what is registered is what it points at. */
	if (stat(src, &sb) < 0)
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO, "cannot stat '%s'", src);
	if (S_ISREG(sb.st_mode))
		return copy_file(src, dst, sb.st_mode);
	return copy_tree(src, dst, 0);
}

static int
remove_tree(const char *path, int depth)
{
	struct stat sb;
	char **names = NULL;
	size_t n = 0;
	int err = 0;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : nf_error_set_errno(NF_EIO, "cannot stat '%s'", path);
	if (!S_ISDIR(sb.st_mode) || depth > 128) {
		if (unlink(path) < 0 && errno != ENOENT)
			return nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
		return 0;
	}
	chmod(path, (sb.st_mode & 07777) | 0700);   /* a read-only folder copied from an artifact */
	if ((err = list_dir(&names, &n, path)) < 0)
		return err;
	for (size_t i = 0; i < n && err == 0; i++) {
		char *p = xasprintf("%s/%s", path, names[i]);

		err = remove_tree(p, depth + 1);
		free(p);
	}
	free_names(names, n);
	if (err == 0 && rmdir(path) < 0 && errno != ENOENT)
		err = nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
	return err;
}

int
nf_artifact_remove(const char *path)
{
	return remove_tree(path, 0);
}

/* The process that made a temporary name ".X.tmp-PID-N", ".X.old-PID-N" or ".tmp-PID";
 * 0 when name is not one. */
static long
temp_owner(const char *name)
{
	const char *p = name[0] == '.' ? strstr(name, "tmp-") : NULL;
	char *end;
	long pid;

	if (name[0] == '.' && !p)
		p = strstr(name, "old-");
	if (!p || (p != name + 1 && p[-1] != '.'))
		return 0;
	pid = strtol(p + 4, &end, 10);
	return pid > 0 && (*end == '\0' || *end == '-') ? pid : 0;
}

void
nf_artifact_sweep(const char *dir)
{
	char **names = NULL;
	size_t n = 0;

	if (list_dir(&names, &n, dir) < 0) {
		nf_error_clear();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		long pid = temp_owner(names[i]);

		if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			char *p = xasprintf("%s/%s", dir, names[i]);

			nf_artifact_remove(p);
			free(p);
		}
	}
	free_names(names, n);
}

/* A name beside path for a temporary or old copy: "PARENT/.BASE.WHAT-PID-N". */
static char *
beside(const char *path, const char *what)
{
	static unsigned counter;
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xasprintf(".%s.%s-%ld-%u", path, what, (long)getpid(), ++counter);
	return xasprintf("%.*s/.%s.%s-%ld-%u", (int)(slash - path), path, slash + 1, what, (long)getpid(),
			 ++counter);
}

/* fsync of a folder, so the names written in it (a copy, a rename) are on disk. */
static int
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return nf_error_set_errno(NF_EIO, "cannot open '%s'", path);
	if (fsync(fd) < 0 && errno != EINVAL)
		err = nf_error_set_errno(NF_EIO, "cannot sync '%s'", path);
	close(fd);
	return err;
}

int
nf_artifact_stage(char **staged, const char *dir, const char *src, const char *base)
{
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
	char *tmp = beside(dir, "tmp"), *dst = NULL;
	int err = 0;

	*staged = NULL;
	if (slash && slash != parent) {
		*slash = '\0';
		if ((err = nf_mkdir_p(parent, 0777)) < 0)
			goto done;
		nf_artifact_sweep(parent);
	}
	nf_artifact_remove(tmp);
	if (mkdir(tmp, 0777) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create '%s'", tmp);
		goto done;
	}
	dst = xasprintf("%s/%s", tmp, base);
	if ((err = nf_artifact_copy(src, dst)) < 0 || (err = sync_dir(tmp)) < 0)
		goto done;
	nf_gov__crash("place-after-copy");
	*staged = tmp;
	tmp = NULL;
done:
	if (err < 0)
		nf_artifact_remove(tmp);
	free(parent);
	free(tmp);
	free(dst);
	return err;
}

int
nf_artifact_install(const char *dir, char *staged)
{
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/'), *old = beside(dir, "old");
	struct stat sb;
	bool had_old = false;
	int err = 0;

	if (slash && slash != parent)
		*slash = '\0';
	if (lstat(dir, &sb) == 0) {
		if (rename(dir, old) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot replace '%s'", dir);
			goto done;
		}
		had_old = true;
		nf_gov__crash("place-after-aside");
	}
	if (rename(staged, dir) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot rename '%s' to '%s'", staged, dir);
		if (had_old)
			rename(old, dir);   /* put the previous copy back */
		goto done;
	}
	sync_dir(slash ? parent : ".");
	nf_gov__crash("place-after-swap");
	if (had_old)
		nf_artifact_remove(old);
done:
	if (err < 0)
		nf_artifact_remove(staged);
	free(staged);
	free(parent);
	free(old);
	return err;
}

int
nf_artifact_place(const char *dir, const char *src, const char *base)
{
	char *staged;
	int err = nf_artifact_stage(&staged, dir, src, base);

	return err < 0 ? err : nf_artifact_install(dir, staged);
}
