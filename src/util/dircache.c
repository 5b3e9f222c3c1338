/* dircache.c: the folders beneath the project root that hold outputs, each opened once
 * (nf_path_open's checks: no link, not outside the root) and reused, for as long as nothing
 * can have changed the tree. A fully cached rerun looks at every output in place: without
 * this it opened the root and walked to the same folder again for each one. */
#include "config.h"
#include "ntflow/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Open folders kept at most: a pipeline with outputs in more folders starts over rather
 * than use up the process's file descriptors. */
#define DIRCACHE_MAX 64

typedef struct dir_entry {
	char *folder;               /* normalized, "" for the root itself */
	int fd;
} dir_entry;

struct nf_dircache {
	char *root;
	int rootfd;                 /* root's folder, the caller's (-1: opened by each walk) */
	dir_entry ents[DIRCACHE_MAX];
	size_t n;
	bool off;                   /* stopped: every open goes to nf_path_open */
	size_t hits;
};

nf_dircache *
nf_dircache_new_at(const char *root, int rootfd)
{
	nf_dircache *c = xcalloc(1, sizeof(*c));

	c->root = xstrdup(root);
	c->rootfd = rootfd;
	return c;
}

nf_dircache *
nf_dircache_new(const char *root)
{
	return nf_dircache_new_at(root, -1);
}

static void
close_all(nf_dircache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		close(c->ents[i].fd);
		free(c->ents[i].folder);
	}
	c->n = 0;
}

void
nf_dircache_free(nf_dircache *c)
{
	if (!c)
		return;
	close_all(c);
	free(c->root);
	free(c);
}

void
nf_dircache_clear(nf_dircache *c)
{
	if (c)
		close_all(c);
}

void
nf_dircache_stop(nf_dircache *c)
{
	if (!c)
		return;
	close_all(c);
	c->off = true;
}

bool
nf_dircache_stopped(const nf_dircache *c)
{
	return !c || c->off;
}

size_t
nf_dircache_hits(const nf_dircache *c)
{
	return c ? c->hits : 0;
}

int
nf_dircache_open(nf_dircache *c, int *dirfd, const char **name, char **norm, const char *path, const char *what,
		 unsigned flags)
{
	const char *slash;
	size_t flen;
	int err;

	if (nf_dircache_stopped(c))
		return nf_path_open(dirfd, name, norm, c ? c->root : ".", path, what, flags);
	*dirfd = -1;
	*name = NULL;
	/* The lexical checks (and a ".." through a link) each time: they cost no folder walk. */
	if ((err = nf_path_beneath(norm, c->root, path, what)) < 0)
		return err;
	slash = strrchr(*norm, '/');
	flen = slash ? (size_t)(slash - *norm) : 0;
	for (size_t i = 0; i < c->n; i++) {
		if (strlen(c->ents[i].folder) == flen && strncmp(c->ents[i].folder, *norm, flen) == 0) {
			*dirfd = c->ents[i].fd;
			*name = slash ? slash + 1 : *norm;
			c->hits++;
			return 0;
		}
	}
	free(*norm);
	*norm = NULL;
	if ((err = nf_path_open_at(dirfd, name, norm, c->rootfd, c->root, path, what, flags)) < 0)
		return err;
	if (c->n == DIRCACHE_MAX)
		close_all(c);
	c->ents[c->n].folder = xstrndup(*norm, flen);
	c->ents[c->n].fd = *dirfd;
	c->n++;
	return 0;
}

void
nf_dircache_release(const nf_dircache *c, int dirfd)
{
	if (dirfd < 0)
		return;
	for (size_t i = 0; c && i < c->n; i++)
		if (c->ents[i].fd == dirfd)
			return;   /* kept for the next output in that folder */
	close(dirfd);
}
