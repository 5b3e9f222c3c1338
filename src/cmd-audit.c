/* cmd-audit.c: `ntflow audit verify|show|export`: check the audit hash chain and the runs'
 * Merkle roots, list the records, or write them out as JSON lines to be checked elsewhere. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"
#include "ntflow/store.h"

/* The chain covers the registry's rows too: replayed, it must give the table as it is. */
static int
audit_verify_registry(nf_store *st)
{
	nf_registry_chain_report rep;
	int rc = NF_EXIT_OK;

	if (nf_registry_chain_compare(&rep, st, NULL) < 0) {
		nf_cmd_error("audit: %s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	for (size_t i = 0; i < rep.n; i++) {
		nf_cmd_error("audit: %s", rep.lines[i]);
		rc = NF_EXIT_FAILED;
	}
	nf_registry_chain_report_release(&rep);
	return rc;
}

static int
audit_verify(nf_store *st)
{
	nf_audit_report rep;
	int err = nf_audit_verify(st, &rep), rc;

	if (err < 0) {
		nf_cmd_error("audit: %s", nf_error_last());
		return NF_EXIT_FAILED;
	}
	if (rep.problem) {
		nf_cmd_error("audit: %s", rep.problem);
		rc = NF_EXIT_FAILED;
	} else if ((rc = audit_verify_registry(st)) == NF_EXIT_OK) {
		printf("ok %zu record%s", rep.nrecords, rep.nrecords == 1 ? "" : "s");
		if (rep.nemptied)
			printf(" (%zu emptied by prune --redact-audit: their hashes verified, not their contents)",
			       rep.nemptied);
		putchar('\n');
	}
	nf_audit_report_release(&rep);
	return rc;
}

/* A record as one JSON object; the payload stays the exact text that was hashed. */
static cJSON *
record_json(const nf_audit_record *r, bool parsed_payload)
{
	cJSON *o = cJSON_CreateObject(), *p;

	cJSON_AddNumberToObject(o, "seq", (double)r->seq);
	nf_cmd_json_time(o, "time", r->time_ms);
	cJSON_AddNumberToObject(o, "time_ms", (double)r->time_ms);   /* the value hashed */
	if (r->run_id > 0)
		cJSON_AddNumberToObject(o, "run_id", (double)r->run_id);
	else
		cJSON_AddNullToObject(o, "run_id");
	cJSON_AddStringToObject(o, "kind", r->kind);
	if (parsed_payload && (p = cJSON_Parse(r->payload)))
		cJSON_AddItemToObject(o, "payload", p);
	else if (!*r->payload)   /* emptied by prune --redact-audit: what was hashed is gone */
		cJSON_AddNullToObject(o, "payload");
	else
		cJSON_AddStringToObject(o, "payload", r->payload);
	cJSON_AddStringToObject(o, "prev_hash", r->prev_hash);
	cJSON_AddStringToObject(o, "hash", r->hash);
	cJSON_AddStringToObject(o, "mac_kind", r->mac_kind);
	return o;
}

static int
audit_show(nf_store *st, const char *run_arg, bool json)
{
	nf_audit_record *rs = NULL;
	nf_audit_root *roots = NULL;
	size_t n = 0, nroots = 0;
	int64_t run = 0;
	int err, rc = NF_EXIT_FAILED;

	if (run_arg && (err = nf_cmd_run_lookup(st, run_arg, &run)) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
	}
	if (nf_audit_list(st, run, &rs, &n) < 0 || nf_audit_roots(st, run, &roots, &nroots) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (json) {
		cJSON *top = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(top, "records");
		cJSON *ra = cJSON_AddArrayToObject(top, "roots");
		char *text;

		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, record_json(&rs[i], true));
		for (size_t i = 0; i < nroots; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "run_id", (double)roots[i].run_id);
			cJSON_AddStringToObject(o, "root", roots[i].root);
			cJSON_AddNumberToObject(o, "count", (double)roots[i].count);
			cJSON_AddNumberToObject(o, "last_seq", (double)roots[i].last_seq);
			cJSON_AddItemToArray(ra, o);
		}
		text = nf_json_print(top, true);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(top);
	} else if (n == 0) {
		printf(run ? "no audit records for run %lld\n" : "no audit records yet\n", (long long)run);
	} else {
		size_t wkind = 4, wseq = 3;

		for (size_t i = 0; i < n; i++) {
			char s[32];

			if (strlen(rs[i].kind) > wkind)
				wkind = strlen(rs[i].kind);
			snprintf(s, sizeof(s), "%lld", (long long)rs[i].seq);
			if (strlen(s) > wseq)
				wseq = strlen(s);
		}
		printf("%*s  %-19s  %4s  %-*s  %-12s  PAYLOAD\n", (int)wseq, "SEQ", "TIME", "RUN", (int)wkind, "KIND", "HASH");
		for (size_t i = 0; i < n; i++) {
			char t[32], runs[24];

			nf_store_fmt_local_time(t, sizeof(t), rs[i].time_ms);
			snprintf(runs, sizeof(runs), rs[i].run_id > 0 ? "%lld" : "-", (long long)rs[i].run_id);
			nf_cmd_printf("%*lld  %-19s  %4s  %-*s  %.12s%s  %s\n", (int)wseq, (long long)rs[i].seq, t, runs, (int)wkind,
			       rs[i].kind, rs[i].hash, strcmp(rs[i].mac_kind, "hmac") == 0 ? "*" : "",
			       *rs[i].payload ? rs[i].payload : "- (emptied by prune)");
		}
		for (size_t i = 0; i < nroots; i++)
			printf("run %lld: Merkle root %s over %lld records\n", (long long)roots[i].run_id, roots[i].root,
			       (long long)roots[i].count);
	}
	rc = NF_EXIT_OK;
done:
	nf_audit_record_list_free(rs, n);
	free(roots);
	return rc;
}

