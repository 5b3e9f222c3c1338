/* proc.c: processes as Linux's /proc shows them: when one started (which tells a live
 * process from a later one that reused its pid), and the processes whose environment
 * carries a mark, so that a stage's process that left its process group (setsid, a
 * daemon) can still be found and killed. Nothing here allocates in a way a vfork child
 * could not afford except nf_proc_kill_marked, which runs in ntflow itself. */
#include "config.h"
#include "ntflow/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Start times the local runner's children found for themselves (nf_proc_note_start), each
 * answered once: recording a spawned attempt then costs no read of /proc. */
static struct {
	pid_t pid;
	int64_t start;
} noted[8];

void
nf_proc_note_start(pid_t pid, int64_t start)
{
	static size_t next;

	noted[next].pid = pid;
	noted[next].start = start;
	next = (next + 1) % NF_ARRAY_SIZE(noted);
}

int64_t
nf_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	ssize_t len;
	int fd;

	for (size_t i = 0; i < NF_ARRAY_SIZE(noted); i++) {
		if (noted[i].pid == pid && pid > 0) {
			noted[i].pid = 0;   /* once: a later question may be about a reused pid */
			return noted[i].start;
		}
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	len = read(fd, buf, sizeof(buf));
	close(fd);
	return len > 0 ? nf_proc_stat_start(buf, (size_t)len) : 0;
}

bool
nf_proc_zombie(pid_t pid)
{
	char path[64], buf[512];
	const char *paren;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	/* "pid (comm) state ...": comm may hold spaces and parentheses. */
	if (!(paren = strrchr(buf, ')')) || paren[1] != ' ')
		return false;
	return paren[2] == 'Z' || paren[2] == 'X';
}

/* Whether the NUL-separated environment in env[0, len) holds the entry mark exactly. */
static bool
environ_has(const char *env, size_t len, const char *mark, size_t mlen)
{
	for (size_t i = 0; i < len;) {
		const char *e = memchr(env + i, '\0', len - i);
		size_t elen = e ? (size_t)(e - (env + i)) : len - i;

		if (elen == mlen && memcmp(env + i, mark, mlen) == 0)
			return true;
		i += elen + 1;
	}
	return false;
}

/* Reads /proc/PID/environ into b (reset first). False when it cannot be read: another
 * user's process, a zombie, or one that is gone. */
static bool
read_environ(nf_buf *b, const char *pid)
{
	char path[64], chunk[4096];
	ssize_t n;
	int fd;

	nf_buf_reset(b);
	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		nf_buf_add(b, chunk, (size_t)n);
	close(fd);
	return n == 0;
}

/* The process group of pid (field 5 of /proc/PID/stat), 0 when unknown. */
static pid_t
proc_group(const char *pid)
{
	char path[64], buf[1024], *p;
	ssize_t len;
	long g = 0;
	int fd, field = 2;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	if (!(p = strrchr(buf, ')')))
		return 0;
	for (p++; *p && field < 5; p++)
		if (*p == ' ')
			field++;
	if (field == 5)
		g = strtol(p, NULL, 10);
	return (pid_t)g;
}

static int
cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* One pass of nf_proc_kill_marked over /proc: signals the marked processes not in
 * (*sent, *nsent), adding them there. How many it signalled. */
static size_t
kill_marked_pass(const char *mark, int sig, const pid_t *skip_groups, size_t nskip, pid_t **sent, size_t *nsent,
		 size_t *cap, nf_buf *env)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t mlen = strlen(mark), n = 0;
	pid_t self = getpid(), own_group = getpgrp();

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		pid_t pid, g;
		bool done = false;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atol(de->d_name);
		for (size_t i = 0; i < *nsent && !done; i++)
			done = (*sent)[i] == pid;
		if (done || pid <= 1 || pid == self || !read_environ(env, de->d_name))
			continue;
		if (!environ_has(env->buf, env->len, mark, mlen))
			continue;
		g = proc_group(de->d_name);
		if (nskip && g && bsearch(&g, skip_groups, nskip, sizeof(*skip_groups), cmp_pid))
			continue;
		if (kill(pid, sig) < 0)
			continue;
		/* Its group too: a process of it in the middle of an exec shows no environment
		 * in /proc, and so no mark, to any pass that looks then. Never our own group,
		 * which a stage's process could have joined. */
		if (g > 1 && g != own_group)
			(void)kill(-g, sig);
		*sent = xgrow(*sent, sizeof(**sent), *nsent + 1, cap);
		(*sent)[(*nsent)++] = pid;
		n++;
	}
	closedir(d);
	return n;
}

/* Passes over /proc until one finds no marked process left: a process forks while a pass
 * reads /proc, and its child, in a part of /proc the pass had read already, was missed
 * (a stage's daemon forking as the run ended outlived the kill: 2 runs in 40). Bounded: a
 * process forking faster than the passes kill is not waited for forever. */
#define KILL_PASSES 16

size_t
nf_proc_kill_marked(const char *mark, int sig, const pid_t *skip_groups, size_t nskip, pid_t *killed, size_t max)
{
	nf_buf env = NF_BUF_INIT;
	pid_t *sent = NULL;
	size_t nsent = 0, cap = 0;

	for (int pass = 0; pass < KILL_PASSES; pass++)
		if (kill_marked_pass(mark, sig, skip_groups, nskip, &sent, &nsent, &cap, &env) == 0)
			break;
	for (size_t i = 0; killed && i < nsent && i < max; i++)
		killed[i] = sent[i];
	free(sent);
	nf_buf_release(&env);
	return nsent;
}
