/* lineage.c: an OpenLineage RunEvent as JSON from a run's or a stage attempt's facts, and the
 * runIds: values in, cJSON out, nothing read or sent here (lineage-emit.c sends). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ntflow/lineage.h"
#include "ntflow/util.h"

#define PRODUCER "https://github.com/ntflow/ntflow/tree/v" PACKAGE_VERSION
#define FACETS "https://openlineage.io/spec/facets/1-0-0/"
/* ntflow's own facets: the spec wants a _schemaURL for each custom facet; this names where
 * ntflow documents them. */
#define NTFLOW_FACET "https://github.com/ntflow/ntflow/blob/v" PACKAGE_VERSION "/man/ntflow-dag.5#lineage"

/* "2026-12-02T15:04:05.123Z" */
static void
iso_ms(char out[64], int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 64 - n, ".%03uZ", (unsigned)((ms % 1000 + 1000) % 1000));
}

/* A facet object with the two fields every facet has. */
static cJSON *
facet(cJSON *parent, const char *name, const char *schema_url)
{
	cJSON *f = cJSON_AddObjectToObject(parent, name);

	cJSON_AddStringToObject(f, "_producer", PRODUCER);
	cJSON_AddStringToObject(f, "_schemaURL", schema_url);
	return f;
}

static void
add_datasets(cJSON *ev, const char *key, const char *ns, const nf_lineage_dataset *ds, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(ev, key);

	for (size_t i = 0; i < n; i++) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "namespace", ns ? ns : "file://localhost");
		cJSON_AddStringToObject(d, "name", ds[i].name);
		if (ds[i].identity) {
			cJSON *facets = cJSON_AddObjectToObject(d, "facets");
			cJSON *f = facet(facets, "ntflow_identity", NTFLOW_FACET "-identity");

			/* Which content it was: git's id when git knows the path, else SHA-256. */
			cJSON_AddStringToObject(f, "identity", ds[i].identity);
		}
		cJSON_AddItemToArray(arr, d);
	}
}

cJSON *
nf_lineage_event_json(const nf_lineage_event *ev)
{
	cJSON *j = cJSON_CreateObject(), *run, *facets, *job, *f;
	char when[64];

	iso_ms(when, ev->time_ms);
	cJSON_AddStringToObject(j, "eventType", ev->type);
	cJSON_AddStringToObject(j, "eventTime", when);
	cJSON_AddStringToObject(j, "producer", PRODUCER);
	cJSON_AddStringToObject(j, "schemaURL", NF_LINEAGE_SCHEMA_URL);

	run = cJSON_AddObjectToObject(j, "run");
	cJSON_AddStringToObject(run, "runId", ev->run_uuid);
	facets = cJSON_AddObjectToObject(run, "facets");
	if (ev->parent_uuid && ev->parent_job) {
		cJSON *p;

		f = facet(facets, "parent", FACETS "ParentRunFacet.json#/$defs/ParentRunFacet");
		p = cJSON_AddObjectToObject(f, "run");
		cJSON_AddStringToObject(p, "runId", ev->parent_uuid);
		p = cJSON_AddObjectToObject(f, "job");
		cJSON_AddStringToObject(p, "namespace", ev->ns);
		cJSON_AddStringToObject(p, "name", ev->parent_job);
	}
	if (ev->nominal_start && ev->nominal_start[0]) {
		f = facet(facets, "nominalTime", FACETS "NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet");
		cJSON_AddStringToObject(f, "nominalStartTime", ev->nominal_start);
		if (ev->nominal_end && ev->nominal_end[0])
			cJSON_AddStringToObject(f, "nominalEndTime", ev->nominal_end);
	}
	if (ev->error) {
		f = facet(facets, "errorMessage", FACETS "ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet");
		cJSON_AddStringToObject(f, "message", ev->error);
		cJSON_AddStringToObject(f, "programmingLanguage", "shell");
	}
	/* ntflow's own words, so that a reader finds the run in `ntflow runs`/`ntflow show`. */
	f = facet(facets, "ntflow", NTFLOW_FACET);
	cJSON_AddNumberToObject(f, "run", (double)ev->run_id);
	if (ev->node) {
		cJSON_AddStringToObject(f, "node", ev->node);
		cJSON_AddNumberToObject(f, "attempt", ev->attempt);
	}
	if (ev->state)
		cJSON_AddStringToObject(f, "state", ev->state);

	job = cJSON_AddObjectToObject(j, "job");
	cJSON_AddStringToObject(job, "namespace", ev->ns);
	cJSON_AddStringToObject(job, "name", ev->job);
	if (ev->node || ev->ninputs || ev->noutputs) {
		add_datasets(j, "inputs", ev->dataset_ns, ev->inputs, ev->ninputs);
		add_datasets(j, "outputs", ev->dataset_ns, ev->outputs, ev->noutputs);
	}
	return j;
}

void
nf_lineage_uuid(char out[37], const char *store_id, int64_t run_id, const char *node, int attempt)
{
	/* RFC 4122 name-based: SHA-1 of a namespace and a name. The name holds the store id so
	 * that run 1 of two workspaces (or of a workspace started afresh) differ. */
	static const unsigned char ns[16] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
					      0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };   /* URL */
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *name = node ? xasprintf("ntflow:%s/%" PRId64 "/%s/%d", store_id ? store_id : "", run_id, node, attempt)
			  : xasprintf("ntflow:%s/%" PRId64, store_id ? store_id : "", run_id);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t k = 0;

	if (!c)
		abort();   /* its only failure: memory, as xmalloc's */
	EVP_DigestInit_ex(c, EVP_sha1(), NULL);
	EVP_DigestUpdate(c, ns, sizeof(ns));
	EVP_DigestUpdate(c, name, strlen(name));
	EVP_DigestFinal_ex(c, md, &len);
	EVP_MD_CTX_free(c);
	free(name);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);   /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);   /* the RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		snprintf(out + k, 3, "%02x", md[i]);
		k += 2;
	}
	out[k] = '\0';
}
