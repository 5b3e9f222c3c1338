/* spawn-proto.h: the protocol between the local runner and ntflow-spawn, its process
 * spawner (src/exec/spawner.c). The runner execs the spawner once, with two sockets:
 * fd 3, the requests (a stream: a request may carry an environment of any size) and their
 * replies, fd 4, the exits (datagrams, one nf_spawn_exit each), and fd 5, the bell (the
 * write end of a pipe: a byte says "read the exits"). A request is an
 * nf_spawn_req whose first byte carries the fds (SCM_RIGHTS: the output, then the procs
 * record when NF_SPAWN_PROCS), then len bytes of NUL-terminated strings: the nargs words
 * (or the one command for sh -c), the nenv environment entries, the cwd (NF_SPAWN_CWD).
 * The reply is an nf_spawn_reply, sent before any exit of that child. The spawner keeps the
 * output fd open until it has rung for the child's exit: the output's end (EOF) never comes
 * before the ring, and one wakeup of the runner sees both. Both ends are the same
 * build, so the structs go as they are in memory. Why a separate process at all: see
 * runner-local.c.
 *
 * A request with NF_SPAWN_DEFER is not started but queued, and gets no reply: the spawner
 * starts the oldest queued job as soon as it has reaped a child that exited 0, in that
 * child's place, and says so in the child's exit (next_*); a child that failed leaves its
 * place to the runner (its failure may stop the run). A stage's end is then followed by the next
 * start without waiting for the runner to hear of the end, decide and ask (the round trip
 * that kept a CPU idle between stages on a busy machine). NF_SPAWN_PROMOTE and
 * NF_SPAWN_WITHDRAW name a queued job by its token (no strings, no fds) and are answered
 * at once: started now (promote: the runner has a free slot for it), or taken out of the
 * queue unstarted (withdraw: a cancel); queued 0 in the reply when the job was no longer
 * queued (it started in some child's place, as an exit already sent or soon sent says).
 * Each exit is sent as soon as its child is reaped (in order, as far as the socket takes
 * them), and the runner reads the exits socket when the bell rings, or when the bell's
 * pipe closes (the spawner died: what it sent is still there to read). While the queue is
 * more than half full, the ring for the exit of a child that exited 0 and left its place
 * to a queued job may be held, 5 ms at most, and made with the next ones (spawner.c:
 * exits_due); each exit says when its child was reaped (reaped_ns), and the spawner rings
 * before a promote's or a withdraw's reply. An exit of, or starting, a job with
 * NF_SPAWN_PROMPT is rung for at once: a stage with a timeout that ends in time is not
 * heard of after its timeout, one that overruns it is stopped on time, and the slots of a
 * stage of several cpus are not freed late. */
#ifndef NF_EXEC_SPAWN_PROTO_H
#define NF_EXEC_SPAWN_PROTO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define NF_SPAWN_MAGIC UINT32_C(0x6e667370)   /* "nfsp" */
#define NF_SPAWN_CTL_FD 3
#define NF_SPAWN_EXIT_FD 4
#define NF_SPAWN_BELL_FD 5
/* The byte the spawner sends when it is ready; a new one with each change of this protocol,
 * so that a spawner of another build is refused, not misread ('R': no bell yet). */
#define NF_SPAWN_READY 'B'

enum {
	NF_SPAWN_WORDS = 1,          /* exec the words directly (execvp-like), not sh -c */
	NF_SPAWN_CWD = 2,            /* a cwd follows the environment */
	NF_SPAWN_PROCS = 4,          /* a second fd: the run's procs record (append) */
	NF_SPAWN_DEFER = 8,          /* queue it, start it in the place of the next child reaped */
	NF_SPAWN_PROMOTE = 16,       /* start the queued job of this token now */
	NF_SPAWN_WITHDRAW = 32,      /* drop the queued job of this token unstarted */
	NF_SPAWN_PROMPT = 64,        /* never hold its exit, nor the exit that reports its start
	                              * in an ended job's place: the runner times it, or it
	                              * frees more than the one slot a queued job takes */
};

typedef struct nf_spawn_req {
	uint32_t magic;
	uint32_t flags;
	uint32_t nargs, nenv;
	uint64_t len;                /* bytes of strings after the header */
	uint64_t token;              /* the runner's name for a queued job (> 0) */
} nf_spawn_req;

typedef struct nf_spawn_reply {
	int32_t err;                 /* 0, or the errno of a spawn that failed (vfork, a bad request) */
	int32_t pid;                 /* the child, leader of its own process group */
	int64_t start;               /* its start time (clock ticks since boot, /proc); 0: unknown */
	int32_t queued;              /* promote, withdraw: 1 when the token was still queued */
	int32_t pad;
} nf_spawn_reply;

typedef struct nf_spawn_exit {
	int32_t pid;
	int32_t status;              /* as wait4 gives it */
	int64_t user_us, sys_us;
	int64_t max_rss_kb;          /* the child's own tree: its peak, and its reaped descendants' */
	/* The queued job started in its place (next_token 0: none): its pid, or next_err. */
	uint64_t next_token;
	int32_t next_pid;
	int32_t next_err;
	int64_t next_start;
	/* When the child was reaped and next_token started (CLOCK_MONOTONIC, ns): the runner
	 * may hear of both later, when it is rung. */
	int64_t reaped_ns;
} nf_spawn_exit;

/* Reads exactly n bytes from either end's socket: 0, or -1 on EOF or an error. Inline here
 * because the spawner links nothing of ntflow's. */
static inline int
nf_spawn_read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Writes all of buf to either end's socket (no SIGPIPE): 0, or -1 when the other end has
 * gone or on an error. */
static inline int
nf_spawn_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

#endif
