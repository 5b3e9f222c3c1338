/* page.c: the frame of a report page: one HTML5 document with its CSS inline (no script, no
 * link to anything outside it), sections, ids, table cells and the run's header. */
#include "config.h"
#include "report-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

/* The palette is Tableau 10's first eight; states as the dashboard colours them. */
static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;"
	"background:#f6f7f9;margin:0;padding:0 24px 40px}"
	"header.top{background:#1d2330;color:#fff;margin:0 -24px 20px;padding:16px 24px}"
	"header.top h1{margin:0;font-size:22px}header.top p{margin:4px 0 0;color:#c7cdd8}"
	"section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 18px 16px;margin:0 0 18px}"
	"h2{font-size:17px;margin:4px 0 10px}h3{font-size:14px;margin:14px 0 6px}"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:0}"
	"dl.meta dt{color:#5b6475}dl.meta dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}"
	"table{border-collapse:collapse;margin:4px 0}th,td{border-bottom:1px solid #e6e9ee;padding:3px 10px;"
	"text-align:left;vertical-align:top}th{background:#f0f2f5;font-weight:600}td.num{text-align:right;"
	"font-variant-numeric:tabular-nums}"
	".pass,.status-succeeded,td.verdict-pass{color:#1b7f3b;font-weight:600}"
	".fail,.status-failed,.status-crashed,td.verdict-fail{color:#c0392b;font-weight:600}"
	".status-rejected,.status-gated,.status-cancelled{color:#b9770e;font-weight:600}"
	".changed{background:#fff4d6}.up{color:#1b7f3b}.down{color:#c0392b}"
	".grid-charts{display:flex;flex-wrap:wrap;gap:14px}"
	"figure.plot{margin:0;border:1px solid #e6e9ee;border-radius:4px;padding:8px;background:#fff}"
	"figure.plot figcaption{font-size:12px;color:#5b6475;margin-top:4px}"
	"figure.plot img{max-width:540px;display:block}"
	"svg.chart{display:block;font-size:11px}svg .ctitle{font-size:13px;font-weight:600;fill:#1d2330}"
	"svg .grid{stroke:#eceff3}svg .tick,svg .domain{stroke:#7a8394}svg .ticklabel{fill:#5b6475}"
	"svg .axislabel{fill:#1d2330}svg .empty{fill:#9aa1ad;font-size:13px}"
	"svg .line{fill:none;stroke-width:2}svg .dashed .line,svg .dashed .swatch{stroke-dasharray:6 4}"
	"svg .swatch{stroke-width:3}svg .legendlabel{fill:#1d2330}"
	"svg .chance{stroke:#9aa1ad;stroke-dasharray:4 4}"
	"svg .thresholdline{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:8 4}"
	"svg .thresholdlabel{fill:#c0392b;font-size:11px}"
	".s0 .line,.s0 .swatch{stroke:#4e79a7}.s0 .dot,.s0 .bar{fill:#4e79a7}"
	".s1 .line,.s1 .swatch{stroke:#f28e2b}.s1 .dot,.s1 .bar{fill:#f28e2b}"
	".s2 .line,.s2 .swatch{stroke:#59a14f}.s2 .dot,.s2 .bar{fill:#59a14f}"
	".s3 .line,.s3 .swatch{stroke:#e15759}.s3 .dot,.s3 .bar{fill:#e15759}"
	".s4 .line,.s4 .swatch{stroke:#76b7b2}.s4 .dot,.s4 .bar{fill:#76b7b2}"
	".s5 .line,.s5 .swatch{stroke:#edc948}.s5 .dot,.s5 .bar{fill:#edc948}"
	".s6 .line,.s6 .swatch{stroke:#b07aa1}.s6 .dot,.s6 .bar{fill:#b07aa1}"
	".s7 .line,.s7 .swatch{stroke:#9c755f}.s7 .dot,.s7 .bar{fill:#9c755f}"
	"svg.gantt .rowlabel{fill:#1d2330;font-size:12px}svg.gantt .rowband{fill:#f6f7f9}"
	"svg.gantt .attempt{stroke:#fff;stroke-width:1}"
	".state-succeeded{fill:#59a14f}.state-cached{fill:#a0cbe8}.state-failed{fill:#e15759}"
	".state-timed-out{fill:#b9770e}.state-skipped{fill:#c9ced6}.state-cancelled{fill:#9aa1ad}"
	".state-running,.state-retrying{fill:#f28e2b}.state-waiting,.state-ready{fill:#dde1e7}"
	".state-rejected{fill:#edc948}.state-passed{fill:#59a14f}"
	"svg.gantt .retry{opacity:.75;stroke:#c0392b;stroke-width:1.5}"
	"table.confusion td{text-align:center;min-width:44px;font-variant-numeric:tabular-nums}"
	"table.confusion th.corner{background:#fff;color:#5b6475;font-weight:400;font-size:12px}"
	".legend-states span{display:inline-block;margin-right:12px;font-size:12px}"
	"b.key-succeeded{color:#59a14f}b.key-cached{color:#a0cbe8}b.key-failed{color:#e15759}"
	"b.key-timed-out{color:#b9770e}b.key-skipped{color:#c9ced6}b.key-cancelled{color:#9aa1ad}"
	"b.key-running{color:#f28e2b}b.key-rejected{color:#edc948}"
	"details summary{cursor:pointer;color:#5b6475;margin:4px 0}caption{text-align:left;padding:4px 0;font-weight:600}"
	"td.cohort,td.dates{white-space:nowrap}"
	".note{color:#5b6475;font-size:12px}footer{color:#7a8394;font-size:12px;margin-top:24px}";

