/* interp.c: expanding ${...} in a stage's strings at the moment it starts. Values that go
 * into `run` are quoted for the place where they stand in the command (src/dag/shell.c), so
 * that a value is always data, never shell code. */
#include "config.h"
#include "ntflow/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *
nf_value_text(const nf_value *v)
{
	switch (v->kind) {
	case NF_V_NUMBER:
		return v->num_text;
	case NF_V_BOOL:
		return v->boolean ? "true" : "false";
	case NF_V_STRING: {
		const char *s = nf_tmpl_literal(&v->str);
		return s ? s : "";
	}
	case NF_V_LIST:
		break;
	}
	return "";
}

int
nf_iso_week(char out[16], const char *date)
{
	struct tm tm = { 0 };
	int y, m, d;
	char tail;
	bool ok = true;

	/* sscanf alone would take " 026" or "+026" for a year: check the shape first. */
	for (int i = 0; i < 10 && ok; i++)
		ok = i == 4 || i == 7 ? date[i] == '-' : date[i] >= '0' && date[i] <= '9';
	if (!ok || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
	    m < 1 || m > 12 || d < 1 || d > 31)
		return nf_error_set(NF_EINVALID, "invalid date '%s': expected YYYY-MM-DD", date);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	if (timegm(&tm) == (time_t)-1 || tm.tm_mday != d)
		return nf_error_set(NF_EINVALID, "invalid date '%s': no such day", date);
	strftime(out, 16, "%G-W%V", &tm);
	return 0;
}

static const char *
matrix_value(const nf_node *node, const char *key)
{
	if (!node || !nf_node_matrix(node))
		return NULL;
	if (strcmp(key, "id") == 0)
		return nf_node_instance(node);
	for (size_t i = 0; i < nf_more(node->stage)->nmatrix; i++)
		if (strcmp(nf_more(node->stage)->matrix[i].name, key) == 0)
			return nf_value_text(nf_node_matrix(node)[i]);
	return NULL;
}

/* ${key}, ${item} and ${item.F} of a foreach instance. */
static const char *
item_value(const nf_node *node, bool key, const char *field)
{
	const nf_foreach_item *it = node ? nf_node_item(node) : NULL;

	if (!it)
		return NULL;
	if (key || (!field && !nf_more(node->stage)->foreach_named))
		return it->key;
	for (size_t i = 0; field && i < it->nfields; i++)
		if (strcmp(it->fields[i].key, field) == 0)
			return nf_value_text(&it->fields[i].value);
	return NULL;
}

/* Resolves one reference to its text; NULL with a message when it cannot be. */
static const char *
resolve(const nf_interp *ip, const char *ref, char *num, size_t numsize)
{
	const char *dot = strchr(ref, '.');
	const char *rest = dot ? dot + 1 : "";
	size_t nslen = dot ? (size_t)(dot - ref) : strlen(ref);
	const char *v = NULL;

#define NS(s) (nslen == strlen(s) && strncmp(ref, s, nslen) == 0)
	if (NS("params")) {
		if (!(v = ip->param(ip->ctx, rest)))
			nf_error_set(NF_EINVALID, "unknown parameter '%s' in ${%s}", rest, ref);
	} else if (NS("matrix")) {
		if (!(v = matrix_value(ip->node, rest)))
			nf_error_set(NF_EINVALID, "unknown matrix key '%s' in ${%s}", rest, ref);
	} else if (NS("key") || NS("item")) {
		if (!(v = item_value(ip->node, NS("key"), dot ? rest : NULL)))
			nf_error_set(NF_EINVALID, "no foreach value for ${%s}", ref);
	} else if (NS("run")) {
		if (strcmp(rest, "id") == 0) {
			snprintf(num, numsize, "%lld", (long long)ip->run_id);
			v = num;
		} else if (strcmp(rest, "date") == 0) {
			v = ip->run_date;
		} else if (strcmp(rest, "week") == 0) {
			v = ip->run_week;
		} else if ((strcmp(rest, "month") == 0 || strcmp(rest, "quarter") == 0) && ip->run_date &&
			   strlen(ip->run_date) >= 7) {
			/* Of the logical date, YYYY-MM-DD: YYYY-MM, or YYYY-QN. */
			if (rest[0] == 'm')
				snprintf(num, numsize, "%.7s", ip->run_date);
			else
				snprintf(num, numsize, "%.4s-Q%d", ip->run_date, (atoi(ip->run_date + 5) - 1) / 3 + 1);
			v = num;
		} else if (strcmp(rest, "trigger") == 0) {
			v = ip->run_trigger;
		} else if (strcmp(rest, "interval_start") == 0) {
			v = ip->run_interval_start;
		} else if (strcmp(rest, "interval_end") == 0) {
			v = ip->run_interval_end;
		} else {
			nf_error_set(NF_EINVALID, "unknown run value '%s' in ${%s} (run.id, run.date, run.week, run.month,"
				     " run.quarter, run.trigger, run.interval_start, run.interval_end)", rest, ref);
		}
	} else if (NS("env")) {
		if (ip->redact && nf_dag_is_secret(ip->dag, rest))
			v = NF_SECRET_MASK;
		else if (!(v = getenv(rest)))
			nf_error_set(NF_EINVALID, "environment variable '%s' is not set (${%s})", rest, ref);
	} else if (NS("dag")) {
		if (strcmp(rest, "dir") == 0)
			v = ip->dag_dir;
		else
			nf_error_set(NF_EINVALID, "unknown value '%s' in ${%s} (dag.dir)", rest, ref);
	} else if (NS("stages")) {
		/* stages.S.best.K: S may not contain dots, K may not either. */
		const char *p = strstr(rest, ".best.");
		char *stage;

		if (!p || p == rest || !p[6]) {
			nf_error_set(NF_EINVALID, "expected ${stages.STAGE.best.KEY}, found ${%s}", ref);
			return NULL;
		}
		stage = xstrndup(rest, (size_t)(p - rest));
		if (ip->best(ip->ctx, stage, p + 6, &v) < 0)
			v = NULL;
		free(stage);
	} else {
		nf_error_set(NF_EINVALID, "unknown namespace in ${%s}", ref);
	}
#undef NS
	return v;
}

