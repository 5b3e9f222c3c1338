/* error.c: the last error message of the thread, set by modules and printed by commands. */
#include "config.h"
#include "ntflow/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

int
nf_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return code;
}

int
nf_error_set_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	len = strlen(last_error);
	if (len < sizeof(last_error))
		snprintf(last_error + len, sizeof(last_error) - len, ": %s", strerror(saved));
	errno = saved;
	return code;
}

const char *
nf_error_last(void)
{
	return last_error;
}

void
nf_error_clear(void)
{
	last_error[0] = '\0';
}
