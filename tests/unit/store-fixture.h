/* store-fixture.h: a fresh folder for a state database per test (tmpdir, dbpath), for the
 * unit tests of the store (check_store, check_store_coalesce). Included by one file each. */
#ifndef NTFLOW_TESTS_STORE_FIXTURE_H
#define NTFLOW_TESTS_STORE_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[64];
static char dbpath[128];

static void
tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
	unsetenv("NTFLOW_BUSY_TIMEOUT_MS");
	unsetenv("NTFLOW_STATE");
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

#endif
