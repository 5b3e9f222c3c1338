/* signals-child.c: a child's signals back to their defaults before it execs, for the
 * stages (ntflow-spawn's child) and the hooks alike. A file of its own because ntflow-spawn
 * links libc and this, nothing else of ntflow's. */
#include "config.h"
#include "ntflow/exec.h"

#include <signal.h>

/* Runs in a vfork child: only async-signal-safe calls. execve would reset caught signals
 * anyway, but ignored ones (SIGPIPE, SIGINT under nohup) and the mask survive it. */
void
nf_signals_reset_child(void)
{
	struct sigaction sa = { 0 };
	sigset_t none;

	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);   /* EINVAL for KILL, STOP and libc's own: fine */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}
