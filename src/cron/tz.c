/* tz.c: time zones of the system's tz database (checked by name here, read by the C
 * library's localtime_r with TZ set for the duration of a calculation), the calendar
 * arithmetic of src/cron, and UTC times written and read as ISO 8601. */
#include "config.h"
#include "cron-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntflow/util.h"

int64_t
nf_cron__floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Howard Hinnant's days_from_civil and civil_from_days. */
int64_t
nf_cron__days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = nf_cron__floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
nf_cron__civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = nf_cron__floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

const char *
nf_tz_dir(void)
{
	const char *d = getenv("TZDIR");

	return d && *d ? d : "/usr/share/zoneinfo";
}

/* A name the tz database could hold: "Area/City" of letters, digits, - _ + and dots, no
 * component "." or "..", not absolute. */
static bool
plausible_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(((nf_tz *)0)->name) || name[0] == '/' || name[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
		      c == '_' || c == '-' || c == '+' || c == '.'))
			return false;
		if (c == '.' && (i == 0 || name[i - 1] == '/'))
			return false;  /* ".", "..", hidden files */
		if (c == '/' && name[i + 1] == '/')
			return false;
	}
	return true;
}

int
nf_tz_open(nf_tz *out, const char *name)
{
	char path[4096], magic[4];
	FILE *f;
	size_t got;

	memset(out, 0, sizeof(*out));
	if (!name || strcmp(name, "UTC") == 0) {
		strcpy(out->name, "UTC");
		out->utc = true;
		return 0;
	}
	if (!plausible_name(name))
		return nf_error_set(NF_EINVALID, "invalid time zone \"%s\": expected a tz database name like \"Europe/Berlin\" or UTC",
				    name);
	snprintf(path, sizeof(path), "%s/%s", nf_tz_dir(), name);
	if (!(f = fopen(path, "rb")))
		return nf_error_set(NF_EINVALID, "unknown time zone \"%s\": no such zone in %s", name, nf_tz_dir());
	got = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	if (got != sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
		return nf_error_set(NF_EINVALID, "unknown time zone \"%s\": %s is not a tz database file", name, path);
	strcpy(out->name, name);
	return 0;
}

int
nf_cron__zone_there(const nf_tz *tz)
{
	/* The last zone found there, and when: a count of the fire times of a long gap (each
	 * a nf_cron_next) looks once a second, not once each. One thread computes times. */
	static char last_name[sizeof(tz->name)];
	static int64_t last_ms;
	int64_t now = nf_now_monotonic_ms();
	nf_tz again;

	if (tz->utc || (now - last_ms < 1000 && strcmp(last_name, tz->name) == 0))
		return 0;
	if (nf_tz_open(&again, tz->name) == 0) {
		snprintf(last_name, sizeof(last_name), "%s", tz->name);
		last_ms = now;
		return 0;
	}
	return nf_error_set(NF_EINVALID, "time zone \"%s\" is no longer in %s (%s): no time is computed in it",
			    tz->name, nf_tz_dir(), nf_error_last());
}

void
nf_cron__enter(nf_cron_zone *z, const nf_tz *tz)
{
	const char *old;
	char spec[sizeof(tz->name) + 1];

	z->tz = tz;
	z->saved_tz = NULL;
	if (tz->utc)
		return;
	old = getenv("TZ");
	z->saved_tz = old ? xstrdup(old) : NULL;
	/* ":NAME": a file of the tz database (glibc reads $TZDIR, else its zoneinfo folder). */
	snprintf(spec, sizeof(spec), ":%s", tz->name);
	setenv("TZ", spec, 1);
	tzset();
}

void
nf_cron__leave(nf_cron_zone *z)
{
	if (z->tz->utc)
		return;
	if (z->saved_tz)
		setenv("TZ", z->saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(z->saved_tz);
	z->saved_tz = NULL;
}

int64_t
nf_cron__offset(const nf_cron_zone *z, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (z->tz->utc || !localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

void
nf_time_format_utc(char out[32], int64_t t)
{
	int64_t days = nf_cron__floor_div(t, 86400), s = t - days * 86400, y;
	int m, d;

	nf_cron__civil_from_days(days, &y, &m, &d);
	snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, (int)(s / 3600), (int)(s / 60 % 60),
		 (int)(s % 60));
}

/* n digits at s into *v; false unless all are digits. */
static bool
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

int
nf_time_parse_utc(int64_t *out, const char *s)
{
	static const int mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0;
	const char *p = s + 10;

	if (strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d))
		goto bad;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
			goto bad;
		p += 6;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				goto bad;
			p += 3;
		}
		if (*p == 'Z' || *p == 'z')
			p++;
	}
	if (*p != '\0')
		goto bad;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo] ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) || h > 23 || mi > 59 || sec > 59)
		return nf_error_set(NF_EINVALID, "invalid time '%s': no such date or time", s);
	*out = nf_cron__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
bad:
	return nf_error_set(NF_EINVALID, "invalid time '%s': expected YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD (UTC)", s);
}

int
nf_time_parse_in(int64_t *out, const char *s, const nf_tz *tz, bool *date_only)
{
	nf_cron_zone z;
	bool bare = strlen(s) == 10;
	int err;

	if (date_only)
		*date_only = false;
	if ((err = nf_time_parse_utc(out, s)) < 0)
		return err;
	if (date_only)
		*date_only = bare;
	if (!bare || tz->utc)
		return 0;
	nf_cron__enter(&z, tz);
	*out = nf_cron__place(&z, *out);   /* the day's midnight as wall time, placed in the zone */
	nf_cron__leave(&z);
	return 0;
}

void
nf_time_format_date(char out[16], const nf_tz *tz, int64_t t)
{
	nf_cron_zone z;
	int64_t y;
	int m, d;

	nf_cron__enter(&z, tz);
	t += nf_cron__offset(&z, t);
	nf_cron__leave(&z);
	nf_cron__civil_from_days(nf_cron__floor_div(t, 86400), &y, &m, &d);
	snprintf(out, 16, "%04lld-%02d-%02d", (long long)y, m, d);
}