void
nf_rpt_page_begin(nf_buf *out, const char *title)
{
	nf_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<meta name=\"generator\" content=\"ntflow " PACKAGE_VERSION "\">\n<title>");
	nf_html_escape(out, title);
	nf_buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
}

void
nf_rpt_page_end(nf_buf *out, const nf_report_opts *o)
{
	char t[40];

	nf_rpt_time(t, sizeof(t), o->now_ms);
	nf_buf_printf(out, "<footer>Made by ntflow %s at %s. One file: no script, nothing loaded from"
		      " elsewhere.</footer>\n</body>\n</html>\n", PACKAGE_VERSION, t);
}

void
nf_rpt_section(nf_buf *out, const char *id, const char *heading)
{
	nf_buf_printf(out, "<section id=\"%s\">\n<h2>", id);
	nf_html_escape(out, heading);
	nf_buf_puts(out, "</h2>\n");
}

void
nf_rpt_section_end(nf_buf *out)
{
	nf_buf_puts(out, "</section>\n");
}

static void
id_part(nf_buf *out, const char *s)
{
	for (; s && *s; s++) {
		char c = *s;

		nf_buf_putc(out, (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				 c == '-' || c == '_' ? c : '_');
	}
}

void
nf_rpt_id(nf_buf *out, const char *prefix, const char *a, const char *b)
{
	nf_buf_puts(out, prefix);
	if (a) {
		nf_buf_putc(out, '-');
		id_part(out, a);
	}
	if (b) {
		nf_buf_putc(out, '-');
		id_part(out, b);
	}
}

void
nf_rpt_time(char *out, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void
nf_rpt_td(nf_buf *out, const char *cls, const char *s)
{
	if (cls) {
		nf_buf_puts(out, "<td class=\"");
		nf_html_escape(out, cls);
		nf_buf_puts(out, "\">");
	} else {
		nf_buf_puts(out, "<td>");
	}
	nf_html_escape(out, s ? s : "-");
	nf_buf_puts(out, "</td>");
}

void
nf_rpt_td_num(nf_buf *out, double v)
{
	char b[48];

	nf_html_num(b, sizeof(b), v);
	nf_buf_printf(out, "<td class=\"num\">%s</td>", b);
}

static void
dt(nf_buf *out, const char *term, const char *cls, const char *value)
{
	nf_buf_printf(out, "<dt>%s</dt><dd", term);
	if (cls) {
		nf_buf_puts(out, " class=\"");
		nf_html_escape(out, cls);
		nf_buf_putc(out, '"');
	}
	nf_buf_putc(out, '>');
	nf_html_escape(out, value && *value ? value : "-");
	nf_buf_puts(out, "</dd>\n");
}

void
nf_rpt_run_header(nf_buf *out, nf_store *st, const nf_run_info *run)
{
	nf_run_repro repro = { 0 };
	char t1[40], t2[40], dur[32], *cls;
	bool have_repro = nf_store_run_repro_get(st, run->id, &repro) == 0;
	cJSON *params = cJSON_Parse(run->params_json ? run->params_json : "{}"), *p;
	nf_buf dirty = NF_BUF_INIT;

	nf_rpt_time(t1, sizeof(t1), run->started_ms);
	nf_rpt_time(t2, sizeof(t2), run->finished_ms);
	if (run->finished_ms > 0)
		nf_format_duration(dur, sizeof(dur), run->finished_ms - run->started_ms);
	else
		snprintf(dur, sizeof(dur), "-");
	nf_buf_puts(out, "<dl class=\"meta\">\n");
	dt(out, "pipeline", NULL, run->pipeline);
	cls = xasprintf("status status-%s", nf_run_status_name(run->status));
	dt(out, "status", cls, nf_run_status_name(run->status));
	free(cls);
	dt(out, "trigger", NULL, run->trigger);
	dt(out, "logical date", NULL, run->logical_date);
	dt(out, "started", NULL, t1);
	dt(out, "finished", NULL, t2);
	dt(out, "duration", NULL, dur);
	dt(out, "commit", "commit", run->commit ? run->commit : "(not in git)");
	if (have_repro)
		dt(out, "branch", NULL, repro.branch);
	if (have_repro && repro.dirty_paths_json) {
		cJSON *arr = cJSON_Parse(repro.dirty_paths_json), *d;
		bool first = true;

		cJSON_ArrayForEach(d, arr) {
			if (cJSON_IsString(d)) {
				nf_buf_printf(&dirty, "%s%s", first ? "" : " ", d->valuestring);
				first = false;
			}
		}
		cJSON_Delete(arr);
	}
	dt(out, "dirty paths", "dirty", run->dirty ? (dirty.len ? nf_buf_cstr(&dirty) : "(dirty)") : "none (clean)");
	dt(out, "file", NULL, run->file);
	if (run->pruned_ms) {   /* its timeline lists only what the prune kept */
		char t3[40], *note;

		nf_rpt_time(t3, sizeof(t3), run->pruned_ms);
		note = xasprintf("%s: only its gates, the stages that wrote metrics and those later runs refer to are"
				 " kept", t3);
		dt(out, "pruned", "pruned", note);
		free(note);
	}
	nf_buf_puts(out, "</dl>\n");
	if (cJSON_GetArraySize(params) > 0) {
		nf_buf_puts(out, "<h3>Parameters</h3>\n<table class=\"params\"><thead><tr><th>param</th><th>value</th>"
			    "</tr></thead><tbody>\n");
		cJSON_ArrayForEach(p, params) {
			char *v = cJSON_IsString(p) ? xstrdup(p->valuestring) : cJSON_PrintUnformatted(p);

			nf_buf_puts(out, "<tr>");
			nf_rpt_td(out, NULL, p->string);
			nf_rpt_td(out, NULL, v);
			nf_buf_puts(out, "</tr>\n");
			free(v);
		}
		nf_buf_puts(out, "</tbody></table>\n");
	}
	cJSON_Delete(params);
	nf_buf_release(&dirty);
	if (have_repro)
		nf_run_repro_release(&repro);
}
