/* control.c: the control channel of a run whose executor is a process of its own: a named
 * pipe STATE_DIR/executor/RUN.ctl the executor reads and any dashboard writes one line to
 * ("cancel", "cancel-node NAME", "retry-node NAME"). A FIFO because it is crash-safe for
 * free: opening it for writing without a reader fails (ENXIO), so a killed executor's
 * leftover file is no channel, and no pid is ever signalled on the strength of a file. */
#include "config.h"
#include "ntflow/run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/util.h"

#define LINE_MAX_LEN 512   /* below PIPE_BUF: a line written at once arrives whole */

char *
nf_run_executor_path(const char *state_dir, int64_t run_id, const char *ext)
{
	return xasprintf("%s/executor/%lld.%s", state_dir, (long long)run_id, ext);
}

int
nf_run_control_open(const char *state_dir, int64_t run_id, int *fd)
{
	char *dir = xasprintf("%s/executor", state_dir);
	char *path = nf_run_executor_path(state_dir, run_id, "ctl");
	int err = 0;

	*fd = -1;
	if (nf_mkdir_p(dir, 0700) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create '%s'", dir);
		goto done;
	}
	unlink(path);   /* a killed executor's, for a run id used again after a restore */
	if (mkfifo(path, 0600) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create '%s'", path);
		goto done;
	}
	/* Read and write: the reader never sees an end of file when a writer closes. */
	if ((*fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot open '%s'", path);
done:
	free(dir);
	free(path);
	return err;
}

void
nf_run_control_close(const char *state_dir, int64_t run_id, int fd)
{
	char *path = nf_run_executor_path(state_dir, run_id, "ctl");

	if (fd >= 0)
		close(fd);
	unlink(path);
	free(path);
}

/* One command line; what fails goes to on_error. */
static void
apply(nf_run_ctl *ctl, char *line, void (*on_error)(void *ctx, const char *msg), void *ctx)
{
	int err = 0;

	if (strcmp(line, "cancel") == 0)
		nf_run_ctl_cancel(ctl);
	else if (strncmp(line, "cancel-node ", 12) == 0)
		err = nf_run_ctl_cancel_node(ctl, line + 12);
	else if (strncmp(line, "retry-node ", 11) == 0)
		err = nf_run_ctl_retry_node(ctl, line + 11);
	else
		err = nf_error_set(NF_EINVALID, "unknown control command '%s'", line);
	if (err < 0 && on_error)
		on_error(ctx, nf_error_last());
}

void
nf_run_control_read(int fd, nf_run_ctl *ctl, void (*on_error)(void *ctx, const char *msg), void *ctx)
{
	char buf[4 * LINE_MAX_LEN];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		char *line = buf, *nl;

		buf[n] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if (*line)
				apply(ctl, line, on_error, ctx);
			line = nl + 1;
		}
	}
}

int
nf_run_control_send(const char *state_dir, int64_t run_id, const char *cmd, const char *node)
{
	char *path = nf_run_executor_path(state_dir, run_id, "ctl");
	char line[LINE_MAX_LEN];
	int fd, len, err = 0;

	len = snprintf(line, sizeof(line), "%s%s%s\n", cmd, node ? " " : "", node ? node : "");
	if (len < 0 || (size_t)len >= sizeof(line)) {
		free(path);
		return nf_error_set(NF_EINVALID, "node name too long for the control channel");
	}
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		err = errno == ENOENT || errno == ENXIO
			? nf_error_set(NF_ENOTFOUND, "run %lld has no executor to control (ended, or not started "
				       "with a dashboard or --detach)", (long long)run_id)
			: nf_error_set_errno(NF_EIO, "cannot open '%s'", path);
	} else {
		if (write(fd, line, (size_t)len) != len)
			err = nf_error_set_errno(NF_EIO, "cannot write to '%s'", path);
		close(fd);
	}
	free(path);
	return err;
}

bool
nf_run_control_available(const char *state_dir, int64_t run_id)
{
	char *path = nf_run_executor_path(state_dir, run_id, "ctl");
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	free(path);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}
