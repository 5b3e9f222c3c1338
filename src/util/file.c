/* file.c: whole-file reads, atomic writes through rename, and mkdir -p. */
#include "config.h"
#include "ntflow/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ftw.h>
#include <unistd.h>

int
nf_read_file(char **out, size_t *len, const char *path, size_t max)
{
	int fd, err = 0;
	struct stat sb;
	char *data = NULL;
	size_t cap, n = 0;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO, "cannot open '%s'", path);
	if (fstat(fd, &sb) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", path);
		goto done;
	}
	if (S_ISDIR(sb.st_mode)) {
		err = nf_error_set(NF_EIO, "cannot read '%s': Is a directory", path);
		goto done;
	}
	if (max && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max) {
		err = nf_error_set(NF_EINVALID, "'%s' is too large (%lld bytes; the limit is %zu)",
				   path, (long long)sb.st_size, max);
		goto done;
	}
	/* A regular file's size and room for the read that finds its end and for a NUL, so a
	 * file read whole is never copied into a buffer twice its size. */
	cap = S_ISREG(sb.st_mode) ? (size_t)sb.st_size + 2 : 4096;
	data = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			if (max && n > max) {
				err = nf_error_set(NF_EINVALID, "'%s' is too large (the limit is %zu bytes)", path, max);
				goto done;
			}
			data = xgrow(data, 1, cap + 1, &cap);
		}
		r = read(fd, data + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = nf_error_set_errno(NF_EIO, "cannot read '%s'", path);
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (max && n > max) {
		err = nf_error_set(NF_EINVALID, "'%s' is too large (the limit is %zu bytes)", path, max);
		goto done;
	}
	data[n] = '\0';
	*out = data;
	*len = n;
	data = NULL;
done:
	free(data);
	close(fd);
	return err;
}

int
nf_write_all(int fd, const void *data, size_t len, const char *path)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return nf_error_set_io(NF_EIO, path, "cannot write '%s'", path);
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Writes data into the file path is already (a device, a pipe): no temporary beside it. */
static int
write_in_place(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY), err;

	if (fd < 0)
		return nf_error_set_errno(NF_EIO, "cannot open '%s'", path);
	err = nf_write_all(fd, data, len, path);
	if (close(fd) < 0 && !err)
		err = nf_error_set_io(NF_EIO, path, "cannot write '%s'", path);
	return err;
}

static int
write_atomic(const char *path, const void *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, err = 0;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create '%s'", tmp);
		goto done;
	}
	err = nf_write_all(fd, data, len, tmp);
	if (!err && fsync(fd) < 0)
		err = nf_error_set_io(NF_EIO, tmp, "cannot sync '%s'", tmp);
	if (close(fd) < 0 && !err)
		err = nf_error_set_io(NF_EIO, tmp, "cannot close '%s'", tmp);
	if (!err && rename(tmp, path) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot rename '%s' to '%s'", tmp, path);
	if (err)
		unlink(tmp);
done:
	free(tmp);
	return err;
}

int
nf_write_file_atomic(const char *path, const void *data, size_t len)
{
	struct stat sb;
	char *real = NULL;
	int err;

	/* A file that is not a regular one is written into, never replaced: a rename over
	 * /dev/null (`import -o /dev/null --force`) made it a regular file, for every process
	 * of the machine. A link is followed, and what it leads to replaced: the link stays. */
	if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode) && (real = realpath(path, NULL)))
		path = real;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
		err = write_in_place(path, data, len);
	else
		err = write_atomic(path, data, len);
	free(real);
	return err;
}

int
nf_mkdir_p(const char *path, int mode)
{
	char *p;
	int err = 0;

	if (!*path)
		return 0;
	p = xstrdup(path);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
				err = nf_error_set_errno(NF_EIO, "cannot create directory '%s'", p);
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return err;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	/* Read-only entries (cache objects) need write permission on their folder only. */
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
nf_remove_tree(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
	return 0;
}
