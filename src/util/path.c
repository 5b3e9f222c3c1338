/* path.c: paths inside the project. Every path a pipeline names (an output, an input, a
 * `path` folder, a metrics file) is relative to the project root and must stay beneath it
 * once interpolated. nf_path_normalize says whether it does on paper (not absolute, no ".."
 * above its start, not the start itself). nf_path_parent_at then finds it on disk without
 * following any symbolic link on the way: openat2(2) with RESOLVE_BENEATH and
 * RESOLVE_NO_SYMLINKS where the kernel has it, else one openat(O_NOFOLLOW | O_DIRECTORY)
 * per component from the root's descriptor. Either way what is opened is a real folder
 * inside the root, so neither a "../" in a parameter nor a link planted in the tree makes
 * ntflow write elsewhere. The caller works on the last component through the folder's
 * descriptor (fstatat, openat, renameat with AT_SYMLINK_NOFOLLOW or O_NOFOLLOW), so it
 * never follows a link there either. nf_path_resolve is the reading side, for inputs:
 * links are followed, and where they lead must still be inside the root. */
#include "config.h"
#include "ntflow/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#if defined(SYS_openat2) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define NF_HAVE_OPENAT2 1
#endif
#endif
#endif

/* Whether path (not absolute) is already as nf_path_lexical would give it: not empty, no
 * empty, "." or ".." segment, no '/' at its end. */
static bool
path_is_lexical(const char *path)
{
	const char *seg = path;

	for (const char *p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t len = (size_t)(p - seg);

			if (len == 0 || (seg[0] == '.' && (len == 1 || (len == 2 && seg[1] == '.'))))
				return false;
			if (*p == '\0')
				return true;
			seg = p + 1;
		}
	}
}

char *
nf_path_lexical(const char *path, nf_path_why *why)
{
	nf_buf b = NF_BUF_INIT;
	size_t *starts = NULL, n = 0, cap = 0;
	const char *p = path;

	*why = NF_PATH_INSIDE;
	if (path[0] == '/') {
		*why = NF_PATH_ABSOLUTE;
		return NULL;
	}
	if (path_is_lexical(path))
		return xstrdup(path);   /* as almost every declared path is: nothing to take out */
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0) {
				*why = NF_PATH_OUTSIDE;
				break;
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
	free(starts);
	if (*why == NF_PATH_INSIDE && b.len == 0)
		*why = NF_PATH_TOP;
	if (*why != NF_PATH_INSIDE) {
		nf_buf_release(&b);
		return NULL;
	}
	return nf_buf_detach(&b);
}

int
nf_path_normalize(char **out, const char *path, const char *what)
{
	nf_path_why why;

	if ((*out = nf_path_lexical(path, &why)) != NULL)
		return 0;
	if (why == NF_PATH_ABSOLUTE)
		return nf_error_set(NF_EINVALID, "%s '%s' is an absolute path; %ss are relative to the project root",
				    what, path, what);
	if (why == NF_PATH_OUTSIDE)
		return nf_error_set(NF_EINVALID, "%s '%s' is outside the workspace", what, path);
	return nf_error_set(NF_EINVALID, "%s '%s' is the whole workspace", what, path);
}

bool
nf_path_holds(const char *outer, const char *inner)
{
	size_t n = strlen(outer);

	return strncmp(outer, inner, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

const char *
nf_path_private(const char *norm, const char **writer)
{
	const char *place = nf_path_holds(".ntflow", norm) ? ".ntflow" : nf_path_holds(".git", norm) ? ".git" : NULL;

	if (writer)
		*writer = place && !strcmp(place, ".git") ? "git" : "ntflow";
	return place;
}

/* True when path is what nf_path_lexical returns: relative, no empty, "." or ".." part. */
static bool
is_normal(const char *path)
{
	const char *p = path;

	if (!*p || *p == '/')
		return false;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!e)
			return true;
		p = e + 1;
	}
}

static int
symlink_error(const char *what, const char *shown, const char *path, size_t upto)
{
	return nf_error_set(NF_EINVALID, "%s '%s' goes through the symbolic link '%.*s'; ntflow does not follow "
			    "links in %ss", what, shown, (int)upto, path, what);
}

/* The walk: one openat(O_NOFOLLOW | O_DIRECTORY) per folder on the way, a missing one made
 * with NF_PATH_MKDIR. The reference behaviour, and where every error is worded (shown is
 * the path as its user wrote it, path the normalized one walked). */
