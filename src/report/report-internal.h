/* report-internal.h: what the report's files share (private to src/report): the page's
 * frame and CSS, element ids, and the plots drawn from a run's recorded plot rows. */
#ifndef NTFLOW_REPORT_INTERNAL_H
#define NTFLOW_REPORT_INTERNAL_H

#include "ntflow/report.h"

/* <!DOCTYPE html> ... <body>, the CSS inline; title escaped. */
void nf_rpt_page_begin(nf_buf *out, const char *title);
/* The footer (made by ntflow VERSION at now_ms) and </body></html>. */
void nf_rpt_page_end(nf_buf *out, const nf_report_opts *o);
/* <section id="ID"><h2>HEADING</h2> and </section>. */
void nf_rpt_section(nf_buf *out, const char *id, const char *heading);
void nf_rpt_section_end(nf_buf *out);
/* An id made of prefix and the parts' letters, digits, '-' and '_' (others as '_'), with
 * a number when names would collide being left to the caller. */
void nf_rpt_id(nf_buf *out, const char *prefix, const char *a, const char *b);
/* "2026-11-23 10:43:12Z" of a real time in ms ("-" for 0). */
void nf_rpt_time(char *out, size_t size, int64_t ms);
/* A <td> holding s escaped, with an optional class. */
void nf_rpt_td(nf_buf *out, const char *cls, const char *s);
void nf_rpt_td_num(nf_buf *out, double v);
/* The run's header: a definition list of pipeline, status, trigger, dates, commit, dirty
 * paths, file and params. */
void nf_rpt_run_header(nf_buf *out, nf_store *st, const nf_run_info *run);

/* One plot as declared by both runs compared (b NULL: one run): its figure, with the data of
 * each run read back by digest (the workspace's file when unchanged, else the object store). */
void nf_rpt_plot(nf_buf *out, const nf_report_opts *o, const nf_plot_row *a, int64_t run_a, const nf_plot_row *b,
		 int64_t run_b);

/* The section "CPU per phase over time" (phases.c): the pipeline's runs up to run, the last
 * o->history of them, each phase's CPU and the budget each run recorded. */
void nf_rpt_phases(nf_buf *out, nf_store *st, const nf_run_info *run, const nf_report_opts *o);

#endif
