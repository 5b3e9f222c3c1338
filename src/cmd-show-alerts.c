/* cmd-show-alerts.c: the drift alerts a run raised, as `ntflow show` prints them (after
 * its gates) and as the "alerts" array of `ntflow show --json`; an alert as JSON for both
 * show and `ntflow alerts --json`. */
#include "config.h"
#include "ntflow/cmd.h"

#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/gov.h"

void
nf_show_alerts_text(const struct nf_alert *as, size_t n)
{
	size_t wname = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(as[i].monitor) + 1 + strlen(as[i].rule);

		if (w > wname)
			wname = w;
	}
	nf_cmd_printf("\nalerts\n");
	for (size_t i = 0; i < n; i++) {
		const nf_alert *a = &as[i];
		int pad = (int)(wname - strlen(a->monitor) - 1 - strlen(a->rule));

		nf_cmd_printf("  %s/%s%*s  %-6s  %s  (alert %lld, ", a->monitor, a->rule, pad, "", nf_severity_name(a->severity),
		       a->summary && *a->summary ? a->summary : a->expr, (long long)a->id);
		if (a->count > 1)
			nf_cmd_printf("seen %lld times since run %lld, ", (long long)a->count, (long long)a->run_id);
		if (a->acked_ms)
			nf_cmd_printf("acked by %s)\n", a->ack_by ? a->ack_by : "?");
		else
			nf_cmd_printf("open%s)\n", a->triggered ? ", run requested" : "");
	}
}

cJSON *
nf_alert_json(const struct nf_alert *a, bool whole)
{
	cJSON *o = cJSON_CreateObject(), *vals = cJSON_Parse(a->values_json ? a->values_json : "{}");

	cJSON_AddNumberToObject(o, "id", (double)a->id);
	if (whole) {
		cJSON_AddNumberToObject(o, "run_id", (double)a->run_id);
		cJSON_AddStringToObject(o, "pipeline", a->pipeline);
	}
	cJSON_AddStringToObject(o, "monitor", a->monitor);
	cJSON_AddStringToObject(o, "rule", a->rule);
	cJSON_AddStringToObject(o, "severity", nf_severity_name(a->severity));
	cJSON_AddStringToObject(o, "when", a->expr);
	cJSON_AddItemToObject(o, "values", vals ? vals : cJSON_CreateObject());
	if (a->has_value)
		cJSON_AddNumberToObject(o, "value", a->value);
	else
		cJSON_AddNullToObject(o, "value");
	if (a->has_threshold)
		cJSON_AddNumberToObject(o, "threshold", a->threshold);
	else
		cJSON_AddNullToObject(o, "threshold");
	cJSON_AddStringToObject(o, "summary", a->summary ? a->summary : "");
	if (whole)
		nf_cmd_json_time(o, "created", a->created_ms);
	cJSON_AddBoolToObject(o, "open", a->acked_ms == 0);
	cJSON_AddBoolToObject(o, "triggered", a->triggered);
	cJSON_AddNumberToObject(o, "count", (double)a->count);
	if (!whole)
		cJSON_AddNumberToObject(o, "first_run", (double)a->run_id);
	if (whole) {
		nf_cmd_json_time(o, "last_seen", a->last_seen_ms);
		cJSON_AddNumberToObject(o, "last_run", (double)a->last_run_id);
		if (a->data_key)
			cJSON_AddStringToObject(o, "data_key", a->data_key);
		else
			cJSON_AddNullToObject(o, "data_key");
	}
	if (!whole)
		return o;
	nf_cmd_json_time(o, "acked", a->acked_ms);
	if (a->ack_by)
		cJSON_AddStringToObject(o, "acked_by", a->ack_by);
	else
		cJSON_AddNullToObject(o, "acked_by");
	if (a->ack_note)
		cJSON_AddStringToObject(o, "note", a->ack_note);
	else
		cJSON_AddNullToObject(o, "note");
	return o;
}

void
nf_show_alerts_json(struct cJSON *top, const struct nf_alert *as, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(top, "alerts");

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, nf_alert_json(&as[i], false));
}
