/* time.c: milliseconds on the monotonic and the real-time clocks; the check of a calendar date. */
#include "config.h"
#include "ntflow/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
nf_now_monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
nf_now_realtime_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/* One check for every command that takes a logical date (report drift --from/--to,
 * violations --since), so that they agree on which dates can be. */
bool
nf_date_ok(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return d <= 29;
	return d <= mdays[m - 1];
}
