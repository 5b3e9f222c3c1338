/* slurm-parse.c: what sbatch, squeue, sacct and scontrol print, read into records, and
 * Slurm's job states mapped onto ntflow's. Pure (no process, no I/O), so every quirk found
 * on a real cluster is a unit test: job steps' ".batch" and "+N" suffixes, "CANCELLED by
 * 0", exit codes as "EXIT:SIGNAL" (sacct, scontrol) or a raw wait status (squeue), the
 * "0:53" of a job that could not launch, names with spaces and '|'. */
#include "config.h"
#include "ntflow/slurm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies [s, s+len) into out (cap), spaces trimmed at both ends. */
static void
copy_trim(char *out, size_t cap, const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* A whole unsigned decimal number in s; false otherwise. */
static bool
parse_u64(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return false;
	v = strtoull(s, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

/* "CANCELLED by 0" -> "CANCELLED"; "RUNNING" stays. */
static void
set_state(nf_slurm_rec *r, const char *s, size_t len)
{
	char *sp;

	copy_trim(r->state, sizeof(r->state), s, len);
	if ((sp = strchr(r->state, ' ')))
		*sp = '\0';
	if ((sp = strchr(r->state, '+')))   /* "CANCELLED+" in some sacct versions */
		*sp = '\0';
}

/* "3:0" -> exit 3; "0:15" -> signal 15. */
static void
set_exit_pair(nf_slurm_rec *r, const char *s)
{
	int code, sig;

	if (sscanf(s, "%d:%d", &code, &sig) == 2) {
		r->have_exit = true;
		r->exit_code = code;
		r->term_signal = sig;
	}
}

/* A raw wait status (squeue's exit_code): 768 -> exit 3, 15 -> signal 15. */
static void
set_exit_raw(nf_slurm_rec *r, const char *s)
{
	uint64_t v;
	char buf[32];

	copy_trim(buf, sizeof(buf), s, strlen(s));
	if (!parse_u64(&v, buf))
		return;
	r->have_exit = true;
	if ((v & 0x7f) == 0) {
		r->exit_code = (int)((v >> 8) & 0xff);
		r->term_signal = 0;
	} else {
		r->exit_code = 0;
		r->term_signal = (int)(v & 0x7f);
	}
}

/* The id field of sacct: "12", "12_3", "12_[0-3]"; false for a step ("12.batch", "12.0")
 * or a heterogeneous job's component ("12+1"). */
static bool
set_sacct_id(nf_slurm_rec *r, const char *s)
{
	char buf[64];
	char *us;
	uint64_t v;

	copy_trim(buf, sizeof(buf), s, strlen(s));
	if (strpbrk(buf, ".+"))
		return false;
	r->task = -1;
	if ((us = strchr(buf, '_'))) {
		*us = '\0';
		if (!parse_u64(&r->array_id, buf))
			return false;
		if (parse_u64(&v, us + 1))
			r->task = (long)v;
		return true;
	}
	return parse_u64(&r->job_id, buf);
}

static void
push(nf_slurm_rec **out, size_t *n, size_t *cap, const nf_slurm_rec *r)
{
	*out = xgrow(*out, sizeof(**out), *n + 1, cap);
	(*out)[(*n)++] = *r;
}

int
nf_slurm_parse_sbatch(uint64_t *job_id, const char *text)
{
	char buf[64];
	size_t len = strcspn(text, ";\n");

	copy_trim(buf, sizeof(buf), text, len);
	if (!parse_u64(job_id, buf) || *job_id == 0)
		return nf_error_set(NF_EINVALID, "sbatch printed no job id: '%.80s'", text);
	return 0;
}

/* Splits line (len) at '|' into at most max fields, the last one the rest of the line;
 * returns how many. */
static size_t
split(const char **f, size_t *flen, size_t max, const char *line, size_t len)
{
	size_t n = 0;
	const char *p = line, *end = line + len;

	while (n < max && p <= end) {
		/* The last field takes the rest of the line. */
		const char *bar = n + 1 < max ? memchr(p, '|', (size_t)(end - p)) : NULL;

		f[n] = p;
		flen[n] = bar ? (size_t)(bar - p) : (size_t)(end - p);
		n++;
		if (!bar)
			break;
		p = bar + 1;
	}
	return n;
}

int
nf_slurm_parse_squeue(nf_slurm_rec **out, size_t *n, const char *text)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n"), flen[7];
		const char *f[7];
		char buf[64];
		nf_slurm_rec r;
		uint64_t v;

		memset(&r, 0, sizeof(r));
		r.task = -1;
		/* The name last: everything after the sixth '|', its closing '|' dropped. */
		if (split(f, flen, 7, line, len) == 7) {
			size_t nl = flen[6];

			if (nl && f[6][nl - 1] == '|')
				nl--;
			copy_trim(r.name, sizeof(r.name), f[6], nl);
			copy_trim(buf, sizeof(buf), f[0], flen[0]);
			if (parse_u64(&r.job_id, buf)) {
				copy_trim(buf, sizeof(buf), f[2], flen[2]);
				if (strcmp(buf, "N/A") != 0 && buf[0]) {
					/* An array task ("3"), or the array's pending tasks ("0-9%2"). */
					char id[64];

					copy_trim(id, sizeof(id), f[1], flen[1]);
					if (parse_u64(&r.array_id, id) && parse_u64(&v, buf))
						r.task = (long)v;
				}
				set_state(&r, f[3], flen[3]);
				copy_trim(r.reason, sizeof(r.reason), f[4], flen[4]);
				copy_trim(buf, sizeof(buf), f[5], flen[5]);
				set_exit_raw(&r, buf);
				if (r.state[0])
					push(out, n, &cap, &r);
			}
		}
		line += len;
		if (*line)
			line++;
	}
	return 0;
}

int
nf_slurm_parse_sacct(nf_slurm_rec **out, size_t *n, const char *text)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		const char *first = memchr(line, '|', len), *last, *mid;
		nf_slurm_rec r;
		char buf[64];

		memset(&r, 0, sizeof(r));
		/* id | name (may hold '|') | state | exit */
		last = NULL;
		mid = NULL;
		for (const char *p = line + len; p > line; p--) {
			if (p[-1] == '|') {
				if (!last)
					last = p - 1;
				else {
					mid = p - 1;
					break;
				}
			}
		}
		if (first && mid && first < mid) {
			copy_trim(buf, sizeof(buf), line, (size_t)(first - line));
			if (set_sacct_id(&r, buf)) {
				copy_trim(r.name, sizeof(r.name), first + 1, (size_t)(mid - first - 1));
				set_state(&r, mid + 1, (size_t)(last - mid - 1));
				copy_trim(buf, sizeof(buf), last + 1, (size_t)(line + len - last - 1));
				set_exit_pair(&r, buf);
				if (r.state[0])
					push(out, n, &cap, &r);
			}
		}
		line += len;
		if (*line)
			line++;
	}
	return 0;
}

