/* proc-fixture.h: whether a process has died, read from /proc, for the suites that start
 * real processes (check_runner, check_spawn). */
#ifndef NTFLOW_TEST_PROC_FIXTURE_H
#define NTFLOW_TEST_PROC_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* Dead: gone, or a zombie waiting for a parent that is not us. */
static inline bool
is_dead(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	size_t n;
	char *paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return !paren || paren[2] == 'Z' || paren[2] == 'X';
}

#endif
