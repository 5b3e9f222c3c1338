/* thread.c: the helper threads' start, with every signal blocked in them, so that a run's
 * handlers and signalfd stay the main thread's (src/util/statahead.c, src/store/ahead.c). */
#include "config.h"
#include "ntflow/util.h"

#include <signal.h>

int
nf_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err == 0 ? 0 : NF_ERROR;
}
