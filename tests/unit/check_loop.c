/* check_loop.c: the event loop (src/exec/loop.c): timers in order of time then of
 * registration, on a virtual clock that the loop moves itself; file events on pipes;
 * removing events from inside a handler (a removed event is never called); timers added
 * by a handler; nf_loop_stop; the real clock's deadline. */
#include "config.h"
#include "ntflow/exec.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct vclock {
	nf_clock base;
	int64_t now;
	int skips;
} vclock;

static int64_t
v_now(nf_clock *c)
{
	return ((vclock *)c)->now;
}

static void
v_skip(nf_clock *c, int64_t when)
{
	((vclock *)c)->now = when;
	((vclock *)c)->skips++;
}

#define MAX_CALLS 32

typedef struct rec {
	vclock *clock;
	char calls[MAX_CALLS][16];
	int64_t at[MAX_CALLS];
	int n;
	/* actions run by handlers */
	int64_t del_id;              /* a timer to remove from the first handler */
	int del_fd;                  /* a file to remove from the first handler (-1 none) */
	bool add_now;                /* the first timer handler adds a timer due now */
	bool stop;
	nf_loop *l;
} rec;

static void
note(rec *r, const char *what)
{
	ck_assert_int_lt(r->n, MAX_CALLS);
	snprintf(r->calls[r->n], sizeof(r->calls[0]), "%s", what);
	r->at[r->n] = r->clock ? r->clock->now : 0;
	r->n++;
}

typedef struct tctx {
	rec *r;
	const char *name;
} tctx;

static void
on_timer(nf_loop *l, int64_t id, void *vctx)
{
	tctx *t = vctx;
	rec *r = t->r;

	(void)id;
	note(r, t->name);
	if (r->n == 1 && r->del_id) {
		nf_loop_del_timer(l, r->del_id);
		r->del_id = 0;
	}
	if (r->n == 1 && r->add_now) {
		static tctx late;

		late = (tctx){ r, "late" };
		nf_loop_add_timer(l, r->clock->now, on_timer, &late);
	}
	if (r->stop)
		nf_loop_stop(l, 0);
}

START_TEST(test_timer_order)
{
	vclock c = { { v_now, v_skip }, 1000, 0 };
	rec r = { .clock = &c, .del_fd = -1 };
	tctx a = { &r, "a" }, b = { &r, "b" }, c1 = { &r, "c1" }, c2 = { &r, "c2" }, d = { &r, "d" };
	nf_loop *l;

	ck_assert_int_eq(nf_loop_new(&l, &c.base), 0);
	ck_assert_ptr_eq(nf_loop_clock(l), &c.base);
	/* added out of order; c1 and c2 due at the same time keep the order they were added */
	ck_assert_int_gt(nf_loop_add_timer(l, 1300, on_timer, &d), 0);
	nf_loop_add_timer(l, 1200, on_timer, &c1);
	nf_loop_add_timer(l, 1100, on_timer, &b);
	nf_loop_add_timer(l, 1200, on_timer, &c2);
	nf_loop_add_timer(l, 900, on_timer, &a);    /* already due */
	ck_assert_int_eq(nf_loop_turn(l, -1), 1);
	ck_assert_int_eq(c.now, 1000);               /* a was due: no skip */
	ck_assert_int_eq(nf_loop_turn(l, -1), 1);
	ck_assert_int_eq(nf_loop_turn(l, -1), 2);   /* c1 and c2 in one turn */
	ck_assert_int_eq(nf_loop_turn(l, 1250), 0); /* the deadline before d */
	ck_assert_int_eq(c.now, 1250);
	ck_assert_int_eq(nf_loop_turn(l, 5000), 1);
	ck_assert_int_eq(r.n, 5);
	ck_assert_str_eq(r.calls[0], "a");
	ck_assert_str_eq(r.calls[1], "b");
	ck_assert_int_eq(r.at[1], 1100);
	ck_assert_str_eq(r.calls[2], "c1");
	ck_assert_str_eq(r.calls[3], "c2");
	ck_assert_int_eq(r.at[3], 1200);
	ck_assert_str_eq(r.calls[4], "d");
	ck_assert_int_eq(r.at[4], 1300);
	/* nothing left: a virtual clock cannot wait for ever; a deadline is fine */
	ck_assert_int_eq(nf_loop_turn(l, -1), NF_EINVALID);
	ck_assert_int_eq(nf_loop_turn(l, 2000), 0);
	ck_assert_int_eq(c.now, 2000);
	nf_loop_free(l);
}
END_TEST

/* A handler removes a timer due in the same turn: it is not called; a removed id, or one
 * that already fired, is ignored; a handler's timer due now runs in the same turn. */
