/* format.c: how the commands that read the store print times, signals and log paths, so
 * runs, show and logs (and later dash) print them alike. */
#include "config.h"
#include "ntflow/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void
nf_store_fmt_local_time(char *out, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !localtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, size, "-");
}

void
nf_store_fmt_iso_utc(char *out, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char sec[32];

	if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, size, "-");
		return;
	}
	snprintf(out, size, "%s.%03dZ", sec, (int)(ms % 1000));
}

void
nf_store_fmt_signal(char *out, size_t size, int sig)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(out, size, "SIG%s", abbrev);
	else
		snprintf(out, size, "signal %d", sig);
}

char *
nf_store_log_path(const char *state_dir, const char *log_path)
{
	size_t len;

	if (!log_path)
		return NULL;
	if (log_path[0] == '/' || !state_dir)
		return xstrdup(log_path);
	/* The parent of state_dir: drop trailing slashes, then the last component. */
	len = strlen(state_dir);
	while (len > 1 && state_dir[len - 1] == '/')
		len--;
	while (len > 0 && state_dir[len - 1] != '/')
		len--;
	if (len == 0)
		return xstrdup(log_path);
	return xasprintf("%.*s%s", (int)len, state_dir, log_path);
}
