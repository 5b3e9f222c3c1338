/* wallclock.c: the scheduler's clocks: the system's real time behind a timerfd, and for
 * tests a file holding the time, so a year of schedules passes in seconds. */
#include "config.h"
#include "ntflow/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ntflow/util.h"

static int64_t
system_now(nf_wallclock *c)
{
	(void)c;
	return nf_now_realtime_ms() / 1000;
}

static int
system_arm(nf_wallclock *c, int64_t at)
{
	struct itimerspec its = { 0 };

	/* 0 disarms; INT64_MAX means never */
	if (at != INT64_MAX)
		its.it_value.tv_sec = (time_t)(at > 0 ? at : 1);
	/* CANCEL_ON_SET: a clock set by hand or by NTP wakes us to decide again. */
	if (timerfd_settime(c->fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		return nf_error_set(NF_EIO, "cannot set the scheduler's timer: %s", strerror(errno));
	return 0;
}

static void
system_drain(nf_wallclock *c)
{
	uint64_t n;

	/* ECANCELED (the clock was set) and EAGAIN both just mean: look at the time again */
	if (read(c->fd, &n, sizeof(n)) < 0 && errno != EAGAIN && errno != ECANCELED)
		return;
}

static void
clock_free(nf_wallclock *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

int
nf_wallclock_system(nf_wallclock **out)
{
	nf_wallclock *c = xcalloc(1, sizeof(*c));

	*out = NULL;
	if ((c->fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		free(c);
		return nf_error_set(NF_EIO, "cannot create the scheduler's timer: %s", strerror(errno));
	}
	c->now = system_now;
	c->arm = system_arm;
	c->drain = system_drain;
	c->free = clock_free;
	snprintf(c->desc, sizeof(c->desc), "system clock");
	*out = c;
	return 0;
}

/* The test clock: the file's time, re-read at each look; the last good one when it is
 * being replaced. */
typedef struct file_clock {
	nf_wallclock c;
	char *path;
	int64_t last;
} file_clock;

static int
file_read(file_clock *f, int64_t *t)
{
	char buf[64];
	ssize_t n;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return nf_error_set(NF_EINVALID, "cannot read the test clock %s: %s", f->path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return nf_error_set(NF_EINVALID, "the test clock %s is empty", f->path);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return nf_time_parse_utc(t, buf);
}

static int64_t
file_now(nf_wallclock *c)
{
	file_clock *f = (file_clock *)c;
	int64_t t;

	if (file_read(f, &t) == 0 && t > f->last)
		f->last = t;   /* time never goes back, as with the real scheduler's decisions */
	return f->last;
}

static int
file_arm(nf_wallclock *c, int64_t at)
{
	(void)c;
	(void)at;
	return 0;   /* the file's changes wake us, whatever the time */
}

static void
file_drain(nf_wallclock *c)
{
	char buf[4096];

	while (read(c->fd, buf, sizeof(buf)) > 0)
		;
}

static void
file_free(nf_wallclock *c)
{
	file_clock *f = (file_clock *)c;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(f->path);
	free(f);
}

int
nf_wallclock_file(nf_wallclock **out, const char *path)
{
	file_clock *f = xcalloc(1, sizeof(*f));
	char *dir = xstrdup(path);
	int err;

	*out = NULL;
	f->path = xstrdup(path);
	f->c.fd = -1;
	if ((err = file_read(f, &f->last)) < 0)
		goto fail;
	if ((f->c.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(f->c.fd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		err = nf_error_set(NF_EIO, "cannot watch the test clock %s: %s", path, strerror(errno));
		goto fail;
	}
	free(dir);
	f->c.now = file_now;
	f->c.arm = file_arm;
	f->c.drain = file_drain;
	f->c.free = file_free;
	snprintf(f->c.desc, sizeof(f->c.desc), "test clock %s", path);
	*out = &f->c;
	return 0;
fail:
	free(dir);
	file_free(&f->c);
	return err;
}

int64_t
nf_wallclock_now(void)
{
	const char *fake = nf_test_hook_value("NTFLOW_TEST_NOW");
	nf_wallclock *clock = NULL;
	int64_t now = nf_now_realtime_ms() / 1000;

	if (fake && nf_wallclock_file(&clock, fake) == 0) {
		now = clock->now(clock);
		clock->free(clock);
	}
	nf_error_clear();
	return now;
}