START_TEST(test_timer_removal_during_dispatch)
{
	vclock c = { { v_now, v_skip }, 0, 0 };
	rec r = { .clock = &c, .del_fd = -1, .add_now = true };
	tctx a = { &r, "a" }, b = { &r, "b" }, x = { &r, "x" };
	int64_t ida, idb, idx;
	nf_loop *l;

	nf_loop_new(&l, &c.base);
	ida = nf_loop_add_timer(l, 10, on_timer, &a);
	idb = nf_loop_add_timer(l, 10, on_timer, &b);
	idx = nf_loop_add_timer(l, 5, on_timer, &x);
	nf_loop_del_timer(l, idx);                 /* removed before it was due */
	nf_loop_del_timer(l, idx);                 /* twice: ignored */
	r.del_id = idb;
	ck_assert_int_eq(nf_loop_turn(l, -1), 2);   /* a, then late; b was removed by a */
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.calls[0], "a");
	ck_assert_str_eq(r.calls[1], "late");
	ck_assert_int_eq(c.now, 10);
	nf_loop_del_timer(l, ida);                 /* fired already: ignored */
	/* ids are not reused: a new timer in a's slot is not removed by a's old id */
	idx = nf_loop_add_timer(l, 20, on_timer, &x);
	ck_assert(idx != ida && idx != idb);
	nf_loop_del_timer(l, ida);
	nf_loop_del_timer(l, idb);
	ck_assert_int_eq(nf_loop_turn(l, -1), 1);
	ck_assert_str_eq(r.calls[2], "x");
	nf_loop_free(l);
}
END_TEST

typedef struct fctx {
	rec *r;
	const char *name;
	int other_fd;                /* removed by this handler when >= 0 */
	int drain_fd;
} fctx;

static void
on_file(nf_loop *l, int fd, void *vctx)
{
	fctx *f = vctx;
	char buf[16];

	note(f->r, f->name);
	while (read(f->drain_fd, buf, sizeof(buf)) > 0)
		;
	ck_assert_int_eq(fd, f->drain_fd);
	if (f->other_fd >= 0)
		nf_loop_del_file(l, f->other_fd);
	if (f->r->stop)
		nf_loop_stop(l, NF_EIO);
}

static void
pipe_nb(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

/* Files: a readable pipe calls its handler, before the due timers; an unready one does
 * not; a file removed by an earlier handler of the same turn is not called. */
START_TEST(test_files)
{
	vclock c = { { v_now, v_skip }, 0, 0 };
	rec r = { .clock = &c, .del_fd = -1 };
	int p[2], q[2];
	fctx fp = { &r, "p", -1, 0 }, fq = { &r, "q", -1, 0 };
	tctx t = { &r, "t" };
	nf_loop *l;

	pipe_nb(p);
	pipe_nb(q);
	fp.drain_fd = p[0];
	fq.drain_fd = q[0];
	nf_loop_new(&l, &c.base);
	ck_assert_int_eq(nf_loop_add_file(l, p[0], on_file, &fp), 0);
	ck_assert_int_eq(nf_loop_add_file(l, p[0], on_file, &fp), NF_EEXISTS);
	ck_assert_int_eq(nf_loop_add_file(l, -1, on_file, &fp), NF_EINVALID);
	ck_assert_int_eq(nf_loop_add_file(l, q[0], on_file, &fq), 0);
	nf_loop_add_timer(l, 0, on_timer, &t);
	ck_assert_int_eq(write(q[1], "x", 1), 1);
	ck_assert_int_eq(nf_loop_turn(l, -1), 2);   /* q, then the due timer; p not ready */
	ck_assert_str_eq(r.calls[0], "q");
	ck_assert_str_eq(r.calls[1], "t");
	/* both ready; p's handler removes q: q is not called */
	fp.other_fd = q[0];
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(write(q[1], "x", 1), 1);
	ck_assert_int_eq(nf_loop_turn(l, -1), 1);
	ck_assert_int_eq(r.n, 3);
	ck_assert_str_eq(r.calls[2], "p");
	/* q is gone: ready again, still not called; the deadline ends the turn */
	ck_assert_int_eq(nf_loop_turn(l, 100), 0);
	ck_assert_int_eq(r.n, 3);
	/* added again: called */
	ck_assert_int_eq(nf_loop_add_file(l, q[0], on_file, &fq), 0);
	ck_assert_int_eq(nf_loop_turn(l, 200), 1);
	ck_assert_str_eq(r.calls[3], "q");
	/* a handler that stops the loop with an error: the turn returns it, the rest waits */
	r.stop = true;
	fp.other_fd = -1;
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(write(q[1], "x", 1), 1);
	ck_assert_int_eq(nf_loop_turn(l, -1), NF_EIO);
	ck_assert_int_eq(r.n, 5);
	r.stop = false;
	ck_assert_int_eq(nf_loop_turn(l, -1), 1);   /* the other one, now */
	ck_assert_int_eq(r.n, 6);
	nf_loop_free(l);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}
END_TEST

/* The real clock: the turn sleeps until a file is ready or the deadline; with nothing to
 * wait for and no deadline it returns at once. */
START_TEST(test_real_clock)
{
	nf_clock *c = nf_clock_system();
	rec r = { .del_fd = -1 };
	int p[2];
	fctx fp = { &r, "p", -1, 0 };
	int64_t t0;
	nf_loop *l;

	pipe_nb(p);
	fp.drain_fd = p[0];
	ck_assert_int_eq(nf_loop_new(&l, NULL), 0);
	ck_assert_ptr_eq(nf_loop_clock(l), c);
	ck_assert_int_eq(nf_loop_turn(l, -1), 0);
	t0 = c->now_ms(c);
	ck_assert_int_eq(nf_loop_turn(l, t0 + 30), 0);
	ck_assert_int_ge(c->now_ms(c), t0 + 30);
	nf_loop_add_file(l, p[0], on_file, &fp);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(nf_loop_turn(l, -1), 1);
	ck_assert_str_eq(r.calls[0], "p");
	nf_loop_free(l);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *
loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_timer_order);
	tcase_add_test(tc, test_timer_removal_during_dispatch);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_real_clock);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(loop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
