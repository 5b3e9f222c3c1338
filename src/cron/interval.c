/* interval.c: the fire time before a given one, and the interval a fire time closes: a
 * scheduled run stands for [previous fire, its fire), as Airflow's data intervals do. */
#include "config.h"
#include "ntflow/cron.h"

#include "ntflow/util.h"

#define YEARS_400 (400LL * 366 * 86400)

int
nf_cron_prev(const nf_cron *c, const nf_tz *tz, int64_t before, int64_t *prev)
{
	/* Search a window before `before` that doubles until a fire time falls in it, then walk
	 * forward to the last one: about as many steps as fire times in twice the gap. */
	for (int64_t w = 3600; w <= YEARS_400; w *= 2) {
		int64_t t, n;
		int err = nf_cron_next(c, tz, before - w - 1, &t);

		if (err < 0 && err != NF_ENOTFOUND)
			return err;
		if (err < 0 || t >= before)
			continue;
		while (nf_cron_next(c, tz, t, &n) == 0 && n < before)
			t = n;
		*prev = t;
		return 0;
	}
	return nf_error_set(NF_ENOTFOUND, "no fire time found before %lld", (long long)before);
}

int
nf_cron_interval(const nf_cron *c, const nf_tz *tz, int64_t fire, nf_cron_span *out)
{
	int err = nf_cron_prev(c, tz, fire, &out->start);

	out->end = fire;
	return err;
}
