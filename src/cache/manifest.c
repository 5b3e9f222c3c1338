/* manifest.c: the canonical listing of a folder, whose SHA-256 is both the content identity
 * of a folder git does not see and the "dir:" digest of a folder in the object store.
 *
 * Format (UTF-8 or any bytes, one entry per line, sorted by path with strcmp):
 *
 *     ntflow-manifest 2
 *     100640 12 9f86d0...(64 hex) data/a.csv
 *     100755 30 5e8848...         run.sh
 *     120000 7 2cf24d...          latest          (size and sha256 of the link's target text)
 *     040000 0 -                  logs/empty      (an empty folder; folders with content are implied)
 *
 * Fields are separated by one space; the path is the rest of the line, relative, with '\'
 * written "\\" and a newline "\n". Version 2 writes a file's mode as 100000 plus its
 * permission bits, exactly (100600 for a private file); version 1 ("ntflow-manifest 1")
 * has git's modes only, 100644 and 100755, keeping nothing but the executable bit. The
 * object store writes version 2 and reads both (an entry of version 1 is restored with the
 * umask's default mode, executable or not); content identities of inputs stay version 1, so
 * a chmod that git does not see does not change them. Nothing else (times, owners, the
 * folders' own modes) is part of a manifest. */
#include "config.h"
#include "cache-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_HEADER_V1 "ntflow-manifest 1\n"
#define MANIFEST_HEADER_V2 "ntflow-manifest 2\n"

static void
add_entry(nf_manifest *m, const char *path, unsigned mode, int perm, uint64_t size, const char *sha)
{
	nf_manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = xstrdup(path);
	e.mode = mode;
	e.perm = perm;
	e.size = size;
	if (sha)
		memcpy(e.sha256, sha, 65);
	NF_PUSH(m->entries, m->n, m->cap, e);
}

static bool
skipped(const char *name, const char *const *skip)
{
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return true;
	for (; skip && *skip; skip++)
		if (!strcmp(name, *skip))
			return true;
	return false;
}

/* Hashes a symlink's target text, as git does for a 120000 entry, and hands it to link. */
static int
hash_link(char sha[65], uint64_t *size, int dirfd, const char *name, const char *path,
	  const struct stat *st, const nf_manifest_ops *ops)
{
	size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : 256;
	char *target = NULL;
	ssize_t n;
	int err = 0;

	for (;;) {
		target = xrealloc(target, cap);
		if ((n = readlinkat(dirfd, name, target, cap)) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot read the link '%s'", path);
			goto done;
		}
		if ((size_t)n < cap)
			break;
		cap *= 2;
	}
	nf_sha256_buf(sha, target, (size_t)n);
	*size = (uint64_t)n;
	if (ops->link)
		err = ops->link(ops->ctx, sha, target, (size_t)n);
done:
	free(target);
	return err;
}

/* Adds the entries of the open folder fd (abs names it; its relative path is rel, "" for
 * the top) to m. */
static int
scan_dir(nf_manifest *m, int fd, nf_buf *abs, nf_buf *rel, const char *const *skip,
	 const nf_manifest_ops *ops)
{
	DIR *d;
	struct dirent *de;
	size_t abs_len = abs->len, rel_len = rel->len, before = m->n;
	int dfd, err = 0;

	if ((dfd = dup(fd)) < 0 || !(d = fdopendir(dfd))) {
		err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", nf_buf_cstr(abs));
		if (dfd >= 0)
			close(dfd);
		return err;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		char sha[65];
		uint64_t size = 0;

		if (skipped(de->d_name, skip))
			continue;
		abs->len = abs_len;
		rel->len = rel_len;
		nf_buf_putc(abs, '/');
		nf_buf_puts(abs, de->d_name);
		if (rel_len)
			nf_buf_putc(rel, '/');
		nf_buf_puts(rel, de->d_name);
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", abs->buf);
			goto done;
		}
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0) {
				err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", abs->buf);
				goto done;
			}
			err = scan_dir(m, cfd, abs, rel, skip, ops);
			close(cfd);
			if (err < 0)
				goto done;
		} else if (S_ISREG(st.st_mode)) {
			if ((err = ops->file(ops->ctx, sha, fd, de->d_name, abs->buf, &st)) < 0)
				goto done;
			add_entry(m, rel->buf, (st.st_mode & S_IXUSR) ? NF_MODE_EXEC : NF_MODE_FILE,
				  (int)(st.st_mode & 0777), (uint64_t)st.st_size, sha);
		} else if (S_ISLNK(st.st_mode)) {
			if ((err = hash_link(sha, &size, fd, de->d_name, abs->buf, &st, ops)) < 0)
				goto done;
			add_entry(m, rel->buf, NF_MODE_LINK, -1, size, sha);
		} else {
			err = nf_error_set(NF_EINVALID, "cannot hash '%s': not a file, folder or symlink",
					   abs->buf);
			goto done;
		}
	}
	if (errno) {
		err = nf_error_set_errno(NF_EIO, "cannot read the folder '%s'", nf_buf_cstr(abs));
		goto done;
	}
	abs->len = abs_len;
	rel->len = rel_len;
	if (abs->buf)
		abs->buf[abs_len] = '\0';
	if (rel->buf)
		rel->buf[rel_len] = '\0';
	/* An empty folder is recorded, so restoring it recreates it (the top one is implied). */
	if (m->n == before && rel_len)
		add_entry(m, rel->buf, NF_MODE_DIR, -1, 0, NULL);
done:
	closedir(d);
	return err;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const nf_manifest_entry *)a)->path, ((const nf_manifest_entry *)b)->path);
}

