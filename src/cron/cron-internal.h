/* cron-internal.h: calendar arithmetic and the time zone switch shared by src/cron's files. */
#ifndef NTFLOW_CRON_INTERNAL_H
#define NTFLOW_CRON_INTERNAL_H

#include <stdint.h>

#include "ntflow/cron.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12), and back. */
int64_t nf_cron__days_from_civil(int64_t y, int m, int d);
void nf_cron__civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* a / b rounded towards minus infinity (b > 0). */
int64_t nf_cron__floor_div(int64_t a, int64_t b);

/* While a zone is entered (TZ set to it and tzset called; the previous TZ saved, put back
 * by leave), nf_cron__offset(t) is its UTC offset in seconds at instant t. UTC enters
 * without touching the environment. */
typedef struct nf_cron_zone {
	const nf_tz *tz;
	char *saved_tz;        /* the previous TZ, or NULL when it was unset */
} nf_cron_zone;
void nf_cron__enter(nf_cron_zone *z, const nf_tz *tz);
/* 0 when tz's file is still in the tz database, else an error saying so: glibc, given a
 * TZ whose file is gone, computes in UTC without a word (a tzdata upgrade that moves a
 * legacy name away, under a scheduler running for a year). */
int nf_cron__zone_there(const nf_tz *tz);
void nf_cron__leave(nf_cron_zone *z);
int64_t nf_cron__offset(const nf_cron_zone *z, int64_t t);
/* The instant at which wall time `wall` (local seconds since the epoch) happens in the
 * entered zone: its first occurrence, or after a gap the first whole minute from the
 * change on (next.c). */
int64_t nf_cron__place(const nf_cron_zone *z, int64_t wall);

#endif
