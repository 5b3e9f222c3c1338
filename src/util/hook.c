/* hook.c: the test suite's fault injection: named crash points (NTFLOW_FAULT=POINT) and
 * test-only settings (NTFLOW_TEST_*). Only this file knows whether hooks are built in: with
 * NF_TEST_HOOKS it reads the environment; without it (./ntflow, unless configured with
 * --enable-test-hooks) every hook is inert, whatever the environment says. The test suite
 * links tests/ntflow-test and the unit tests that need hooks with a copy of this file
 * compiled with NF_TEST_HOOKS, which takes the place of libntflow.a's (the archive's member
 * is then never pulled in: this file defines nothing else). */
#include "config.h"
#include "ntflow/util.h"

#include <stdlib.h>
#include <string.h>

bool
nf_test_hook(const char *point)
{
#ifdef NF_TEST_HOOKS
	const char *fault = getenv("NTFLOW_FAULT");

	return fault && strcmp(fault, point) == 0;
#else
	(void)point;
	return false;
#endif
}

const char *
nf_test_hook_value(const char *name)
{
#ifdef NF_TEST_HOOKS
	const char *v = getenv(name);

	return v && *v ? v : NULL;
#else
	(void)name;
	return NULL;
#endif
}
