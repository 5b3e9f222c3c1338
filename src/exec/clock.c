/* clock.c: the system clock behind the nf_clock interface; the scheduler reads time only
 * through nf_clock so tests can drive it with a fake one. */
#include "config.h"
#include "ntflow/exec.h"

static int64_t
system_now_ms(nf_clock *c)
{
	(void)c;
	return nf_now_monotonic_ms();
}

static nf_clock system_clock = { system_now_ms, NULL };

nf_clock *
nf_clock_system(void)
{
	return &system_clock;
}
