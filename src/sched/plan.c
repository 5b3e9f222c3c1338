/* plan.c: the scheduler's decisions for one pipeline at one time, from its policy and the
 * end of the last interval it decided: pure functions of their arguments. */
#include "config.h"
#include "ntflow/sched.h"

#include "ntflow/util.h"

/* The fire times in [from, to), counted up to NF_SCHED_COUNT_MAX. */
static int64_t
count_fires(const nf_sched_policy *p, int64_t from, int64_t to)
{
	int64_t n = 0, t = from;

	while (t < to && n < NF_SCHED_COUNT_MAX) {
		n++;
		if (nf_cron_next(&p->cron, &p->tz, t, &t) < 0)
			break;
	}
	return n;
}

int64_t
nf_sched_deadline_wait(const nf_sched_policy *p, int64_t fire, int64_t now)
{
	if (p->deadline <= 0)
		return 0;
	if (now > fire + p->deadline)
		return -1;
	return fire + p->deadline - now > 1 ? fire + p->deadline - now : 1;
}

int
nf_sched_decide(const nf_sched_policy *p, int64_t last_end, int64_t now, int64_t since, int active,
		nf_sched_act *out)
{
	int64_t fire, latest, start;
	int err;

	*out = (nf_sched_act){ .kind = NF_SA_NONE, .wake = INT64_MAX };
	if ((err = nf_cron_next(&p->cron, &p->tz, last_end, &fire)) < 0)
		return err;
	if (fire > now) {
		out->wake = fire;
		return 0;
	}
	if (!p->catchup) {
		/* Every interval due but the newest is skipped: one run stands for them all. */
		if ((err = nf_cron_prev(&p->cron, &p->tz, now + 1, &latest)) < 0)
			return err;
		if (latest > fire) {
			int64_t latest_start;

			if ((err = nf_cron_prev(&p->cron, &p->tz, latest, &latest_start)) < 0 ||
			    (err = nf_cron_prev(&p->cron, &p->tz, fire, &start)) < 0)
				return err;
			out->kind = NF_SA_SKIP;
			out->span = (nf_cron_span){ start, latest_start };
			out->count = count_fires(p, fire, latest);
			out->last_end = latest_start;
			out->why = "catchup = false";
			return 0;
		}
	}
	if ((err = nf_cron_interval(&p->cron, &p->tz, fire, &out->span)) < 0)
		return err;
	if (nf_sched_deadline_wait(p, fire, now) < 0) {
		out->kind = NF_SA_MISSED;
		out->last_end = fire;
		return 0;
	}
	if (active >= p->max_active) {
		if (p->overlap_skip) {
			out->kind = NF_SA_SKIP;
			out->count = 1;
			out->last_end = fire;
			out->why = "overlap = skip";
		} else {
			out->kind = NF_SA_WAIT;
			/* past the deadline it is missed instead: look again then */
			out->wake = p->deadline > 0 ? fire + p->deadline + 1 : INT64_MAX;
		}
		return 0;
	}
	out->kind = NF_SA_START;
	out->last_end = fire;
	out->catchup = fire < since;
	return 0;
}

nf_sched_alert_act
nf_sched_alert_decide(const nf_sched_policy *p, int64_t now, int64_t last_alert, int active, int64_t *until)
{
	*until = 0;
	if (last_alert > 0 && p->cooldown > 0 && now < last_alert + p->cooldown) {
		*until = last_alert + p->cooldown;
		return NF_SAA_SUPPRESS;
	}
	if (active >= p->max_active)
		return NF_SAA_WAIT;
	return NF_SAA_START;
}
