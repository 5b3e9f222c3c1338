/* signals-child.c: a child's signals back to their defaults before it execs, for the
 * stages (ntflow-spawn's child: only the signals the spawner does not leave at their
 * default) and the hooks and the spawner itself (every signal). A file of its own because
 * ntflow-spawn links libc and this, nothing else of ntflow's. */
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

/* nf_signals_reset_child for a parent whose dispositions are fixed and known: only the
 * signals of sigs back to SIG_DFL, then the mask emptied. execve resets every caught signal
 * by itself; ignored ones and the mask survive it. A caught signal is reset here all the
 * same: once the mask is empty, a signal pending before execve would run the parent's
 * handler in a vfork child. Async-signal-safe, no allocation. */
void
nf_signals_reset_some(const sigset_t *sigs)
{
	struct sigaction sa = { 0 };
	sigset_t none;

	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(sigs, sig) == 1)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}