int
nf_manifest_scan_at(nf_manifest *m, int dirfd, const char *path, const char *const *skip,
		    const nf_manifest_ops *ops)
{
	nf_buf abs = NF_BUF_INIT, rel = NF_BUF_INIT;
	int err;

	nf_buf_puts(&abs, path);
	while (abs.len > 1 && abs.buf[abs.len - 1] == '/')
		abs.buf[--abs.len] = '\0';
	err = scan_dir(m, dirfd, &abs, &rel, skip, ops);
	if (err == 0 && m->n)
		qsort(m->entries, m->n, sizeof(*m->entries), entry_cmp);
	nf_buf_release(&abs);
	nf_buf_release(&rel);
	return err;
}

void
nf_manifest_format(nf_buf *out, const nf_manifest *m, int version)
{
	nf_buf_puts(out, version >= NF_MANIFEST_V2 ? MANIFEST_HEADER_V2 : MANIFEST_HEADER_V1);
	for (size_t i = 0; i < m->n; i++) {
		const nf_manifest_entry *e = &m->entries[i];
		unsigned mode = e->mode;

		if (version >= NF_MANIFEST_V2 && e->perm >= 0 && (mode == NF_MODE_FILE || mode == NF_MODE_EXEC))
			mode = 0100000u | ((unsigned)e->perm & 0777u);
		nf_buf_printf(out, "%06o %llu %s ", mode, (unsigned long long)e->size,
			      e->mode == NF_MODE_DIR ? "-" : e->sha256);
		for (const char *p = e->path; *p; p++) {
			if (*p == '\\')
				nf_buf_puts(out, "\\\\");
			else if (*p == '\n')
				nf_buf_puts(out, "\\n");
			else
				nf_buf_putc(out, *p);
		}
		nf_buf_putc(out, '\n');
	}
}

/* A path a manifest may name: relative, with no empty, "." or ".." component, so a
 * damaged manifest can never make restore write outside its folder. */
static bool
safe_path(const char *p)
{
	if (!*p || *p == '/')
		return false;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return false;
	}
	return true;
}

static int
parse_line(nf_manifest *m, const char *line, size_t len, int version)
{
	char mode_s[8], sha[65];
	unsigned mode;
	int perm = -1;
	unsigned long long size;
	const char *p = line, *end = line + len, *sp;
	nf_buf path = NF_BUF_INIT;
	char *num_end;
	int err = NF_ECORRUPT;

	/* mode */
	if (!(sp = memchr(p, ' ', (size_t)(end - p))) || sp - p != 6)
		goto done;
	memcpy(mode_s, p, 6);
	mode_s[6] = '\0';
	mode = (unsigned)strtoul(mode_s, &num_end, 8);
	if (*num_end)
		goto done;
	if (version >= NF_MANIFEST_V2 && (mode & ~0777u) == 0100000u) {
		perm = (int)(mode & 0777u);   /* a file, its permission bits exactly */
		mode = (mode & S_IXUSR) ? NF_MODE_EXEC : NF_MODE_FILE;
	} else if (mode != NF_MODE_LINK && mode != NF_MODE_DIR &&
		   (version >= NF_MANIFEST_V2 || (mode != NF_MODE_FILE && mode != NF_MODE_EXEC))) {
		goto done;
	}
	/* size */
	p = sp + 1;
	if (!(sp = memchr(p, ' ', (size_t)(end - p))) || sp == p || sp - p > 20)
		goto done;
	for (const char *q = p; q < sp; q++)
		if (*q < '0' || *q > '9')
			goto done;
	size = strtoull(p, NULL, 10);
	/* sha256 */
	p = sp + 1;
	if (!(sp = memchr(p, ' ', (size_t)(end - p))))
		goto done;
	if (mode == NF_MODE_DIR) {
		if (sp - p != 1 || *p != '-' || size != 0)
			goto done;
		sha[0] = '\0';
	} else {
		if (sp - p != 64)
			goto done;
		memcpy(sha, p, 64);
		sha[64] = '\0';
		if (!nf_is_sha256_hex(sha))
			goto done;
	}
	/* path, unescaped */
	for (p = sp + 1; p < end; p++) {
		if (*p == '\0')
			goto done;
		if (*p != '\\') {
			nf_buf_putc(&path, *p);
			continue;
		}
		if (++p == end)
			goto done;
		if (*p == '\\')
			nf_buf_putc(&path, '\\');
		else if (*p == 'n')
			nf_buf_putc(&path, '\n');
		else
			goto done;
	}
	if (!safe_path(nf_buf_cstr(&path)))
		goto done;
	if (m->n && strcmp(m->entries[m->n - 1].path, path.buf) >= 0)
		goto done;
	add_entry(m, path.buf, mode, perm, size, sha);
	err = 0;
done:
	nf_buf_release(&path);
	return err;
}

int
nf_manifest_parse(nf_manifest *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t hlen = strlen(MANIFEST_HEADER_V1);
	int version;

	if (len >= hlen && memcmp(text, MANIFEST_HEADER_V1, hlen) == 0)
		version = NF_MANIFEST_V1;
	else if (len >= hlen && memcmp(text, MANIFEST_HEADER_V2, hlen) == 0)
		version = NF_MANIFEST_V2;
	else
		return nf_error_set(NF_ECORRUPT, "not an ntflow manifest");
	for (p += hlen; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl || parse_line(m, p, (size_t)(nl - p), version) < 0) {
			nf_manifest_release(m);
			return nf_error_set(NF_ECORRUPT, "damaged manifest line: %.*s",
					    (int)((nl ? nl : end) - p > 200 ? 200 : (nl ? nl : end) - p), p);
		}
		p = nl + 1;
	}
	return 0;
}

void
nf_manifest_release(nf_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->entries[i].path);
	free(m->entries);
	m->entries = NULL;
	m->n = m->cap = 0;
}
