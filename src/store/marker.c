/* marker.c: the workspace marker, STATE_DIR/WORKSPACE. A workspace that has held a run says
 * so outside its database: the marker names the store's identity (a random UUID the schema
 * made once, table meta) and the head of the audit chain when a run last began or ended. A
 * state.db that is then missing, emptied or replaced by another workspace's is refused
 * (NF_EDAMAGED) instead of being taken for a new workspace whose history is empty, and
 * `ntflow doctor` checks the database against it (the chain must still hold that record).
 *
 * The file is a few "key value" lines after a first line that says what it is; it is
 * written through a temporary file, fsync'ed and renamed into place, so it is always whole.
 * The rename is not synced (one sync less at each run's end): a crash that loses it leaves
 * the marker before, whose store is the same and whose audit record the chain still holds;
 * one that loses the first leaves none, as before the first run, until the next run's
 * start writes it. Keys it does not know are ignored. */
#include "config.h"
#include "ntflow/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-internal.h"

#define MARKER_HEAD "ntflow workspace"
#define MARKER_MAX 4096

char *
nf_store__state_dir(const char *db_path)
{
	const char *slash = strrchr(db_path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == db_path)
		return xstrdup("/");
	return xstrndup(db_path, (size_t)(slash - db_path));
}

char *
nf_ws_marker_path(const char *state_dir)
{
	return xasprintf("%s/WORKSPACE", state_dir);
}

int
nf_ws_marker_read(nf_ws_marker *m, const char *state_dir)
{
	char *path = nf_ws_marker_path(state_dir), *text = NULL, *line, *save = NULL;
	size_t len;
	int err;

	memset(m, 0, sizeof(*m));
	if ((err = nf_read_file(&text, &len, path, MARKER_MAX)) < 0) {
		if (err != NF_ENOTFOUND)
			err = nf_error_set(NF_EDAMAGED, "cannot read the workspace marker '%s': %s", path,
					   nf_error_last());
		goto done;
	}
	line = strtok_r(text, "\n", &save);
	if (!line || strcmp(line, MARKER_HEAD) != 0) {
		err = nf_error_set(NF_EDAMAGED, "'%s' is not an ntflow workspace marker", path);
		goto done;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *sp = strchr(line, ' ');

		if (!sp)
			continue;
		*sp++ = '\0';
		if (strcmp(line, "store") == 0)
			snprintf(m->store_id, sizeof(m->store_id), "%s", sp);
		else if (strcmp(line, "audit-seq") == 0)
			m->audit_seq = strtoll(sp, NULL, 10);
		else if (strcmp(line, "audit-hash") == 0)
			snprintf(m->audit_hash, sizeof(m->audit_hash), "%s", sp);
	}
	if (!m->store_id[0])
		err = nf_error_set(NF_EDAMAGED, "the workspace marker '%s' names no store", path);
done:
	free(text);
	free(path);
	return err;
}

int
nf_ws_marker_write(const char *state_dir, const nf_ws_marker *m)
{
	char *path = nf_ws_marker_path(state_dir), *text;
	int err;

	text = xasprintf(MARKER_HEAD "\n"
			 "# This folder has held ntflow runs; its state.db must be the store named here.\n"
			 "store %s\naudit-seq %" PRId64 "\naudit-hash %s\n",
			 m->store_id, m->audit_seq, m->audit_hash[0] ? m->audit_hash : "-");
	if ((err = nf_write_file_atomic(path, text, strlen(text))) < 0) {
		int saved = errno;
		char *why = xstrdup(nf_error_last());

		errno = saved;
		err = nf_error_set(NF_EIO, "cannot write the workspace marker: %s", why);
		if (saved == ENOSPC || saved == EDQUOT) {
			char *fs = nf_fs_describe(state_dir);

			err = nf_error_set(NF_EIO, "cannot write the workspace marker: %s (%s)", why, fs);
			free(fs);
		}
		free(why);
	}
	free(text);
	free(path);
	return err;
}

