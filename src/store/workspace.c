/* workspace.c: where a pipeline's .ntflow/ lives: --state DIR, else $NTFLOW_STATE, else
 * the root of the git repository holding the DAG file (or the current directory), else
 * beside the file. Every command resolves it the same way so run, runs and show agree. */
#include "config.h"
#include "ntflow/store.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The absolute directory a lookup starts from: the DAG file's, or the current one. */
static int
start_dir(char **out, const char *dag_path)
{
	char *copy, *slash, *abs;

	*out = NULL;
	if (!dag_path) {
		if (!(abs = getcwd(NULL, 0)))
			return nf_error_set_errno(NF_EIO, "cannot find the current directory");
		*out = abs;
		return 0;
	}
	/* The file's real path first (as the project root is found, so a symlinked DAG file
	 * gets the workspace of the repository it really lives in); its folder when the file
	 * does not exist yet. */
	if ((abs = realpath(dag_path, NULL))) {
		slash = strrchr(abs, '/');
		*(slash == abs ? slash + 1 : slash) = '\0';
		*out = abs;
		return 0;
	}
	copy = xstrdup(dag_path);
	slash = strrchr(copy, '/');
	if (!slash)
		strcpy(copy, ".");
	else if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	abs = realpath(copy, NULL);
	if (!abs) {
		int err = nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO,
					     "cannot find the directory of '%s'", dag_path);
		free(copy);
		return err;
	}
	free(copy);
	*out = abs;
	return 0;
}

/* The nearest directory from dir upwards holding .git (a folder, or a file in worktrees
 * and submodules), or NULL. */
static char *
git_root(const char *dir)
{
	char *d = xstrdup(dir);

	for (;;) {
		char *git = xasprintf("%s/.git", strcmp(d, "/") == 0 ? "" : d);
		struct stat sb;
		bool found = stat(git, &sb) == 0;
		char *slash;

		free(git);
		if (found)
			return d;
		if (strcmp(d, "/") == 0 || !(slash = strrchr(d, '/')))
			break;
		if (slash == d)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(d);
	return NULL;
}

int
nf_workspace_resolve(char **state_dir, const char *dag_path, const char *override)
{
	const char *env = getenv("NTFLOW_STATE");
	char *root;
	int err;

	*state_dir = NULL;
	if (override && *override) {
		*state_dir = xstrdup(override);
		return 0;
	}
	if (env && *env) {
		*state_dir = xstrdup(env);
		return 0;
	}
	if ((err = nf_workspace_root(&root, dag_path)) < 0)
		return err;
	*state_dir = xasprintf("%s/.ntflow", strcmp(root, "/") == 0 ? "" : root);
	free(root);
	return 0;
}

int
nf_workspace_root(char **root, const char *dag_path)
{
	char *dir = NULL, *git;
	int err;

	*root = NULL;
	if ((err = start_dir(&dir, dag_path)) < 0)
		return err;
	if ((git = git_root(dir))) {
		free(dir);
		dir = git;
	}
	*root = dir;
	return 0;
}

int
nf_workspace_make_private(const char *state_dir, bool create)
{
	struct stat sb;
	int err;

	if (create && mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		char *parent = xstrdup(state_dir), *slash = strrchr(parent, '/');

		err = 0;
		if (errno == ENOENT && slash && slash != parent) {
			*slash = '\0';
			err = nf_mkdir_p(parent, 0777);
		}
		free(parent);
		if (err < 0)
			return err;
		if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
			return nf_error_set_errno(NF_EIO, "cannot create directory '%s'", state_dir);
	}
	/* Older workspaces were made 0755 under the usual umask; tightened on the first open. */
	if (stat(state_dir, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 077) && sb.st_uid == geteuid())
		(void)chmod(state_dir, sb.st_mode & 07700);
	return 0;
}

static int
open_workspace(nf_store **out, char **state_dir, const char *dag_path, const char *override, bool create,
	       bool read)
{
	char *dir = NULL, *path = NULL;
	int err;

	*out = NULL;
	if (state_dir)
		*state_dir = NULL;
	if ((err = nf_workspace_resolve(&dir, dag_path, override)) < 0)
		goto done;
	if ((err = nf_workspace_make_private(dir, create)) < 0)
		goto done;
	path = xasprintf("%s/state.db", dir);
	err = read ? nf_store_open_read(out, path) : nf_store_open(out, path, create);
	if (err == NF_ENOTFOUND)
		err = nf_error_set(NF_ENOTFOUND, "no runs yet in %s", dir);
	if (err < 0)
		goto done;
	if (state_dir) {
		*state_dir = dir;
		dir = NULL;
	}
done:
	free(path);
	free(dir);
	return err;
}

int
nf_store_open_workspace(nf_store **out, char **state_dir, const char *dag_path,
			const char *override, bool create)
{
	return open_workspace(out, state_dir, dag_path, override, create, false);
}

int
nf_store_open_workspace_read(nf_store **out, char **state_dir, const char *dag_path, const char *override)
{
	return open_workspace(out, state_dir, dag_path, override, false, true);
}
