/* cron.h: 5-field cron expressions (Vixie cron's syntax and semantics) and their next fire
 * time in a time zone of the system's tz database. The scheduler's clock arithmetic; it
 * depends on util only, so the DAG parser checks a pipeline's schedule with it. */
#ifndef NTFLOW_CRON_H
#define NTFLOW_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed expression: one bit per allowed value of each field. */
typedef struct nf_cron {
	uint64_t minute;       /* bits 0-59 */
	uint32_t hour;         /* bits 0-23 */
	uint32_t dom;          /* bits 1-31 */
	uint16_t month;        /* bits 1-12 */
	uint8_t dow;           /* bits 0-6, Sunday 0 (7 is read as 0) */
	/* Vixie's rule: when both day fields are restricted (neither starts with '*'), a day
	 * matches when either does; otherwise it must match both. */
	bool dom_star, dow_star;
} nf_cron;

/* The fields, as nf_cron_error.field names them. */
enum { NF_CRON_MINUTE, NF_CRON_HOUR, NF_CRON_DOM, NF_CRON_MONTH, NF_CRON_DOW, NF_CRON_NFIELDS };

/* Where a bad expression is wrong. */
typedef struct nf_cron_error {
	int field;             /* NF_CRON_MINUTE...NF_CRON_DOW; -1: the expression as a whole */
	int offset;            /* byte offset in the expression; -1: the expression as a whole */
} nf_cron_error;

/* The field's name in messages: "minute", "hour", "day-of-month", "month", "day-of-week". */
const char *nf_cron_field_name(int field);

/* Parses "MIN HOUR DOM MONTH DOW" (numbers, *, ranges a-b, steps of * and of ranges
 * ("* /15" without the space, "1-30/5"), lists, JAN-DEC and SUN-SAT names, case-insensitive) or @hourly, @daily, @weekly, @monthly,
 * @yearly. NF_EINVALID with the message set (naming the field) and *err (may be NULL)
 * saying where; a day-of-month that never occurs in the allowed months (30 FEB) is an
 * error too, since such a schedule would never fire. */
int nf_cron_parse(nf_cron *out, const char *expr, nf_cron_error *err);

/* A time zone of the tz database, or UTC. Plain data: copy it freely. */
typedef struct nf_tz {
	char name[96];         /* "UTC" or a tz database name such as "Europe/Berlin" */
	bool utc;
} nf_tz;

/* The tz database folder: $TZDIR, else /usr/share/zoneinfo. */
const char *nf_tz_dir(void);
/* Opens a zone by name: "UTC" (or NULL) needs no database; any other name must be a TZif
 * file under nf_tz_dir(), else NF_EINVALID ("unknown time zone ..."). */
int nf_tz_open(nf_tz *out, const char *name);

/* The first fire time of c strictly after `after` (seconds since the epoch), in *next.
 * Each wall-clock minute the expression allows fires once, in zone tz:
 *  - a minute that does not exist (skipped by a DST change, the gap) fires at the first
 *    minute after the gap (the instant of the change), once however many gap minutes the
 *    expression allows;
 *  - a minute that happens twice (the overlap when clocks go back) fires at its first
 *    occurrence only.
 * NF_ENOTFOUND when nothing fires in the next 400 years. Zones other than UTC go through the
 * C library's localtime_r with TZ set for the call and restored after: not thread-safe. */
int nf_cron_next(const nf_cron *c, const nf_tz *tz, int64_t after, int64_t *next);

/* The last fire time of c strictly before `before`, in *prev (the inverse of nf_cron_next:
 * nf_cron_next(c, tz, *prev) >= before). NF_ENOTFOUND when none in the past 400 years. */
int nf_cron_prev(const nf_cron *c, const nf_tz *tz, int64_t before, int64_t *prev);

/* A schedule interval [start, end): a run fired at `end` stands for it, and its logical
 * date is `start` (Airflow's data interval). Seconds since the epoch. */
typedef struct nf_cron_span {
	int64_t start, end;
} nf_cron_span;
/* The interval the fire time `fire` closes: [nf_cron_prev(fire), fire). */
int nf_cron_interval(const nf_cron *c, const nf_tz *tz, int64_t fire, nf_cron_span *out);

/* Appends c as five numeric fields ("0 3 * * 1" for "0 3 * * MON", "0 0 * * 0" for
 * @weekly) that Vixie cron and cronie read as nf_cron_parse did: no names or macros, and
 * each day field starts with '*' exactly when it did (the OR rule). */
struct nf_buf;
void nf_cron_format(struct nf_buf *out, const nf_cron *c);

/* "2026-11-23T03:00:00Z" for t (seconds since the epoch); out has room for 21 bytes. */
void nf_time_format_utc(char out[32], int64_t t);
/* Reads "YYYY-MM-DDTHH:MM:SSZ", "YYYY-MM-DDTHH:MMZ" (the Z optional: UTC either way) or a
 * date "YYYY-MM-DD" (its midnight, UTC). NF_EINVALID when malformed or out of range. */
int nf_time_parse_utc(int64_t *out, const char *s);
/* As nf_time_parse_utc, except that a bare date "YYYY-MM-DD" stands for the first instant
 * of that day in zone tz (its midnight; after a DST gap that swallows midnight, the end of
 * the gap). *date_only (may be NULL) says whether s was a bare date. */
int nf_time_parse_in(int64_t *out, const char *s, const nf_tz *tz, bool *date_only);
/* The calendar date "YYYY-MM-DD" of instant t in zone tz; out has room for 11 bytes. */
void nf_time_format_date(char out[16], const nf_tz *tz, int64_t t);

#endif
