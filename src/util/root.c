/* root.c: where a pipeline's project lives: the top of the git work tree holding the DAG
 * file (stages run there and the file's paths are relative to it), else the file's folder. */
#include "config.h"
#include "ntflow/util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *
nf_project_root(const char *dag_path)
{
	char *abs = realpath(dag_path, NULL);
	char *dir, *slash;
	struct stat sb;

	if (!abs)
		return NULL;
	if ((slash = strrchr(abs, '/')))
		*(slash == abs ? slash + 1 : slash) = '\0';
	dir = xstrdup(abs);
	for (;;) {
		char *git = xasprintf("%s/.git", abs);
		bool found = stat(git, &sb) == 0;

		free(git);
		if (found) {
			free(dir);
			return abs;
		}
		if (strcmp(abs, "/") == 0)
			break;
		slash = strrchr(abs, '/');
		*(slash == abs ? slash + 1 : slash) = '\0';
	}
	free(abs);
	return dir;
}

char *
nf_state_dir_canon(const char *state_dir)
{
	size_t len = strlen(state_dir);
	char *copy, *slash, *parent, *out;
	const char *base;

	while (len > 1 && state_dir[len - 1] == '/')
		len--;
	copy = xstrndup(state_dir, len);
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		out = realpath(copy, NULL);   /* no name of its own to keep */
		if (!out)
			out = xstrdup(copy);
		free(copy);
		return out;
	}
	if (slash == copy)
		parent = xstrdup("/");
	else if (slash) {
		*slash = '\0';
		parent = realpath(copy, NULL);
	} else {
		parent = realpath(".", NULL);
	}
	if (!parent) {
		out = xstrdup(state_dir);
	} else {
		out = xasprintf("%s/%s", strcmp(parent, "/") ? parent : "", base);
	}
	free(parent);
	free(copy);
	return out;
}
