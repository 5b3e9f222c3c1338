/* manifest.c: the canonical listing of a folder, whose SHA-256 is both the content identity
 * of a folder git does not see and the "dir:" digest of a folder in the object store.
 *
 * Format (UTF-8 or any bytes, one entry per line, sorted by path with strcmp):
 *
 *     ntflow-manifest 1
 *     100644 12 9f86d0...(64 hex) data/a.csv
 *     100755 30 5e8848...         run.sh
 *     120000 7 2cf24d...          latest          (size and sha256 of the link's target text)
 *     040000 0 -                  logs/empty      (an empty folder; folders with content are implied)
 *
 * Fields are separated by one space; the path is the rest of the line, relative, with '\'
 * written "\\" and a newline "\n". Modes are git's, so only the executable bit of a file is
 * kept. Nothing else (times, owners) is part of the manifest: two folders with the same
 * files, links and empty folders have the same manifest, hence the same digest. */
#include "config.h"
#include "cache-internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_HEADER "ntflow-manifest 1\n"

static void
add_entry(nf_manifest *m, const char *path, unsigned mode, uint64_t size, const char *sha)
{
	nf_manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = xstrdup(path);
	e.mode = mode;
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

/* Hashes a symlink's target text, as git does for a 120000 entry. */
static int
hash_link(char sha[65], uint64_t *size, const char *abs, const struct stat *st)
{
	size_t cap = st->st_size > 0 ? (size_t)st->st_size + 1 : 256;
	char *target = NULL;
	ssize_t n;
	int err = 0;

	for (;;) {
		target = xrealloc(target, cap);
		if ((n = readlink(abs, target, cap)) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot read the link '%s'", abs);
			goto done;
		}
		if ((size_t)n < cap)
			break;
		cap *= 2;
	}
	nf_sha256_buf(sha, target, (size_t)n);
	*size = (uint64_t)n;
done:
	free(target);
	return err;
}

/* Adds the entries under abs (whose relative path is rel, "" for the top) to m. */
static int
scan_dir(nf_manifest *m, nf_buf *abs, nf_buf *rel, const char *const *skip,
	 nf_manifest_hash_fn hash_file, void *ctx)
{
	DIR *d;
	struct dirent *de;
	size_t abs_len = abs->len, rel_len = rel->len, before = m->n;
	int err = 0;

	if (!(d = opendir(nf_buf_cstr(abs))))
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO,
					  "cannot open the folder '%s'", nf_buf_cstr(abs));
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
		if (lstat(abs->buf, &st) < 0) {
			err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", abs->buf);
			goto done;
		}
		if (S_ISDIR(st.st_mode)) {
			if ((err = scan_dir(m, abs, rel, skip, hash_file, ctx)) < 0)
				goto done;
		} else if (S_ISREG(st.st_mode)) {
			if ((err = hash_file(ctx, sha, abs->buf, &st)) < 0)
				goto done;
			add_entry(m, rel->buf, (st.st_mode & S_IXUSR) ? NF_MODE_EXEC : NF_MODE_FILE,
				  (uint64_t)st.st_size, sha);
		} else if (S_ISLNK(st.st_mode)) {
			if ((err = hash_link(sha, &size, abs->buf, &st)) < 0)
				goto done;
			add_entry(m, rel->buf, NF_MODE_LINK, size, sha);
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
		add_entry(m, rel->buf, NF_MODE_DIR, 0, NULL);
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
nf_manifest_scan(nf_manifest *m, const char *abs_dir, const char *const *skip,
		 nf_manifest_hash_fn hash_file, void *ctx)
{
	nf_buf abs = NF_BUF_INIT, rel = NF_BUF_INIT;
	int err;

	nf_buf_puts(&abs, abs_dir);
	while (abs.len > 1 && abs.buf[abs.len - 1] == '/')
		abs.buf[--abs.len] = '\0';
	err = scan_dir(m, &abs, &rel, skip, hash_file, ctx);
	if (err == 0 && m->n)
		qsort(m->entries, m->n, sizeof(*m->entries), entry_cmp);
	nf_buf_release(&abs);
	nf_buf_release(&rel);
	return err;
}

void
nf_manifest_format(nf_buf *out, const nf_manifest *m)
{
	nf_buf_puts(out, MANIFEST_HEADER);
	for (size_t i = 0; i < m->n; i++) {
		const nf_manifest_entry *e = &m->entries[i];

		nf_buf_printf(out, "%06o %llu %s ", e->mode, (unsigned long long)e->size,
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
parse_line(nf_manifest *m, const char *line, size_t len)
{
	char mode_s[8], sha[65];
	unsigned mode;
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
	if (*num_end || (mode != NF_MODE_FILE && mode != NF_MODE_EXEC && mode != NF_MODE_LINK &&
			 mode != NF_MODE_DIR))
		goto done;
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
	add_entry(m, path.buf, mode, size, sha);
	err = 0;
done:
	nf_buf_release(&path);
	return err;
}

int
nf_manifest_parse(nf_manifest *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t hlen = strlen(MANIFEST_HEADER);

	if (len < hlen || memcmp(text, MANIFEST_HEADER, hlen) != 0)
		return nf_error_set(NF_ECORRUPT, "not an ntflow manifest");
	for (p += hlen; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl || parse_line(m, p, (size_t)(nl - p)) < 0) {
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
