/* next.c: the next fire time of a cron expression. The search runs on wall-clock time (the
 * zone's local calendar), jumping field by field (to the next allowed month, day, hour,
 * minute), never minute by minute, so a rare schedule (29 FEB) costs a few hundred steps;
 * each wall-clock candidate is then placed on the real time line, where DST gaps and
 * overlaps are decided (cron.h). */
#include "config.h"
#include "cron-internal.h"

#include "ntflow/util.h"

/* A search for a wall time gives up after this many years (a schedule that can never fire
 * is refused by the parser; this is the backstop). */
#define SEARCH_YEARS 400

static bool
leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
days_in_month(int64_t y, int m)
{
	static const int n[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : n[m];
}

/* The lowest set bit of mask at or above from, or -1. */
static int
next_bit(uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	mask &= ~(uint64_t)0 << from;
	return mask ? __builtin_ctzll(mask) : -1;
}

/* Vixie's day rule: both day fields restricted: either matches; else both must. */
static bool
day_matches(const nf_cron *c, int64_t y, int m, int d)
{
	int64_t days = nf_cron__days_from_civil(y, m, d);
	int wd = (int)(((days % 7) + 11) % 7);  /* 1970-01-01 was a Thursday (4) */
	bool dom = c->dom >> d & 1, dow = c->dow >> wd & 1;

	return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

/* The first wall time at or after *wall (seconds of the local calendar counted as if it
 * were UTC, a whole minute) that c allows, in *wall. */
static int
next_wall(const nf_cron *c, int64_t *wall)
{
	int64_t days = nf_cron__floor_div(*wall, 86400), secs = *wall - days * 86400, y, limit;
	int m, d, h = (int)(secs / 3600), mi = (int)(secs / 60 % 60), b;

	nf_cron__civil_from_days(days, &y, &m, &d);
	limit = y + SEARCH_YEARS;
	while (y <= limit) {
		if ((b = next_bit(c->month, m)) < 0) {
			y++, m = 1, d = 1, h = 0, mi = 0;
			continue;
		}
		if (b != m) {
			m = b, d = 1, h = 0, mi = 0;
			continue;
		}
		if (d > days_in_month(y, m)) {
			m++, d = 1, h = 0, mi = 0;
			if (m > 12)
				y++, m = 1;
			continue;
		}
		if (!day_matches(c, y, m, d)) {
			d++, h = 0, mi = 0;
			continue;
		}
		if ((b = next_bit(c->hour, h)) < 0) {
			d++, h = 0, mi = 0;
			continue;
		}
		if (b != h) {
			h = b, mi = 0;
			continue;
		}
		if ((b = next_bit(c->minute, mi)) < 0) {
			h++, mi = 0;
			if (h > 23)
				d++, h = 0;
			continue;
		}
		*wall = nf_cron__days_from_civil(y, m, d) * 86400 + h * 3600 + b * 60;
		return 0;
	}
	return nf_error_set(NF_ENOTFOUND, "the schedule does not fire within %d years", SEARCH_YEARS);
}

/* The instant at which wall time `wall` fires: its first occurrence, or after a gap the
 * first whole minute from the change on. Assumes at most one offset change within a day of
 * it, as every zone of the database has. */
int64_t
nf_cron__place(const nf_cron_zone *z, int64_t wall)
{
	int64_t o1 = nf_cron__offset(z, wall - 86400), o2 = nf_cron__offset(z, wall + 86400);
	int64_t best = INT64_MAX, lo, hi, before;

	for (int k = 0; k < 2; k++) {
		int64_t t = wall - (k ? o2 : o1);

		if (t + nf_cron__offset(z, t) == wall && t < best)
			best = t;
	}
	if (best != INT64_MAX)
		return best;
	/* A gap: wall lies between the last wall time before the change and the first after.
	 * The change is in (wall - max offset, wall - min offset]: find it by bisection. */
	lo = wall - (o1 > o2 ? o1 : o2);
	hi = wall - (o1 > o2 ? o2 : o1);
	before = nf_cron__offset(z, lo);
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (nf_cron__offset(z, mid) == before)
			lo = mid;
		else
			hi = mid;
	}
	return nf_cron__floor_div(hi + 59, 60) * 60;
}

int
nf_cron_next(const nf_cron *c, const nf_tz *tz, int64_t after, int64_t *next)
{
	nf_cron_zone z;
	int64_t wall;
	int err;

	if ((err = nf_cron__zone_there(tz)) < 0)
		return err;
	nf_cron__enter(&z, tz);
	wall = nf_cron__floor_div(after + nf_cron__offset(&z, after), 60) * 60 + 60;
	/* Candidates whose first occurrence is already past (the rest of an overlap, when
	 * `after` is in its second pass) are stepped over; a bounded number, however rare. */
	for (int i = 0;; i++) {
		int64_t t;

		if (i == 100000) {
			err = nf_error_set(NF_ENOTFOUND, "no fire time found after %lld", (long long)after);
			break;
		}
		if ((err = next_wall(c, &wall)) < 0)
			break;
		if ((t = nf_cron__place(&z, wall)) > after) {
			*next = t;
			break;
		}
		wall += 60;
	}
	nf_cron__leave(&z);
	return err;
}
