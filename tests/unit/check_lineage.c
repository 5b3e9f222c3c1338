/* check_lineage.c: unit tests of the OpenLineage events (src/gov/lineage.c): the run's and a
 * stage attempt's RunEvent field by field (the parts the spec requires, the facets with
 * _producer and _schemaURL), eventTime's form, the name-based runIds (stable, distinct, UUID
 * version 5 layout); and of their emission (lineage-emit.c): lines appended to a file, a
 * failing file or endpoint reported once and then dropped. */
#include "config.h"
#include "ntflow/lineage.h"
#include "ntflow/util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *
str(const cJSON *j, const char *path)
{
	/* "a.b.c": nested objects */
	char buf[256], *save = NULL, *k;
	const cJSON *v = j;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *
obj(const cJSON *j, const char *path)
{
	char buf[256], *save = NULL, *k;
	const cJSON *v = j;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, k);
	return v;
}

/* Every facet under j (an object of facets) has the two fields the spec requires. */
static void
facets_complete(const cJSON *facets)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, facets) {
		ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(f, "_producer")), "%s: no _producer", f->string);
		ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(f, "_schemaURL")), "%s: no _schemaURL", f->string);
	}
}

START_TEST(test_run_event)
{
	nf_lineage_event ev = { .type = "START", .time_ms = 1764687845123LL, .ns = "ntflow", .job = "demo",
				.run_uuid = "01234567-89ab-5cde-8f01-23456789abcd", .run_id = 7,
				.nominal_start = "2026-12-01T00:00:00Z", .nominal_end = "2026-12-02T00:00:00Z" };
	cJSON *j = nf_lineage_event_json(&ev);

	ck_assert_str_eq(str(j, "eventType"), "START");
	ck_assert_str_eq(str(j, "eventTime"), "2025-12-02T15:04:05.123Z");
	ck_assert_str_eq(str(j, "schemaURL"), NF_LINEAGE_SCHEMA_URL);
	ck_assert_ptr_nonnull(strstr(str(j, "producer"), "https://github.com/ntflow/ntflow/"));
	ck_assert_str_eq(str(j, "run.runId"), ev.run_uuid);
	ck_assert_str_eq(str(j, "job.namespace"), "ntflow");
	ck_assert_str_eq(str(j, "job.name"), "demo");
	ck_assert_str_eq(str(j, "run.facets.nominalTime.nominalStartTime"), "2026-12-01T00:00:00Z");
	ck_assert_str_eq(str(j, "run.facets.nominalTime.nominalEndTime"), "2026-12-02T00:00:00Z");
	ck_assert_int_eq((int)cJSON_GetNumberValue(obj(j, "run.facets.ntflow.run")), 7);
	/* the run's own event: no parent, no error, no datasets */
	ck_assert_ptr_null(obj(j, "run.facets.parent"));
	ck_assert_ptr_null(obj(j, "run.facets.errorMessage"));
	ck_assert_ptr_null(obj(j, "inputs"));
	ck_assert_ptr_null(obj(j, "outputs"));
	facets_complete(obj(j, "run.facets"));
	cJSON_Delete(j);

	ev.time_ms = 0;
	ev.nominal_start = "";
	j = nf_lineage_event_json(&ev);
	ck_assert_str_eq(str(j, "eventTime"), "1970-01-01T00:00:00.000Z");
	ck_assert_ptr_null(obj(j, "run.facets.nominalTime"));
	cJSON_Delete(j);
}
END_TEST

START_TEST(test_stage_event)
{
	nf_lineage_dataset in[] = { { "/p/data.csv", "blob:45b983be36b73c0788dc9cbcb76cbb80fc7bb057" }, { "/p/raw", NULL } };
	nf_lineage_dataset out[] = { { "/p/build/model.pkl", "sha256:00ff" } };
	nf_lineage_event ev = { .type = "FAIL", .time_ms = 1000, .ns = "team", .job = "demo.train[lr=0.1]",
				.run_uuid = "u-stage", .parent_job = "demo", .parent_uuid = "u-run", .error = "exit 3",
				.run_id = 2, .node = "train[lr=0.1]", .attempt = 2, .state = "timed-out",
				.dataset_ns = "file://host1", .inputs = in, .ninputs = 2, .outputs = out, .noutputs = 1 };
	cJSON *j = nf_lineage_event_json(&ev);
	const cJSON *ins, *d;

	ck_assert_str_eq(str(j, "eventType"), "FAIL");
	ck_assert_str_eq(str(j, "job.name"), "demo.train[lr=0.1]");
	ck_assert_str_eq(str(j, "run.facets.parent.run.runId"), "u-run");
	ck_assert_str_eq(str(j, "run.facets.parent.job.name"), "demo");
	ck_assert_str_eq(str(j, "run.facets.parent.job.namespace"), "team");
	ck_assert_str_eq(str(j, "run.facets.errorMessage.message"), "exit 3");
	ck_assert_str_eq(str(j, "run.facets.ntflow.node"), "train[lr=0.1]");
	ck_assert_str_eq(str(j, "run.facets.ntflow.state"), "timed-out");
	ck_assert_int_eq((int)cJSON_GetNumberValue(obj(j, "run.facets.ntflow.attempt")), 2);
	facets_complete(obj(j, "run.facets"));
	ins = obj(j, "inputs");
	ck_assert_int_eq(cJSON_GetArraySize(ins), 2);
	d = cJSON_GetArrayItem(ins, 0);
	ck_assert_str_eq(str(d, "namespace"), "file://host1");
	ck_assert_str_eq(str(d, "name"), "/p/data.csv");
	ck_assert_str_eq(str(d, "facets.ntflow_identity.identity"), in[0].identity);
	facets_complete(obj(d, "facets"));
	/* an unknown identity: no facet at all (not an empty one) */
	ck_assert_ptr_null(obj(cJSON_GetArrayItem(ins, 1), "facets"));
	d = cJSON_GetArrayItem(obj(j, "outputs"), 0);
	ck_assert_str_eq(str(d, "facets.ntflow_identity.identity"), "sha256:00ff");
	cJSON_Delete(j);

	/* a node's event without datasets still has both lists, empty */
	ev.ninputs = ev.noutputs = 0;
	j = nf_lineage_event_json(&ev);
	ck_assert_int_eq(cJSON_GetArraySize(obj(j, "inputs")), 0);
	ck_assert_int_eq(cJSON_GetArraySize(obj(j, "outputs")), 0);
	cJSON_Delete(j);
}
END_TEST