static int
walk(int *dirfd, int basefd, const char *path, size_t plen, const char *what, const char *shown, unsigned flags)
{
	const char *p = path, *end = path + plen;
	int fd, err = 0;

	if ((fd = openat(basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return nf_error_set_errno(NF_EIO, "cannot open the folder holding %s '%s'", what, shown);
	while (p < end) {
		const char *e = memchr(p, '/', (size_t)(end - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
		char *comp = xstrndup(p, len);
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;

		if (next < 0 && errno == ENOENT && (flags & NF_PATH_MKDIR)) {
			if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST)
				err = nf_error_set_errno(NF_EIO, "%s '%s': cannot create the folder '%.*s'", what, shown,
							 (int)(p + len - path), path);
			else
				next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0 && !err) {
			int saved = errno;

			if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				err = symlink_error(what, shown, path, (size_t)(p + len - path));
			else if (saved == ENOENT || saved == ENOTDIR)
				err = nf_error_set(NF_ENOTFOUND, "%s '%s': '%.*s' is %s", what, shown, (int)(p + len - path),
						   path, saved == ENOENT ? "missing" : "not a folder");
			else {
				errno = saved;
				err = nf_error_set_errno(NF_EIO, "%s '%s': cannot open '%.*s'", what, shown,
							 (int)(p + len - path), path);
			}
		}
		free(comp);
		close(fd);
		if (err)
			return err;
		fd = next;
		p += len + (e ? 1 : 0);
	}
	*dirfd = fd;
	return 0;
}

#ifdef NF_HAVE_OPENAT2
/* openat2 with everything the walk checks, in one call; false when it could not say (no
 * such system call, or a failure the walk words better). */
static bool
fast(int *dirfd, int basefd, const char *path, size_t plen)
{
	static bool missing;   /* the kernel has no openat2 */
	struct open_how how;
	char *dir;
	long fd;

	if (missing || nf_test_hook_value("NTFLOW_TEST_NO_OPENAT2"))
		return false;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	dir = xstrndup(path, plen);
	fd = syscall(SYS_openat2, basefd, dir, &how, sizeof(how));
	free(dir);
	if (fd < 0) {
		/* EPERM: a seccomp filter that refuses system calls it does not know. */
		if (errno == ENOSYS || errno == EPERM)
			missing = true;
		return false;
	}
	*dirfd = (int)fd;
	return true;
}
#endif

static int
parent_at(int *dirfd, const char **name, int basefd, const char *path, const char *what, const char *shown,
	  unsigned flags)
{
	const char *slash;

	*dirfd = -1;
	*name = NULL;
	if (!is_normal(path))
		return nf_error_set(NF_EINVALID, "%s '%s' is not a plain relative path", what, shown);
	slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	if (!slash) {
		if ((*dirfd = openat(basefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return nf_error_set_errno(NF_EIO, "cannot open the folder holding %s '%s'", what, shown);
		return 0;
	}
#ifdef NF_HAVE_OPENAT2
	if (fast(dirfd, basefd, path, (size_t)(slash - path)))
		return 0;
#endif
	return walk(dirfd, basefd, path, (size_t)(slash - path), what, shown, flags);
}

int
nf_path_parent_at(int *dirfd, const char **name, int basefd, const char *path, const char *what,
		  unsigned flags)
{
	return parent_at(dirfd, name, basefd, path, what, path, flags);
}

static int
parent(int *dirfd, const char **name, const char *root, const char *path, const char *what, const char *shown,
       unsigned flags)
{
	int rootfd, err;

	*dirfd = -1;
	*name = NULL;
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return nf_error_set_errno(NF_EIO, "cannot open the project root '%s'", root);
	err = parent_at(dirfd, name, rootfd, path, what, shown, flags);
	close(rootfd);
	return err;
}

int
nf_path_parent(int *dirfd, const char **name, const char *root, const char *path, const char *what,
	       unsigned flags)
{
	return parent(dirfd, name, root, path, what, path, flags);
}

int
nf_path_open(int *dirfd, const char **name, char **norm, const char *root, const char *path, const char *what,
	     unsigned flags)
{
	int err;

	*dirfd = -1;
	*name = NULL;
	if ((err = nf_path_beneath(norm, root, path, what)) < 0)
		return err;
	if ((err = parent(dirfd, name, root, *norm, what, path, flags)) < 0 && err != NF_ENOTFOUND) {
		free(*norm);
		*norm = NULL;
	}
	return err;
}

int
nf_path_open_at(int *dirfd, const char **name, char **norm, int rootfd, const char *root, const char *path,
		const char *what, unsigned flags)
{
	int err;

	if (rootfd < 0)
		return nf_path_open(dirfd, name, norm, root, path, what, flags);
	*dirfd = -1;
	*name = NULL;
	if ((err = nf_path_beneath(norm, root, path, what)) < 0)
		return err;
	if ((err = parent_at(dirfd, name, rootfd, *norm, what, path, flags)) < 0 && err != NF_ENOTFOUND) {
		free(*norm);
		*norm = NULL;
	}
	return err;
}

int
nf_path_stat_at(int dirfd, const char *name, const char *what, const char *path, struct stat *st)
{
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return NF_ENOTFOUND;
		return nf_error_set_errno(NF_EIO, "cannot look at %s '%s'", what, path);
	}
	if (S_ISLNK(st->st_mode))
		return nf_error_set(NF_EINVALID, "%s '%s' is a symbolic link; ntflow does not follow links in %ss",
				    what, path, what);
	return 0;
}

int
nf_path_beneath(char **out, const char *root, const char *path, const char *what)
{
	nf_buf prefix = NF_BUF_INIT;
	size_t *starts = NULL, n = 0, cap = 0;
	const char *p = path;
	int err;

	if ((err = nf_path_normalize(out, path, what)) < 0)
		return err;
	/* Each ".." must undo a real folder: after a link it would climb out of where the link
	 * leads ("sub/link/.." with sub/link -> /elsewhere is /), not back to "sub". */
	while (*p && err == 0) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			const char *name;
			struct stat st;
			int fd;

			err = parent(&fd, &name, root, prefix.buf, what, path, 0);
			if (err == 0) {
				if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
					err = symlink_error(what, path, prefix.buf, prefix.len);
				close(fd);
			} else if (err != NF_EINVALID) {
				err = 0;   /* missing: nothing to go through */
				nf_error_clear();
			}
			prefix.len = starts[--n];
			if (prefix.len)
				prefix.len--;
			prefix.buf[prefix.len] = '\0';
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (prefix.len)
				nf_buf_putc(&prefix, '/');
			NF_PUSH(starts, n, cap, prefix.len);
			nf_buf_add(&prefix, p, len);
		}
		p += len;
		if (*p == '/')
			p++;
	}
	free(starts);
	nf_buf_release(&prefix);
	if (err < 0) {
		free(*out);
		*out = NULL;
	}
	return err;
}

/* Removes the content of the open folder fd (which it closes); path names it in messages. */
static int
empty_folder(int fd, const char *path)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int err = 0;

	if (!d) {
		err = nf_error_set_errno(NF_EIO, "cannot read the folder '%s'", path);
		close(fd);
		return err;
	}
	while (!err && (errno = 0, de = readdir(d))) {
		char *child;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = xasprintf("%s/%s", path, de->d_name);
		err = nf_path_remove_at(dirfd(d), de->d_name, child);
		free(child);
	}
	if (!err && errno)
		err = nf_error_set_errno(NF_EIO, "cannot read the folder '%s'", path);
	closedir(d);
	return err;
}

int
nf_path_remove_at(int dirfd, const char *name, const char *path)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
	}
	if (S_ISDIR(st.st_mode)) {
		int err;

		if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
		if ((err = empty_folder(fd, path)) < 0)
			return err;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
		return 0;
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return nf_error_set_errno(NF_EIO, "cannot remove '%s'", path);
	return 0;
}

/* realpath(3) of abs, or of its longest existing prefix with the rest appended as written
 * (a path that does not exist yet still leads somewhere). NULL on any other error. */
static char *
real_of(const char *abs)
{
	char *real = realpath(abs, NULL), *head, *slash, *out;

	if (real || (errno != ENOENT && errno != ENOTDIR))
		return real;
	head = xstrdup(abs);
	while ((slash = strrchr(head, '/')) && slash != head) {
		*slash = '\0';
		if ((real = realpath(head, NULL))) {
			out = xasprintf("%s%s%s", real, strcmp(real, "/") ? "/" : "", abs + (slash - head) + 1);
			free(real);
			free(head);
			return out;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			break;
	}
	free(head);
	return NULL;
}

int
nf_path_resolve(char **out, bool *linked, const char *root, const char *path, const char *what)
{
	char *norm = NULL, *abs = NULL, *real = NULL, *root_real = NULL, *rel = NULL;
	nf_path_why why;
	size_t rl;
	int err = 0;

	*out = NULL;
	if (linked)
		*linked = false;
	if (!(norm = nf_path_lexical(path, &why))) {
		if (why != NF_PATH_TOP)
			return nf_path_normalize(&norm, path, what);
		norm = xstrdup("");   /* the whole project: fine to read */
	}
	/* As the kernel goes: ".." after a link climbs from where the link leads. */
	abs = xasprintf("%s/%s", root, path);
	if (!(root_real = realpath(root, NULL)) || !(real = real_of(abs))) {
		err = nf_error_set_errno(NF_EIO, "cannot resolve %s '%s'", what, path);
		goto done;
	}
	rl = strlen(root_real);
	if (strcmp(real, root_real) == 0) {
		rel = xstrdup("");
	} else if (strncmp(real, root_real, rl) == 0 && (real[rl] == '/' || rl == 1)) {
		/* The part that does not exist may still hold "." or "..". */
		if (!(rel = nf_path_lexical(real + (rl == 1 ? 1 : rl + 1), &why)) && why == NF_PATH_TOP)
			rel = xstrdup("");
	}
	if (!rel) {
		err = nf_error_set(NF_EINVALID, "%s '%s' leads to '%s', outside the project, through a symbolic link",
				   what, path, real);
		goto done;
	}
	if (linked)
		*linked = strcmp(rel, norm) != 0;
	*out = rel;
done:
	free(norm);
	free(abs);
	free(real);
	free(root_real);
	return err;
}