static int
audit_export(nf_store *st, const char *path)
{
	nf_audit_record *rs = NULL;
	nf_audit_root *roots = NULL;
	size_t n = 0, nroots = 0;
	nf_buf b = NF_BUF_INIT;
	int rc = NF_EXIT_FAILED;

	if (nf_audit_list(st, 0, &rs, &n) < 0 || nf_audit_roots(st, 0, &roots, &nroots) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *o = record_json(&rs[i], false);
		char *line;

		cJSON_AddStringToObject(o, "type", "record");
		line = nf_json_print(o, false);
		nf_buf_printf(&b, "%s\n", line);
		free(line);
		cJSON_Delete(o);
	}
	for (size_t i = 0; i < nroots; i++) {
		cJSON *o = cJSON_CreateObject();
		char *line;

		cJSON_AddStringToObject(o, "type", "root");
		cJSON_AddNumberToObject(o, "run_id", (double)roots[i].run_id);
		cJSON_AddStringToObject(o, "root", roots[i].root);
		cJSON_AddNumberToObject(o, "count", (double)roots[i].count);
		cJSON_AddNumberToObject(o, "last_seq", (double)roots[i].last_seq);
		line = nf_json_print(o, false);
		nf_buf_printf(&b, "%s\n", line);
		free(line);
		cJSON_Delete(o);
	}
	if (strcmp(path, "-") == 0) {
		fwrite(nf_buf_cstr(&b), 1, b.len, stdout);
	} else {
		if (nf_write_file_atomic(path, nf_buf_cstr(&b), b.len) < 0) {
			nf_cmd_error("%s", nf_error_last());
			goto done;
		}
		printf("%zu record%s and %zu root%s written to %s\n", n, n == 1 ? "" : "s", nroots,
		       nroots == 1 ? "" : "s", path);
	}
	rc = NF_EXIT_OK;
done:
	nf_buf_release(&b);
	nf_audit_record_list_free(rs, n);
	free(roots);
	return rc;
}

