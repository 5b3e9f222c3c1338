/* proc-stat.c: the start time in a /proc/PID/stat line, on its own so that ntflow-spawn
 * (src/exec/spawner.c), which links libc and this alone, reads it as ntflow does. No
 * allocation, no stdio: a vfork child calls it. */
#include "config.h"
#include "ntflow/util.h"

#include <stddef.h>
#include <stdint.h>

int64_t
nf_proc_stat_start(const char *stat, size_t len)
{
	const char *p = NULL, *end = stat + len;
	int64_t v = 0;
	int field = 2;

	/* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
	for (const char *c = stat; c < end; c++)
		if (*c == ')')
			p = c;
	if (!p)
		return 0;
	for (p++; p < end && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field != 22 || p >= end || *p < '0' || *p > '9')
		return 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return v;
}