int
nf_store_id(nf_store *st, char out[NF_STORE_ID_SIZE])
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	out[0] = '\0';
	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'store_id'", -1, &q, NULL);
	if (rc != SQLITE_OK) {
		err = strstr(sqlite3_errmsg(st->db), "no such table")
			? nf_error_set(NF_ENOTFOUND, "'%s' has no store id yet", st->path)
			: nf_store__error(st, rc, "cannot read the store's id");
		goto done;
	}
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		snprintf(out, NF_STORE_ID_SIZE, "%s", (const char *)sqlite3_column_text(q, 0));
	} else if (rc == SQLITE_DONE) {
		err = nf_error_set(NF_ENOTFOUND, "'%s' has no store id yet", st->path);
	} else {
		err = nf_store__error(st, rc, "cannot read the store's id");
	}
done:
	sqlite3_finalize(q);
	return err;
}

int
nf_store_audit_head(nf_store *st, int64_t *seq, char hash[65])
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	*seq = 0;
	hash[0] = '\0';
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &q,
				     NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot read the audit log");
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(q, 0);
		snprintf(hash, 65, "%s", sqlite3_column_text(q, 1) ? (const char *)sqlite3_column_text(q, 1) : "");
	} else if (rc != SQLITE_DONE) {
		err = nf_store__error(st, rc, "cannot read the audit log");
	}
	sqlite3_finalize(q);
	return err;
}

int
nf_store_audit_hash_at(nf_store *st, int64_t seq, char hash[65])
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	hash[0] = '\0';
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT hash FROM audit WHERE seq = ?", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, seq);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		snprintf(hash, 65, "%s", sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : "");
	else if (rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "no audit record %lld", (long long)seq);
	else
		err = nf_store__error(st, rc, "cannot read the audit log");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_mark_workspace(nf_store *st)
{
	nf_ws_marker m;
	char *dir;
	int err;

	if (strcmp(st->path, ":memory:") == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	if ((err = nf_store_id(st, m.store_id)) < 0 ||
	    (err = nf_store_audit_head(st, &m.audit_seq, m.audit_hash)) < 0)
		return err;
	dir = nf_store__state_dir(st->path);
	err = nf_ws_marker_write(dir, &m);
	free(dir);
	return err;
}

int
nf_store__marker_check_file(const char *db_path)
{
	char *dir = nf_store__state_dir(db_path), *mpath = nf_ws_marker_path(dir);
	nf_ws_marker m;
	struct stat sb;
	int err;

	if ((err = nf_ws_marker_read(&m, dir)) < 0) {
		if (err == NF_ENOTFOUND)
			err = 0;   /* no run yet: a missing database is a new workspace */
		goto done;
	}
	if (stat(db_path, &sb) < 0 ? errno == ENOENT : sb.st_size == 0)
		err = nf_error_set(NF_EDAMAGED, "'%s' is missing or empty, but this workspace has held runs "
				   "(store %.8s, last audit record %lld); restore it from a backup, or remove "
				   "'%s' to start afresh", db_path, m.store_id, (long long)m.audit_seq, mpath);
done:
	free(mpath);
	free(dir);
	return err;
}

int
nf_store__marker_check_id(nf_store *st)
{
	char *dir = nf_store__state_dir(st->path), *mpath = nf_ws_marker_path(dir);
	char id[NF_STORE_ID_SIZE];
	nf_ws_marker m;
	int err;

	if ((err = nf_ws_marker_read(&m, dir)) < 0) {
		if (err == NF_ENOTFOUND)
			err = 0;
		goto done;
	}
	if ((err = nf_store_id(st, id)) < 0) {
		if (err == NF_ENOTFOUND)   /* a schema older than the marker: a read-only look */
			err = 0;
		goto done;
	}
	if (strcmp(id, m.store_id) != 0)
		err = nf_error_set(NF_EDAMAGED, "'%s' is not this workspace's state database: it is store %.8s, but "
				   "'%s' names store %.8s (last audit record %lld); restore the right database, "
				   "or remove '%s' to adopt this one", st->path, id, mpath, m.store_id,
				   (long long)m.audit_seq, mpath);
done:
	free(mpath);
	free(dir);
	return err;
}