static bool
uuid_shaped(const char *u)
{
	if (strlen(u) != 36 || u[14] != '5' || !strchr("89ab", u[19]))
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !strchr("0123456789abcdef", u[i]))
			return false;
	}
	return true;
}

START_TEST(test_uuid)
{
	char a[37], b[37], c[37];

	nf_lineage_uuid(a, "store-1", 4, NULL, 0);
	nf_lineage_uuid(b, "store-1", 4, NULL, 0);
	ck_assert_msg(uuid_shaped(a), "%s", a);
	ck_assert_str_eq(a, b);                       /* stable: START and its end agree */
	nf_lineage_uuid(b, "store-2", 4, NULL, 0);     /* another workspace */
	ck_assert_str_ne(a, b);
	nf_lineage_uuid(b, "store-1", 5, NULL, 0);     /* another run */
	ck_assert_str_ne(a, b);
	nf_lineage_uuid(b, "store-1", 4, "train", 1);  /* a node of the run */
	ck_assert_msg(uuid_shaped(b), "%s", b);
	ck_assert_str_ne(a, b);
	nf_lineage_uuid(c, "store-1", 4, "train", 2);  /* its next attempt */
	ck_assert_str_ne(b, c);
	nf_lineage_uuid(c, "store-1", 4, "train[lr=1]", 1);
	ck_assert_str_ne(b, c);
	nf_lineage_uuid(c, "store-1", 4, "train", 1);
	ck_assert_str_eq(b, c);
}
END_TEST

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/check_lineage.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return xstrdup(tmpl);
}

START_TEST(test_sink_file)
{
	char *dir = tmpdir(), *path = xasprintf("%s/events.jsonl", dir), *text = NULL;
	size_t len;
	nf_lineage_sink *s;
	FILE *f = fopen(path, "w");

	fputs("{\"earlier\":1}\n", f);   /* appended to, never truncated */
	fclose(f);
	s = nf_lineage_sink_new(path, NULL, 1000);
	ck_assert_int_eq(nf_lineage_sink_send(s, "{\"a\":1}"), 0);
	ck_assert_int_eq(nf_lineage_sink_send(s, "{\"b\":2}"), 0);
	nf_lineage_sink_free(s);
	ck_assert_int_eq(nf_read_file(&text, &len, path, 0), 0);
	ck_assert_str_eq(text, "{\"earlier\":1}\n{\"a\":1}\n{\"b\":2}\n");
	free(text);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_sink_failures_once)
{
	char *dir = tmpdir(), *path = xasprintf("%s/missing/events.jsonl", dir);
	nf_lineage_sink *s = nf_lineage_sink_new(path, NULL, 1000);

	ck_assert_int_lt(nf_lineage_sink_send(s, "{}"), 0);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), path));
	ck_assert_int_eq(nf_lineage_sink_send(s, "{}"), 0);   /* dropped: said once */
	nf_lineage_sink_free(s);

	/* Port 1 on the loopback refuses at once: nothing leaves the machine. */
	s = nf_lineage_sink_new(NULL, "http://127.0.0.1:1/api/v1/lineage", 1000);
	ck_assert_int_lt(nf_lineage_sink_send(s, "{}"), 0);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "cannot send to http://127.0.0.1:1/api/v1/lineage"));
	ck_assert_int_eq(nf_lineage_sink_send(s, "{}"), 0);
	nf_lineage_sink_free(s);

	/* Both on the same event: one message naming both. */
	s = nf_lineage_sink_new(path, "http://127.0.0.1:1/x", 1000);
	ck_assert_int_lt(nf_lineage_sink_send(s, "{}"), 0);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), path));
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "http://127.0.0.1:1/x"));
	ck_assert_int_eq(nf_lineage_sink_send(s, "{}"), 0);
	nf_lineage_sink_free(s);
	nf_lineage_sink_free(NULL);
	rmdir(dir);
	free(path);
	free(dir);
}
END_TEST

static Suite *
lineage_suite(void)
{
	Suite *s = suite_create("lineage");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_run_event);
	tcase_add_test(tc, test_stage_event);
	tcase_add_test(tc, test_uuid);
	tcase_add_test(tc, test_sink_file);
	tcase_add_test(tc, test_sink_failures_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lineage_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
