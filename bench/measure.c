/* bench/measure.c: runs one command and prints its wall time, its own CPU time (without
 * its children), the CPU time of it and its children, and its peak RSS, for bench/compare.sh.
 *
 * usage: measure OUTFILE CMD [ARG]...
 * Appends "WALL_S OWN_CPU_S ALL_CPU_S MAXRSS_KB" to OUTFILE and exits with CMD's status.
 *
 * Started as "ntflow-spawn" (ntflow's runner execs $NTFLOW_SPAWN with that argv[0]) it is a
 * wrapper around ntflow's process spawner instead: it runs $MEASURE_SPAWN_REAL as its
 * child and appends the spawner's own CPU seconds to $MEASURE_SPAWN_OUT when it exits.
 * ntflow starts its stages from that separate process, so ntflow's own CPU alone leaves out
 * the vforks and reaping that ninja and make pay in their own process.
 *
 * Why not /usr/bin/time plus perf stat: the own CPU (perf stat --no-inherit -e task-clock)
 * and the peak RSS must come from the same run, and perf stat as the parent adds its own
 * 12 MB to the RSS that /usr/bin/time reports (more than ninja's). Here the command is
 * waited for with WNOWAIT, so that while it is a zombie its task clock, the same counter
 * perf's task-clock reads, is taken from /proc/PID/schedstat (nanoseconds; the tools
 * measured are single-threaded); then it is reaped with wait4, whose rusage gives the
 * peak RSS of the command and of the children it waited for (/usr/bin/time's %M) and the
 * CPU time of both (%U + %S).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Own CPU of the exited, not yet reaped PID in seconds: schedstat's first field (ns), else
 * utime + stime of /proc/PID/stat (clock ticks). Returns -1 when neither can be read. */
static double
own_cpu(pid_t pid)
{
	char path[64], buf[4096];
	unsigned long long ns;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		int ok = fscanf(f, "%llu", &ns) == 1;

		fclose(f);
		if (ok)
			return (double)ns / 1e9;
	}
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		char *p;
		unsigned long ut, st;

		fclose(f);
		buf[len] = '\0';
		/* the fields after the command name, which may hold blanks, start after ") " */
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	return -1;
}

/* The wrapper around ntflow-spawn. The spawner insists that its parent is the pid it is
 * given, so it gets ours; it dies with us (PDEATHSIG) as it would with ntflow. */
static int
spawn_wrapper(void)
{
	const char *real = getenv("MEASURE_SPAWN_REAL"), *outpath = getenv("MEASURE_SPAWN_OUT");
	char self[24];
	siginfo_t info;
	double own;
	int status;
	pid_t pid;
	FILE *out;

	if (!real || !outpath) {
		fprintf(stderr, "measure: as ntflow-spawn it needs MEASURE_SPAWN_REAL and MEASURE_SPAWN_OUT\n");
		return 2;
	}
	snprintf(self, sizeof self, "%d", (int)getpid());
	pid = fork();
	if (pid < 0)
		return 71;
	if (pid == 0) {
		char *argv[] = { "ntflow-spawn", self, NULL };

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != (pid_t)atoi(self))
			_exit(127);
		execv(real, argv);
		_exit(127);
	}
	/* Its sockets are the spawner's now: holding them would hide its exit from ntflow. */
	close(3);
	close(4);
	memset(&info, 0, sizeof info);
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return 71;
	own = own_cpu(pid);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 71;
	out = fopen(outpath, "a");
	if (out) {
		fprintf(out, "%.4f\n", own);
		fclose(out);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	siginfo_t info;
	double own, all;
	int status;
	pid_t pid;
	FILE *out;

	if (argc > 0 && strcmp(argv[0], "ntflow-spawn") == 0)
		return spawn_wrapper();
	if (argc < 3) {
		fprintf(stderr, "usage: measure OUTFILE CMD [ARG]...\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "measure: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	memset(&info, 0, sizeof info);
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0) {
		if (errno != EINTR) {
			perror("measure: waitid");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	own = own_cpu(pid);
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("measure: wait4");
			return 1;
		}
	}
	all = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	out = fopen(argv[1], "a");
	if (!out) {
		fprintf(stderr, "measure: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fprintf(out, "%.4f %.4f %.3f %ld\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, own, all,
		ru.ru_maxrss);
	if (fclose(out) != 0) {
		fprintf(stderr, "measure: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
