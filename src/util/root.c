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