/* The value of KEY= in line (len): up to the next space, or up to " UNTIL=" when until is
 * given (JobName, which may hold spaces). false when the key is absent. */
static bool
field(char *out, size_t cap, const char *line, size_t len, const char *key, const char *until)
{
	size_t kl = strlen(key);
	const char *end = line + len, *v = NULL, *stop;

	for (const char *p = line; p + kl < end; p++) {
		if ((p == line || p[-1] == ' ') && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			v = p + kl + 1;
			break;
		}
	}
	if (!v)
		return false;
	stop = NULL;
	if (until) {
		size_t ul = strlen(until);

		for (const char *p = v; p + ul <= end; p++)
			if (*p == ' ' && strncmp(p + 1, until, ul) == 0 && p[1 + ul] == '=') {
				stop = p;
				break;
			}
	}
	if (!stop) {
		stop = v;
		while (stop < end && *stop != ' ')
			stop++;
	}
	copy_trim(out, cap, v, (size_t)(stop - v));
	return true;
}

int
nf_slurm_parse_scontrol(nf_slurm_rec **out, size_t *n, const char *text)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		nf_slurm_rec r;
		char buf[64];
		uint64_t v;

		memset(&r, 0, sizeof(r));
		r.task = -1;
		if (field(buf, sizeof(buf), line, len, "JobId", NULL) && parse_u64(&r.job_id, buf) &&
		    field(buf, sizeof(buf), line, len, "JobState", NULL)) {
			set_state(&r, buf, strlen(buf));
			field(r.name, sizeof(r.name), line, len, "JobName", "UserId");
			field(r.reason, sizeof(r.reason), line, len, "Reason", NULL);
			if (field(buf, sizeof(buf), line, len, "ExitCode", NULL))
				set_exit_pair(&r, buf);
			if (field(buf, sizeof(buf), line, len, "ArrayJobId", NULL) && parse_u64(&r.array_id, buf) &&
			    field(buf, sizeof(buf), line, len, "ArrayTaskId", NULL) && parse_u64(&v, buf))
				r.task = (long)v;
			push(out, n, &cap, &r);
		}
		line += len;
		if (*line)
			line++;
	}
	return 0;
}