static int
cmd_audit_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "run",   required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const subs[] = { "verify", "show", "export" };
	const char *run = NULL, *sub;
	nf_store *st = NULL;
	char *dir = NULL;
	int c, want, oerr, rc = NF_EXIT_USAGE;

	while ((c = nf_cmd_getopt(&nf_cmd_audit, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP: return NF_EXIT_OK;
		case 'r': run = optarg; break;
		default: return NF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		nf_cmd_eprintf("ntflow audit: which subcommand? (verify, show or export)\n");
		nf_cmd_usage(&nf_cmd_audit, stderr);
		return NF_EXIT_USAGE;
	}
	sub = argv[optind];
	if (strcmp(sub, "verify") && strcmp(sub, "show") && strcmp(sub, "export")) {
		const char *hint = nf_suggest(sub, subs, NF_ARRAY_SIZE(subs));

		if (hint)
			nf_cmd_eprintf("ntflow audit: no subcommand '%s'; did you mean '%s'?\n", sub, hint);
		else
			nf_cmd_eprintf("ntflow audit: no subcommand '%s' (verify, show or export)\n", sub);
		nf_cmd_usage(&nf_cmd_audit, stderr);
		return NF_EXIT_USAGE;
	}
	want = strcmp(sub, "export") == 0 ? 2 : 1;
	if (argc - optind != want) {
		nf_cmd_eprintf("ntflow audit: %s\n", argc - optind < want ? "export: to which file? (ntflow audit export FILE.jsonl)"
			: "too many arguments");
		nf_cmd_usage(&nf_cmd_audit, stderr);
		return NF_EXIT_USAGE;
	}
	if ((run || nf_cmd_opt.json) && strcmp(sub, "show")) {
		nf_cmd_eprintf("ntflow audit: --run and --json go with 'audit show'\n");
		return NF_EXIT_USAGE;
	}
	rc = NF_EXIT_FAILED;
	if ((oerr = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(oerr);
		goto done;
	}
	if (!strcmp(sub, "verify"))
		rc = audit_verify(st);
	else if (!strcmp(sub, "show"))
		rc = audit_show(st, run, nf_cmd_opt.json);
	else
		rc = audit_export(st, argv[optind + 1]);
done:
	nf_store_close(st);
	free(dir);
	return rc;
}

const nf_cmd nf_cmd_audit = {
	.name    = "audit",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage   = "audit verify [--state DIR]\n"
		   "   or: ntflow audit show [--run RUN] [--json] [--state DIR]\n"
		   "   or: ntflow audit export FILE.jsonl [--state DIR]",
	.summary = "Verify, show or export the tamper-evident audit log.",
	.help    =
		"Every run start and end, node outcome, gate decision, registry change, alert and\n"
		"acknowledgement is a record of a SHA-256 hash chain (HMAC-SHA256 when\n"
		"NTFLOW_AUDIT_KEY names a key file, private to its owner); each finished run\n"
		"stores a Merkle root over its records. A run's cached nodes share records of\n"
		"kind 'nodes', up to 256 each. ntflow(1) defines the hashes exactly.\n\n"
		"  verify       walk the chain and the roots: 'ok N records' (exit 0), or the first\n"
		"               record that was edited, deleted or inserted (exit 1); then compare\n"
		"               the registry's rows with what the chain records (each version and\n"
		"               column changed outside ntflow, exit 1)\n"
		"  show         the records, oldest first (* marks an HMAC), then the runs' roots\n"
		"    --run RUN  only one run's records\n"
		"    --json     {\"records\": [...], \"roots\": [...]}\n"
		"  export FILE  write every record and root as JSON lines (\"-\": standard output),\n"
		"               each payload as the exact text that was hashed\n"
		"  --state DIR  the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"               root of the git repository holding the current directory)\n",
	.exec    = cmd_audit_exec,
};
