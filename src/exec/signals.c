/* signals.c: the self-pipe that turns SIGCHLD, SIGINT and SIGTERM into readable bytes, so the
 * event loop can watch one descriptor and never miss a signal that arrives between a check
 * and the sleep. Interrupts are also counted, so the scheduler can
 * tell a first Ctrl-C (cancel gracefully) from a second (kill now). */
#include "config.h"
#include "ntflow/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

static int pipe_fds[2] = { -1, -1 };
static bool installed;
/* SIGINT/SIGTERM seen by the handler, and how many of them were already taken. */
static volatile sig_atomic_t interrupts;
static sig_atomic_t taken;

static void
on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGCHLD ? 'c' : 'i';
	ssize_t r;

	if (sig != SIGCHLD)
		interrupts = interrupts + 1;   /* handlers mask each other (sa_mask is full) */
	/* A full pipe already holds a wake-up, so EAGAIN loses nothing. */
	r = write(pipe_fds[1], &c, 1);
	(void)r;
	errno = saved;
}

int
nf_signals_install(void)
{
	static const int sigs[] = { SIGCHLD, SIGINT, SIGTERM };
	struct sigaction sa = { 0 };

	if (installed)
		return 0;
	if (pipe_fds[0] < 0 && pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return nf_error_set_errno(NF_ERROR, "cannot create the signal pipe");
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < NF_ARRAY_SIZE(sigs); i++) {
		/* SA_RESTART everywhere: the loop is woken by the pipe, not by EINTR (ppoll
		 * returns EINTR regardless), and other code (SQLite, stdio) must not see
		 * spurious EINTR. SIGINT is caught even when inherited as ignored (a job started
		 * with `&` by a non-interactive shell), so `kill -INT` always cancels a run. */
		sa.sa_flags = SA_RESTART | (sigs[i] == SIGCHLD ? SA_NOCLDSTOP : 0);
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return nf_error_set_errno(NF_ERROR, "cannot install a handler for signal %d",
						  sigs[i]);
	}
	installed = true;
	return 0;
}

int
nf_signals_fd(void)
{
	return pipe_fds[0];
}

void
nf_signals_drain(void)
{
	char buf[64];

	if (pipe_fds[0] < 0)
		return;
	while (read(pipe_fds[0], buf, sizeof(buf)) > 0)
		;
}

int
nf_signals_pending(void)
{
	return interrupts - taken;
}

int
nf_signals_seen(void)
{
	return interrupts;
}

/* Counts only, never drains: the pipe's watcher (the local runner) drains it before it
 * reaps, so a SIGCHLD byte taken here could leave a child unreaped till the next one. */
int
nf_signals_take(void)
{
	int n = interrupts - taken;

	taken += n;
	return n;
}