bool
nf_slurm_phase_live(nf_slurm_phase p)
{
	return p == NF_SLURM_QUEUED || p == NF_SLURM_RUNNING;
}

static bool
is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

nf_slurm_phase
nf_slurm_judge(const nf_slurm_rec *rec, bool cancelled_by_us, char *msg, size_t cap)
{
	static const char *const queued[] = { "PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
					      "RESV_DEL_HOLD", NULL };
	static const char *const running[] = { "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED",
					       "SIGNALING", "STAGE_OUT", "RESIZING", "POWER_UP_NODE", "UPDATE_DB",
					       NULL };
	static const char *const failed[] = { "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED",
					      "SPECIAL_EXIT", "REVOKED", NULL };
	const char *st = rec->state;
	char id[48];

	msg[0] = '\0';
	if (rec->array_id && rec->task >= 0)
		snprintf(id, sizeof(id), "%llu_%ld", (unsigned long long)rec->array_id, rec->task);
	else
		snprintf(id, sizeof(id), "%llu", (unsigned long long)(rec->job_id ? rec->job_id : rec->array_id));
	if (is_one_of(st, queued))
		return NF_SLURM_QUEUED;
	if (is_one_of(st, running))
		return NF_SLURM_RUNNING;
	if (strcmp(st, "COMPLETED") == 0) {
		if (!rec->have_exit || (rec->exit_code == 0 && rec->term_signal == 0))
			return NF_SLURM_SUCCEEDED;
		snprintf(msg, cap, "Slurm job %s COMPLETED with exit %d:%d", id, rec->exit_code, rec->term_signal);
		return NF_SLURM_FAILED;
	}
	if (strcmp(st, "TIMEOUT") == 0) {
		snprintf(msg, cap, "timed out: Slurm job %s reached its time limit (TIMEOUT)", id);
		return NF_SLURM_TIMED_OUT;
	}
	if (strcmp(st, "CANCELLED") == 0) {
		if (cancelled_by_us)
			return NF_SLURM_CANCELLED;
		snprintf(msg, cap, "cancelled outside ntflow (Slurm job %s CANCELLED)", id);
		return NF_SLURM_FAILED;
	}
	if (strcmp(st, "FAILED") == 0) {
		/* The job never ran: a missing --output folder or working directory on the node. */
		if (strcmp(rec->reason, "JobLaunchFailure") == 0 ||
		    (rec->have_exit && rec->exit_code == 0 && rec->term_signal == 53))
			snprintf(msg, cap, "Slurm job %s FAILED to launch (JobLaunchFailure): is its working directory "
				 "or log folder missing on the node?", id);
		else if (rec->have_exit && rec->term_signal)
			snprintf(msg, cap, "Slurm job %s FAILED (killed by signal %d)", id, rec->term_signal);
		else if (rec->have_exit)
			snprintf(msg, cap, "Slurm job %s FAILED (exit %d)", id, rec->exit_code);
		else
			snprintf(msg, cap, "Slurm job %s FAILED", id);
		return NF_SLURM_FAILED;
	}
	if (is_one_of(st, failed)) {
		snprintf(msg, cap, "Slurm job %s %s", id, st);
		return NF_SLURM_FAILED;
	}
	snprintf(msg, cap, "Slurm job %s in an unknown state '%s'", id, st);
	return NF_SLURM_FAILED;
}

long
nf_slurm_time_minutes(int64_t timeout_ms)
{
	if (timeout_ms <= 0)
		return 0;
	return (long)((timeout_ms + 59999) / 60000);
}

/* Appends s to out[*len] (cap), unsafe characters as '_', at most max characters of s. */
static void
put_safe(char *out, size_t *len, size_t cap, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max && *len + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		out[(*len)++] = (char)(isalnum(c) || c == '.' || c == '_' || c == '-' ? c : '_');
	}
	out[*len] = '\0';
}

void
nf_slurm_job_name(char *out, size_t cap, int64_t run_id, const char *stage, const char *instance)
{
	char head[32];
	size_t len = 0, room, ilen = instance ? strlen(instance) + 1 : 0;

	if (cap > NF_SLURM_NAME_MAX + 1)
		cap = NF_SLURM_NAME_MAX + 1;
	snprintf(head, sizeof(head), "ntflow-%lld-", (long long)run_id);
	put_safe(out, &len, cap, head, sizeof(head));
	/* The stage gives way first: the run and the instance tell jobs apart. */
	room = cap - 1 > len + ilen ? cap - 1 - len - ilen : 1;
	put_safe(out, &len, cap, stage, room);
	if (instance) {
		put_safe(out, &len, cap, "-", 1);
		put_safe(out, &len, cap, instance, cap);
	}
}
