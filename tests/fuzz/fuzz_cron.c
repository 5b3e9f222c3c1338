/* fuzz_cron.c: cron expressions (src/cron) on any text: parsing, and the next fire times of
 * what parses, in UTC and in Europe/Berlin (DST), from a start time the input picks.
 * Properties: an error names a field (or the whole expression) and an offset inside the
 * text, with a message; each fire time is later than the one before; in UTC a fire time
 * is a whole minute whose minute, hour and month the expression allows. */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/cron.h"
#include "ntflow/util.h"

/* Whole minutes, hours and months of a UTC instant (days since the epoch, civil). */
static void
check_utc_fields(const nf_cron *c, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, secs = t - days * 86400;
	int minute = (int)(secs / 60 % 60), hour = (int)(secs / 3600);

	FUZZ_CHECK(secs % 60 == 0);
	FUZZ_CHECK(c->minute >> minute & 1);
	FUZZ_CHECK(c->hour >> hour & 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	nf_cron_error e = { 99, 99 };
	uint32_t h = 2166136261u;
	nf_cron c;
	nf_tz utc, berlin;
	int err;

	memcpy(text, data, size);
	text[size] = '\0';
	err = nf_cron_parse(&c, text, &e);
	if (err < 0) {
		FUZZ_CHECK(err == NF_EINVALID);
		FUZZ_CHECK(e.field >= -1 && e.field < NF_CRON_NFIELDS);
		FUZZ_CHECK(e.offset >= -1 && (size_t)(e.offset + 1) <= strlen(text) + 1);
		FUZZ_CHECK(*nf_error_last());
		free(text);
		return 0;
	}
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	FUZZ_CHECK(nf_tz_open(&utc, "UTC") == 0);
	for (int z = 0; z < 2; z++) {
		/* 1970 to about 2106, from the input's hash */
		int64_t t = (int64_t)h, next;

		if (z == 1 && nf_tz_open(&berlin, "Europe/Berlin") < 0)
			break;  /* no tz database here */
		for (int k = 0; k < 4; k++) {
			err = nf_cron_next(&c, z ? &berlin : &utc, t, &next);
			FUZZ_CHECK(err == 0 || err == NF_ENOTFOUND);
			if (err < 0)
				break;
			FUZZ_CHECK(next > t);
			if (!z)
				check_utc_fields(&c, next);
			t = next;
		}
	}
	free(text);
	return 0;
}
