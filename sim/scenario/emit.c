/*
 * emit.c: ms_scenario -> YAML text, every parameter with its resolved value.
 *
 * This text is what `marketsim validate` prints and what every result file
 * stores, so a result can always be re-run from the file alone. Numbers are
 * written with the fewest digits that read back to the same double, and the
 * text reads back to the same scenario (a unit test checks the round trip).
 */
#include "scenario/scenario_int.h"

#include "marketsim/ms_alloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL,
                          b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = (b->cap + (size_t)n + 1) * 2;
        char *q = ms_realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
}

/* Shortest decimal that reads back to exactly v. */
static void fmt_real(char *out, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(out, size, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, size, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void put_real(buf *b, double v)
{
    char t[40];
    fmt_real(t, sizeof t, v);
    put(b, "%s", t);
}

/* A YAML double-quoted scalar that reads back as exactly s: quotes,
 * backslashes, control characters and the Unicode line breaks escaped (a
 * bare line break would fold into a space). */
void ms_yaml_put_quoted(void (*out)(void *ctx, const char *text), void *ctx,
                        const char *s)
{
    out(ctx, "\"");
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        char t[8];
        if (ch == '"' || ch == '\\')
            snprintf(t, sizeof t, "\\%c", ch);
        else if (ch == '\n')
            snprintf(t, sizeof t, "\\n");
        else if (ch == '\t')
            snprintf(t, sizeof t, "\\t");
        else if (ch < 0x20 || ch == 0x7f)
            snprintf(t, sizeof t, "\\x%02x", ch);
        else if (ch == 0xc2 && (unsigned char)p[1] == 0x85) {
            snprintf(t, sizeof t, "\\N"); /* NEL: YAML reads a line break */
            p++;
        } else if (ch == 0xe2 && (unsigned char)p[1] == 0x80 &&
                   ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
            /* line and paragraph separators, line breaks to YAML too */
            snprintf(t, sizeof t, "\\%c", (unsigned char)p[2] == 0xa8 ? 'L' : 'P');
            p += 2;
        } else if (ch == 0xef && (unsigned char)p[1] == 0xbb &&
                   (unsigned char)p[2] == 0xbf) {
            snprintf(t, sizeof t, "\\uFEFF"); /* a byte order mark */
            p += 2;
        } else
            snprintf(t, sizeof t, "%c", ch);
        out(ctx, t);
    }
    out(ctx, "\"");
}

/* Words a plain YAML scalar would read as something other than text. */
static int special_word(const char *s)
{
    static const char *const words[] = {
        "null", "Null", "NULL", "true", "True", "TRUE", "false", "False",
        "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON",
        "off", "Off", "OFF", "y", "Y", "n", "N", NULL};
    for (int i = 0; words[i]; i++)
        if (!strcmp(s, words[i]))
            return 1;
    return 0;
}

void ms_yaml_put_scalar(void (*out)(void *ctx, const char *text), void *ctx,
                        const char *s)
{
    int plain = (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
                s[0] == '_';
    for (const char *p = s; plain && *p; p++)
        plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                *p == '.';
    if (plain && !special_word(s))
        out(ctx, s);
    else
        ms_yaml_put_quoted(out, ctx, s);
}

static void put_text(void *ctx, const char *text)
{
    put(ctx, "%s", text);
}

static void put_quoted(buf *b, const char *s)
{
    ms_yaml_put_quoted(put_text, b, s);
}

/* "  # used: {B: 2.5, C: 1}": the cultural distances the run uses from
 * market self, when some are not given explicitly (a comment: they are
 * derived, not inputs). */
static void put_used_distances(buf *b, const ms_scenario *s, int self,
                               const double *given)
{
    int M = s->n_markets, derived = 0;
    for (int k = 0; k < M; k++)
        derived |= k != self && isnan(given[k]);
    if (!derived)
        return;
    put(b, "  # used: {");
    for (int k = 0, first = 1; k < M; k++) {
        if (k == self)
            continue;
        put(b, "%s%s: ", first ? "" : ", ", s->markets[k].name);
        put_real(b, s->cd[self * M + k]);
        first = 0;
    }
    put(b, "}");
}

static void emit_record(buf *b, const ms_scenario *s, ms_section sec,
                        const void *base, const char *indent, int self)
{
    int M = s->n_markets, C = s->n_categories;
    for (int i = 0; i < ms_param_count; i++) {
        const ms_param *p = &ms_param_table[i];
        if (p->section != sec)
            continue;
        const char *field = (const char *)base + p->offset;
        put(b, "%s%s: ", indent, p->name);
        switch (p->type) {
        case MS_P_REAL:
            put_real(b, *(const double *)field);
            break;
        case MS_P_INT:
            put(b, "%lld", (long long)*(const int64_t *)field);
            break;
        case MS_P_SEED:
            put(b, "%llu", (unsigned long long)*(const uint64_t *)field);
            break;
        case MS_P_BOOL:
            put(b, "%s", *(const int *)field ? "true" : "false");
            break;
        case MS_P_MARKET: {
            int v = *(const int *)field;
            put(b, "%s", v >= 0 ? s->markets[v].name : "none");
            break;
        }
        case MS_P_CATEGORY: {
            int v = *(const int *)field;
            put(b, "%s", v >= 0 ? s->categories[v].name : "none");
            break;
        }
        case MS_P_ENUM: {
            int v = *(const int *)field, idx = 0;
            for (const char *q = p->choices; q && *q; idx++) {
                size_t len = strcspn(q, "|");
                if (idx == v)
                    put(b, "%.*s", (int)len, q);
                q += len + (q[len] == '|');
            }
            break;
        }
        case MS_P_BY_STRATEGY: {
            const double *arr = *(const double *const *)field;
            put(b, "{");
            for (int k = 0; k < MS_N_STRATEGIES; k++) {
                put(b, "%s%s: ", k ? ", " : "", ms_strategy_names[k]);
                put_real(b, arr[k]);
            }
            put(b, "}");
            break;
        }
        case MS_P_BY_MARKET:
        case MS_P_BY_CATEGORY: {
            const double *arr = *(const double *const *)field;
            int bym = p->type == MS_P_BY_MARKET;
            int len = bym ? M : C, first = 1;
            put(b, "{");
            for (int k = 0; k < len; k++) {
                double v = arr[k];
                /* Distances as given: the ones computed from Hofstede
                 * scores are derived (and may lie outside the bounds of
                 * an explicit one), so the reader computes them again
                 * from the same scores and variances; the comment below
                 * shows them. */
                if (sec == MS_SEC_MARKET && p->offset ==
                        offsetof(ms_market_spec, distance) && k == self)
                    continue;
                if (isnan(v))
                    continue;
                put(b, "%s%s: ", first ? "" : ", ",
                    bym ? s->markets[k].name : s->categories[k].name);
                put_real(b, v);
                first = 0;
            }
            put(b, "}");
            if (sec == MS_SEC_MARKET &&
                p->offset == offsetof(ms_market_spec, distance))
                put_used_distances(b, s, self, arr);
            break;
        }
        case MS_P_MARKET_SET:
        case MS_P_CATEGORY_SET: {
            const double *arr = *(const double *const *)field;
            int bym = p->type == MS_P_MARKET_SET;
            int len = bym ? M : C, first = 1;
            put(b, "[");
            for (int k = 0; k < len; k++)
                if (arr[k] != 0) {
                    put(b, "%s%s", first ? "" : ", ",
                        bym ? s->markets[k].name : s->categories[k].name);
                    first = 0;
                }
            put(b, "]");
            break;
        }
        case MS_P_NAME_LIST: {
            char *const *list = *(char *const *const *)field;
            int n = *(const int *)(field + sizeof(char **));
            if (!list) {
                put(b, "null");
                break;
            }
            put(b, "[");
            for (int k = 0; k < n; k++)
                put(b, "%s%s", k ? ", " : "", list[k]);
            put(b, "]");
            break;
        }
        }
        put(b, "\n");
    }
}

ms_status ms_scenario_to_yaml(const ms_scenario *s, char **out)
{
    buf b = {0};
    put(&b, "# Resolved scenario: every parameter with its value (defaults "
            "filled in).\n# Read from ");
    put_quoted(&b, s->source ? s->source : "?");
    put(&b, "\n");
    if (s->description) {
        put(&b, "description: ");
        put_quoted(&b, s->description);
        put(&b, "\n");
    }
    put(&b, "run:\n");
    emit_record(&b, s, MS_SEC_RUN, &s->run, "  ", -1);
    put(&b, "model:\n");
    emit_record(&b, s, MS_SEC_MODEL, &s->model, "  ", -1);
    put(&b, "output:\n");
    emit_record(&b, s, MS_SEC_OUTPUT, &s->output, "  ", -1);
    put(&b, "markets:\n");
    for (int i = 0; i < s->n_markets; i++) {
        put(&b, "  %s:\n", s->markets[i].name);
        emit_record(&b, s, MS_SEC_MARKET, &s->markets[i], "    ", i);
    }
    put(&b, "categories:\n");
    for (int i = 0; i < s->n_categories; i++) {
        put(&b, "  %s:\n", s->categories[i].name);
        emit_record(&b, s, MS_SEC_CATEGORY, &s->categories[i], "    ", i);
    }
    put(&b, "firms:\n");
    for (int i = 0; i < s->n_firms; i++) {
        put(&b, "  %s:\n", s->firms[i].name);
        emit_record(&b, s, MS_SEC_FIRM, &s->firms[i], "    ", i);
    }
    ms_targets_emit(s, put_text, &b);
    if (b.oom) {
        ms_free(b.p);
        return MS_ERROR(MS_ENOMEM, "out of memory writing the scenario");
    }
    *out = b.p;
    return MS_OK;
}

/* The first line where a and b differ (1-based), copied into la and lb. */
static int first_difference(const char *a, const char *b, char *la,
                            char *lb, size_t size)
{
    int line = 1;
    const char *sa = a, *sb = b;
    for (; *a && *a == *b; a++, b++)
        if (*a == '\n') {
            line++;
            sa = a + 1;
            sb = b + 1;
        }
    snprintf(la, size, "%.*s", (int)strcspn(sa, "\n"), sa);
    snprintf(lb, size, "%.*s", (int)strcspn(sb, "\n"), sb);
    return line;
}

ms_status ms_scenario_check_round_trip(const ms_scenario *s)
{
    const char *src = s->source ? s->source : "?";
    char *a = NULL, *b = NULL;
    MS_CALL(ms_scenario_to_yaml(s, &a));
    ms_scenario *again = NULL;
    ms_status st = ms_scenario_load_string(a, src, NULL, 0, &again);
    if (st == MS_EINPUT) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", ms_error_message());
        st = MS_ERROR(MS_EINPUT, "%s: error: the resolved scenario (what "
                      "result files and checkpoints store) does not read "
                      "back, so the run could not be restarted or repeated "
                      "from its file; the stored text gives:\n%s", src, msg);
    } else if (st == MS_OK && (st = ms_scenario_to_yaml(again, &b)) == MS_OK &&
               strcmp(a, b) != 0) {
        char la[160], lb[160];
        int line = first_difference(a, b, la, lb, sizeof la);
        st = MS_ERROR(MS_EINPUT, "%s: error: the resolved scenario (what "
                      "result files and checkpoints store) reads back as a "
                      "different one, so the run could not be restarted or "
                      "repeated from its file: its line %d '%s' becomes "
                      "'%s'", src, line, la, lb);
    }
    ms_scenario_destroy(&again);
    ms_free(a);
    ms_free(b);
    return st;
}

/* ---- the parameter reference ---- */

static const char *type_text(ms_ptype t)
{
    switch (t) {
    case MS_P_REAL: return "number";
    case MS_P_INT: return "integer";
    case MS_P_SEED: return "integer";
    case MS_P_BOOL: return "true/false";
    case MS_P_MARKET: return "market name";
    case MS_P_CATEGORY: return "category name or none";
    case MS_P_BY_MARKET: return "number or {market: number}";
    case MS_P_BY_CATEGORY: return "{category: number}";
    case MS_P_MARKET_SET: return "[market, ...]";
    case MS_P_CATEGORY_SET: return "[category, ...]";
    case MS_P_NAME_LIST: return "[name, ...]";
    case MS_P_BY_STRATEGY: return "{strategy: weight}";
    case MS_P_ENUM: return "one of the names";
    }
    return "?";
}

static void default_text(char *out, size_t size, const ms_param *p)
{
    if (p->flags & MS_PF_REQUIRED) {
        snprintf(out, size, "(required)");
        return;
    }
    switch (p->type) {
    case MS_P_BOOL:
        snprintf(out, size, "%s", p->def != 0 ? "true" : "false");
        break;
    case MS_P_CATEGORY:
        snprintf(out, size, "none");
        break;
    case MS_P_MARKET_SET:
    case MS_P_CATEGORY_SET:
        snprintf(out, size, "[]");
        break;
    case MS_P_NAME_LIST:
        snprintf(out, size, "all");
        break;
    case MS_P_ENUM: {
        size_t len = strcspn(p->choices, "|");
        snprintf(out, size, "%.*s", (int)len, p->choices);
        break;
    }
    case MS_P_BY_STRATEGY:
        snprintf(out, size, "equal");
        break;
    default:
        if (isnan(p->def))
            snprintf(out, size, "not set");
        else
            fmt_real(out, size, p->def);
    }
}

static void bounds_text(char *out, size_t size, const ms_param *p)
{
    if (p->type == MS_P_REAL || p->type == MS_P_INT ||
        p->type == MS_P_BY_MARKET || p->type == MS_P_BY_CATEGORY) {
        char lo[32], hi[32];
        if (p->lo == -HUGE_VAL) snprintf(lo, sizeof lo, "-inf");
        else fmt_real(lo, sizeof lo, p->lo);
        if (p->hi == HUGE_VAL) snprintf(hi, sizeof hi, "inf");
        else fmt_real(hi, sizeof hi, p->hi);
        snprintf(out, size, "%c%s, %s%c",
                 (p->flags & MS_PF_LO_OPEN) || p->lo == -HUGE_VAL ? '(' : '[',
                 lo, hi,
                 (p->flags & MS_PF_HI_OPEN) || p->hi == HUGE_VAL ? ')' : ']');
    } else if (p->type == MS_P_SEED) {
        snprintf(out, size, "[0, 2^64-1]");
    } else {
        snprintf(out, size, "-");
    }
}

void ms_params_print(FILE *f, int markdown)
{
    ms_section last = MS_SEC_COUNT;
    if (markdown)
        fprintf(f, "# Scenario parameters\n\n"
                "Generated by `marketsim params --markdown` (run `make docs` "
                "after changing the\nparameter table in "
                "sim/scenario/params.c; a test checks this file is current).\n"
                "Keys are paths: `run.steps`, `markets.<name>.population`, "
                "...; the same paths\nwork with `--set KEY=VALUE`. Rates are "
                "per year; a per-step probability is\n`1 - exp(-rate * dt)`.\n\n");
    for (int i = 0; i < ms_param_count; i++) {
        const ms_param *p = &ms_param_table[i];
        char def[48], bnd[80];
        default_text(def, sizeof def, p);
        bounds_text(bnd, sizeof bnd, p);
        if (p->section != last) {
            last = p->section;
            if (markdown)
                fprintf(f, "%s## `%s`\n\n| key | type | default | bounds | "
                        "unit | meaning |\n|---|---|---|---|---|---|\n",
                        i ? "\n" : "", ms_section_path(last));
            else
                fprintf(f, "%s%s\n", i ? "\n" : "", ms_section_path(last));
        }
        char ty[96];
        if (p->type == MS_P_ENUM) {
            snprintf(ty, sizeof ty, "%s", p->choices);
            for (char *q = ty; *q; q++)
                if (*q == '|')
                    *q = '/';
        } else {
            snprintf(ty, sizeof ty, "%s", type_text(p->type));
        }
        if (markdown)
            fprintf(f, "| `%s` | %s | %s | %s | %s | %s |\n", p->name, ty,
                    def, bnd, p->unit, p->help);
        else
            fprintf(f, "  %-22s %-12s default %-10s %-16s %s\n      %s\n",
                    p->name, p->unit, def, bnd, ty, p->help);
    }
}