int
nf_interp_expand(nf_buf *out, const nf_tmpl *t, const nf_interp *ip, bool shell_quote)
{
	nf_sh_pos *pos = NULL;
	int err = 0;

	/* Where each reference stands in the command decides how its value is quoted there;
	 * validate reported the places where none can be (backquotes, comments, ...). */
	if (shell_quote) {
		pos = xcalloc(t->nsegs + 1, sizeof(*pos));
		if ((err = nf_sh_scan(pos, t)) < 0)
			goto done;
	}
	for (size_t i = 0; i < t->nsegs; i++) {
		const nf_seg *s = &t->segs[i];
		char num[32];
		const char *v;

		if (!s->is_ref) {
			nf_buf_puts(out, s->text);
			continue;
		}
		if (!(v = resolve(ip, s->text, num, sizeof(num)))) {
			err = NF_EINVALID;
			goto done;
		}
		if (shell_quote)
			nf_sh_quote(out, pos[i].ctx, v);
		else
			nf_buf_puts(out, v);
	}
done:
	free(pos);
	return err;
}

int
nf_interp_words(nf_buf *out, size_t *nwords, const nf_tmpl *t, const nf_interp *ip)
{
	bool in_word = false;

	*nwords = 0;
	for (size_t i = 0; i < t->nsegs; i++) {
		const nf_seg *s = &t->segs[i];
		char num[32];
		const char *v;

		if (s->is_ref) {
			if (!(v = resolve(ip, s->text, num, sizeof(num))))
				return NF_EINVALID;
			/* The value joins the word it stands in, blanks and all, as its quoted form
			 * does in the shell (an empty value alone is an empty word, like ''). */
			if (!in_word) {
				in_word = true;
				++*nwords;
			}
			nf_buf_puts(out, v);
			continue;
		}
		for (const char *p = s->text; *p; p++) {
			if (nf_argv_is_blank((unsigned char)*p)) {
				if (in_word)
					nf_buf_putc(out, '\0');
				in_word = false;
				continue;
			}
			if (!in_word) {
				in_word = true;
				++*nwords;
			}
			nf_buf_putc(out, *p);
		}
	}
	if (in_word)
		nf_buf_putc(out, '\0');
	return 0;
}

/* v as a JSON string. */
static void
json_string(nf_buf *out, const char *v)
{
	nf_buf_putc(out, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			nf_buf_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			nf_buf_printf(out, "\\u%04x", *p);
		else
			nf_buf_putc(out, (char)*p);
	}
	nf_buf_putc(out, '"');
}

int
nf_interp_command(nf_buf *out, const nf_stage *st, const nf_interp *ip)
{
	nf_buf word = NF_BUF_INIT;
	int err = 0;

	if (!st->run_list)
		return nf_interp_expand(out, st->run, ip, true);
	nf_buf_putc(out, '[');
	for (size_t i = 0; i < nf_more(st)->nrun_words && err == 0; i++) {
		nf_buf_reset(&word);
		if ((err = nf_interp_expand(&word, &nf_more(st)->run_words[i], ip, false)) == 0) {
			nf_buf_puts(out, i ? ", " : "");
			json_string(out, nf_buf_cstr(&word));
		}
	}
	nf_buf_putc(out, ']');
	nf_buf_release(&word);
	return err;
}

const char *
nf_interp_largest_ref(const nf_tmpl *t, const nf_interp *ip, size_t *len)
{
	const char *best = NULL;

	*len = 0;
	for (size_t i = 0; i < t->nsegs; i++) {
		char num[32];
		const char *v;

		if (!t->segs[i].is_ref || !(v = resolve(ip, t->segs[i].text, num, sizeof(num))))
			continue;
		if (!best || strlen(v) > *len) {
			best = t->segs[i].text;
			*len = strlen(v);
		}
	}
	nf_error_clear();
	return best;
}
