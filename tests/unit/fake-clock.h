/* fake-clock.h: the virtual clock the unit suites drive the executor with (check_sched,
 * check_runobj): time is what `now` says, and the event loop, which never sleeps on it,
 * moves it to its next wake-up. */
#ifndef NTFLOW_TEST_FAKE_CLOCK_H
#define NTFLOW_TEST_FAKE_CLOCK_H

#include "ntflow/exec.h"

typedef struct fake_clock {
	nf_clock base;
	int64_t now;
} fake_clock;

static inline int64_t
fake_now(nf_clock *c)
{
	return ((fake_clock *)c)->now;
}

static inline void
fake_skip(nf_clock *c, int64_t when)
{
	if (when > ((fake_clock *)c)->now)
		((fake_clock *)c)->now = when;
}

/* A clock at `now` ms. */
static inline void
fake_clock_init(fake_clock *c, int64_t now)
{
	c->base.now_ms = fake_now;
	c->base.skip_to = fake_skip;
	c->now = now;
}

#endif
