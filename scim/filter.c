/*
 * filter.c - RFC 7644 §3.4.2.2 filter grammar -> typed tree, and in-memory evaluation.
 *
 * Recursive descent with the RFC's precedence (not > and > or), parentheses, value paths
 * (emails[type eq "work"]) and Microsoft's non-ABNF form emails[type eq "work"].value eq "x"
 * (ENTRA.md §1.2). Attribute names are case-insensitive and URN-qualified names resolve against
 * the schema tables. Operators and literals are case-insensitive; strings are JSON strings, and
 * a value may also be a bare word (scim_fp_value: Microsoft's validator sends them). Date-time
 * values for meta.created/lastModified are normalised so the store compares instants.
 * Caps: GH_CAP_SCIM_FILTER_LEN bytes, GH_CAP_SCIM_FILTER_DEPTH nesting (every "(", "not" and
 * "[" counts), so a hostile filter cannot exhaust the stack. The tree is the store's query
 * tree (store/store.h) and never becomes SQL text here: the store's backend compiles it
 * (store/sqlite_query.c, with bound parameters).
 */
#include "scim/filter.h"
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scim_fparser {
    struct gh_arena *a;
    enum store_kind kind;
    const char *s;   /* whole text */
    size_t pos, len; /* cursor */
    int depth;
    const struct scim_attr *parent; /* inside attr[...]: the multi-valued attribute */
    bool in_vpath;
    struct gh_err *err;
};

static enum gh_status scim_fp_fail(struct scim_fparser *p, const char *what)
{
    GH_ERR(p->err, GH_E_INVALID, "invalid filter at byte %zu: %s", p->pos, what);
    gh_err_set_scim_type(p->err, SCIM_ST_INVALID_FILTER);
    return GH_E_INVALID;
}

static void scim_fp_ws(struct scim_fparser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

static bool scim_fp_is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '$' || c == ':' || c == '.';
}

/* The next bare word (attribute path or keyword); length 0 when none. Does not consume. */
static size_t scim_fp_word(const struct scim_fparser *p)
{
    size_t n = 0;
    while (p->pos + n < p->len && scim_fp_is_word(p->s[p->pos + n]))
        n++;
    return n;
}

/* Consume keyword kw (case-insensitive) when it is the next whole word. */
static bool scim_fp_keyword(struct scim_fparser *p, const char *kw)
{
    size_t n = scim_fp_word(p), kl = strlen(kw);
    if (n != kl || strncasecmp(p->s + p->pos, kw, kl) != 0)
        return false;
    p->pos += n;
    return true;
}

static struct store_filter *scim_fp_node(struct scim_fparser *p, enum store_fop op)
{
    struct store_filter *f = gh_arena_alloc(p->a, sizeof(*f));
    f->op = op;
    return f;
}

static enum gh_status scim_fp_or(struct scim_fparser *p, struct store_filter **out);

static const struct {
    const char *kw;
    enum store_fop op;
} scim_fp_ops[] = {
    {"eq", STORE_F_EQ}, {"ne", STORE_F_NE}, {"co", STORE_F_CO}, {"sw", STORE_F_SW},
    {"ew", STORE_F_EW}, {"gt", STORE_F_GT}, {"ge", STORE_F_GE}, {"lt", STORE_F_LT},
    {"le", STORE_F_LE}, {"pr", STORE_F_PR},
};

static bool scim_fp_digit_at(const char *s, size_t n, size_t k)
{
    return k < n && s[k] >= '0' && s[k] <= '9';
}

/* A JSON number (RFC 8259 §6), exactly: "007", "1." and "0x1" are not numbers. */
static bool scim_fp_is_number(const char *s, size_t n)
{
    size_t i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (!scim_fp_digit_at(s, n, i))
        return false;
    if (s[i] == '0')
        i++;
    else
        while (scim_fp_digit_at(s, n, i))
            i++;
    if (i < n && s[i] == '.') {
        i++;
        if (!scim_fp_digit_at(s, n, i))
            return false;
        while (scim_fp_digit_at(s, n, i))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!scim_fp_digit_at(s, n, i))
            return false;
        while (scim_fp_digit_at(s, n, i))
            i++;
    }
    return i == n;
}

/* A byte of a bare (unquoted) value: not whitespace, not a control byte, not the grammar's own
 * punctuation. A bare value thus ends at whitespace, ')' or ']' (and a '(', '[' or '"' after it
 * is left for the grammar to reject). */
static bool scim_fp_is_bare(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '(' && c != ')' && c != '[' && c != ']' && c != '"';
}

/*
 * compValue = false / null / true / number / string, and, beyond the ABNF, a bare word
 * (Microsoft's validator sends userName sw O, name.familyName eq Employee, meta.created gt
 * 2015-10-10T14:38:21.8617979-07:00). The rule: where a value is expected, a value not
 * starting with '"' runs to whitespace, ')' or ']'; when it is exactly true, false or null (any
 * case, as operators are) it is that literal; when it is a JSON number it is a number (the
 * caller turns it back into its text for a string attribute); anything else is the string as
 * written, with no escapes. So "and", "or" and "not" right after an operator are values.
 */
static enum gh_status scim_fp_value(struct scim_fparser *p, struct store_filter *f)
{
    const char *s = p->s + p->pos;
    size_t n = 0;

    if (p->pos < p->len && *s == '"') {
        size_t i = 1;
        while (p->pos + i < p->len && s[i] != '"') {
            if (s[i] == '\\')
                i++;
            i++;
        }
        if (p->pos + i >= p->len)
            return scim_fp_fail(p, "unterminated string");
        /* decode with the JSON parser: the RFC defines filter strings as JSON strings */
        cJSON *j = NULL;
        /* the strict parse: \u0000 or invalid UTF-8 in a value would compare as something else */
        if (gh_json_parse(s, i + 1, 0, "filter value", &j, NULL) != GH_OK || !cJSON_IsString(j)) {
            cJSON_Delete(j);
            return scim_fp_fail(p, "bad string (escape, NUL or UTF-8)");
        }
        f->vtype = STORE_V_STRING;
        f->str = gh_arena_strdup(p->a, j->valuestring);
        cJSON_Delete(j);
        p->pos += i + 1;
        return GH_OK;
    }
    while (p->pos + n < p->len && scim_fp_is_bare((unsigned char)s[n]))
        n++;
    if (n == 0)
        return scim_fp_fail(p, "expected a value (string, number, true, false or null)");
    if (n == 4 && strncasecmp(s, "true", 4) == 0) {
        f->vtype = STORE_V_TRUE;
    } else if (n == 5 && strncasecmp(s, "false", 5) == 0) {
        f->vtype = STORE_V_FALSE;
    } else if (n == 4 && strncasecmp(s, "null", 4) == 0) {
        f->vtype = STORE_V_NULL;
    } else {
        char *end;
        f->str = gh_arena_strndup(p->a, s, n);
        f->vtype = STORE_V_STRING;
        if (scim_fp_is_number(s, n)) {
            f->num = strtod(f->str, &end);
            if (*end != '\0' || !isfinite(f->num))
                return scim_fp_fail(p, "number out of range");
            f->vtype = STORE_V_NUMBER;
        }
    }
    p->pos += n;
    return GH_OK;
}

/* ---- date-times (meta.created, meta.lastModified) ---- */

static bool scim_dt_digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
    int v = 0;
    if (at + count > n)
        return false;
    for (size_t i = at; i < at + count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long scim_dt_days(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of scim_dt_days. */
static void scim_dt_civil(long long z, long long *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/*
 * An xsd:dateTime (RFC 7643 §2.3.5, RFC 3339 §5.6): YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|
 * -HH:MM), 'T' and 'Z' in any case, a fraction of any length; no offset is taken as UTC. The
 * instant goes to *out in the store's own form, UTC with milliseconds (2015-10-10T21:38:21.861Z,
 * store/store.c store_now), which orders as text; *out_full keeps every fractional digit.
 * *out_sub_ms says whether digits beyond the millisecond are not all zero. Arena-owned. False when
 * malformed.
 */
static bool scim_dt_normalize(struct gh_arena *a, const char *s, size_t n, const char **out,
                              const char **out_full, bool *out_sub_ms)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, ms = 0, sign = 0, month_days;
    size_t i = 19, frac = 0, frac_len = 0;
    bool sub_ms = false;

    if (!scim_dt_digits(s, n, 0, 4, &y) || s[4] != '-' || !scim_dt_digits(s, n, 5, 2, &mo) ||
        s[7] != '-' || !scim_dt_digits(s, n, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !scim_dt_digits(s, n, 11, 2, &h) || s[13] != ':' || !scim_dt_digits(s, n, 14, 2, &mi) ||
        s[16] != ':' || !scim_dt_digits(s, n, 17, 2, &sec))
        return false;
    if (i < n && s[i] == '.') {
        frac = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (i - frac < 3)
                ms = ms * 10 + (s[i] - '0');
            else if (s[i] != '0')
                sub_ms = true;
            i++;
        }
        frac_len = i - frac;
        if (frac_len == 0)
            return false;
        for (size_t k = frac_len; k < 3; k++)
            ms *= 10;
    }
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '-' ? -1 : 1;
        if (!scim_dt_digits(s, n, i + 1, 2, &oh) || i + 3 >= n || s[i + 3] != ':' ||
            !scim_dt_digits(s, n, i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        i += 6;
    }
    if (i != n || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60)
        return false;
    month_days = mo == 2 ? ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28)
                 : (mo == 4 || mo == 6 || mo == 9 || mo == 11) ? 30
                                                               : 31;
    if (d < 1 || d > month_days)
        return false;
    /* to UTC seconds; a leap second (:60) becomes the next minute's :00 */
    long long t = scim_dt_days(y, mo, d) * 86400 + (long long)h * 3600 + (long long)mi * 60 + sec -
                  (long long)sign * ((long long)oh * 3600 + (long long)om * 60);
    long long days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), uy;
    long long rem = t - days * 86400;
    int um, ud;
    scim_dt_civil(days, &uy, &um, &ud);
    if (uy < 0 || uy > 9999)
        return false;
    char head[48];
    snprintf(head, sizeof(head), "%04lld-%02d-%02dT%02lld:%02lld:%02lld", uy, um, ud, rem / 3600,
             rem / 60 % 60, rem % 60);
    *out = gh_arena_printf(a, "%s.%03dZ", head, ms);
    *out_full = sub_ms ? gh_arena_printf(a, "%s.%.*sZ", head, (int)frac_len, s + frac) : *out;
    *out_sub_ms = sub_ms;
    return true;
}

/* See filter.h. */
bool scim_filter_datetime_parse(struct gh_arena *a, const char *s, const char **out_utc_ms)
{
    const char *ms = NULL, *full = NULL;
    bool sub_ms = false;

    if (!scim_dt_normalize(a, s, strlen(s), &ms, &full, &sub_ms))
        return false;
    if (out_utc_ms != NULL)
        *out_utc_ms = ms;
    return true;
}

/*
 * A comparison with a dateTime attribute compares instants (RFC 7644 §3.4.2.2: "chronologically"):
 * the value is normalised to the store's UTC millisecond form, which orders as text. A value
 * finer than a millisecond lies strictly between two stored values, so ge becomes gt, lt becomes
 * le, and eq/ne compare with the full-precision text, which no stored value equals.
 * co/sw/ew stay textual. Anything but a date-time (or null) is an invalidFilter.
 */
static enum gh_status scim_fp_datetime(struct scim_fparser *p, struct store_filter *f)
{
    const char *ms = NULL, *full = NULL;
    bool sub_ms = false;

    if (f->op == STORE_F_PR || f->op == STORE_F_CO || f->op == STORE_F_SW || f->op == STORE_F_EW ||
        f->vtype == STORE_V_NULL)
        return GH_OK;
    if (f->vtype != STORE_V_STRING ||
        !scim_dt_normalize(p->a, f->str, strlen(f->str), &ms, &full, &sub_ms))
        return scim_fp_fail(p, "a dateTime attribute compares with a date-time such as "
                               "2015-10-10T14:38:21.8617979-07:00");
    f->str = ms;
    if (sub_ms) {
        if (f->op == STORE_F_EQ || f->op == STORE_F_NE)
            f->str = full;
        else if (f->op == STORE_F_GE)
            f->op = STORE_F_GT;
        else if (f->op == STORE_F_LT)
            f->op = STORE_F_LE;
    }
    return GH_OK;
}

/* Resolve a path word. Inside attr[...] names are sub-attributes of the parent. */
static enum gh_status scim_fp_path(struct scim_fparser *p, const char *w, size_t n,
                                   struct scim_path *out)
{
    if (p->in_vpath) {
        memset(out, 0, sizeof(*out));
        if (memchr(w, ':', n) != NULL || memchr(w, '.', n) != NULL)
            return scim_fp_fail(p, "a value filter names sub-attributes only");
        char *name = gh_arena_strndup(p->a, w, n);
        out->a = p->parent ? scim_attr_find(p->parent->sub, name) : NULL;
        out->attr = out->a ? out->a->name : name;
        return GH_OK;
    }
    enum gh_status st = scim_path_resolve(p->a, p->kind, w, n, out, NULL);
    if (st || out->attr == NULL)
        return scim_fp_fail(p, "bad attribute path");
    return GH_OK;
}

/* attrExp / valuePath / valuePath "." subAttr compareOp compValue */
static enum gh_status scim_fp_attr(struct scim_fparser *p, struct store_filter **out)
{
    struct scim_path path;
    struct store_filter *inner = NULL, *f;
    size_t n = scim_fp_word(p);
    enum gh_status st;

    if (n == 0)
        return scim_fp_fail(p, "expected an attribute name");
    st = scim_fp_path(p, p->s + p->pos, n, &path);
    if (st)
        return st;
    p->pos += n;
    if (p->pos < p->len && p->s[p->pos] == '[') {
        if (p->in_vpath)
            return scim_fp_fail(p, "nested value filter");
        if (path.sub != NULL || (path.a != NULL && !(path.a->flags & SCIM_A_MULTI)))
            return scim_fp_fail(p, "a value filter applies to a multi-valued attribute");
        if (++p->depth > GH_CAP_SCIM_FILTER_DEPTH)
            return scim_fp_fail(p, "nested too deeply");
        p->pos++;
        p->in_vpath = true;
        p->parent = path.a;
        st = scim_fp_or(p, &inner);
        p->in_vpath = false;
        p->parent = NULL;
        if (st)
            return st;
        scim_fp_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ']')
            return scim_fp_fail(p, "expected ']'");
        p->pos++;
        p->depth--;
        path.vfilter = inner;
        if (p->pos < p->len && p->s[p->pos] == '.') {
            /* Microsoft's emails[type eq "work"].value eq "x" */
            p->pos++;
            size_t sn = scim_fp_word(p);
            char *sub = gh_arena_strndup(p->a, p->s + p->pos, sn);
            if (sn == 0 || strchr(sub, '.') != NULL || strchr(sub, ':') != NULL)
                return scim_fp_fail(p, "expected a sub-attribute after ']'");
            p->pos += sn;
            path.s = path.a ? scim_attr_find(path.a->sub, sub) : NULL;
            path.sub = path.s ? path.s->name : sub;
        } else {
            f = scim_fp_node(p, STORE_F_HAS);
            scim_path_to_store(&path, &f->path);
            *out = f;
            return GH_OK;
        }
    }
    scim_fp_ws(p);
    f = scim_fp_node(p, STORE_F_EQ);
    scim_path_to_store(&path, &f->path);
    size_t i;
    for (i = 0; i < sizeof(scim_fp_ops) / sizeof(scim_fp_ops[0]); i++)
        if (scim_fp_keyword(p, scim_fp_ops[i].kw))
            break;
    if (i == sizeof(scim_fp_ops) / sizeof(scim_fp_ops[0]))
        return scim_fp_fail(p, "expected an operator (eq ne co sw ew gt ge lt le pr)");
    f->op = scim_fp_ops[i].op;
    if (f->op != STORE_F_PR) {
        scim_fp_ws(p);
        st = scim_fp_value(p, f);
        if (st)
            return st;
        if (f->vtype == STORE_V_NULL && f->op != STORE_F_EQ && f->op != STORE_F_NE)
            return scim_fp_fail(p, "null compares with eq and ne only");
        if ((f->vtype == STORE_V_TRUE || f->vtype == STORE_V_FALSE) && f->op != STORE_F_EQ &&
            f->op != STORE_F_NE)
            return scim_fp_fail(p, "booleans compare with eq and ne only");
    }
    /* A complex single-valued attribute has no value of its own (RFC 7644 §3.4.2.2), except
     * one with a "value" sub-attribute (manager), which Entra compares directly (§1.23). */
    if (path.sub == NULL && path.a != NULL && path.a->type == SCIM_T_COMPLEX &&
        !(path.a->flags & SCIM_A_MULTI) && f->op != STORE_F_PR) {
        path.s = scim_attr_find(path.a->sub, "value");
        path.sub = path.s ? path.s->name : NULL;
        scim_path_to_store(&path, &f->path);
    }
    const struct scim_attr *leaf = path.sub ? path.s : path.a;
    if (leaf != NULL && leaf->type == SCIM_T_COMPLEX && !(leaf->flags & SCIM_A_MULTI) &&
        f->op != STORE_F_PR)
        return scim_fp_fail(p, "a complex attribute needs a sub-attribute");
    /* a bare number against a string attribute is the string as written (employeeNumber eq
     * 0701 is "0701", not 701) */
    if (leaf != NULL && f->op != STORE_F_PR && f->vtype == STORE_V_NUMBER &&
        (leaf->type == SCIM_T_STRING || leaf->type == SCIM_T_REFERENCE ||
         leaf->type == SCIM_T_BINARY))
        f->vtype = STORE_V_STRING;
    /* Only the server's own date-times (meta.created, meta.lastModified) are stored in the
     * normalised form; a client's dateTime (a declared extension attribute) is stored as sent
     * (ENTRA.md §1.18), so it compares as text, in the form the client sends. */
    if (leaf != NULL && leaf->type == SCIM_T_DATETIME && (leaf->flags & SCIM_A_READONLY)) {
        st = scim_fp_datetime(p, f);
        if (st)
            return st;
    }
    *out = f;
    return GH_OK;
}

static enum gh_status scim_fp_unary(struct scim_fparser *p, struct store_filter **out)
{
    enum gh_status st;
    bool neg = false;

    scim_fp_ws(p);
    if (scim_fp_keyword(p, "not")) {
        neg = true;
        scim_fp_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '(')
            return scim_fp_fail(p, "expected '(' after not");
    }
    if (p->pos < p->len && p->s[p->pos] == '(') {
        if (++p->depth > GH_CAP_SCIM_FILTER_DEPTH)
            return scim_fp_fail(p, "nested too deeply");
        p->pos++;
        st = scim_fp_or(p, out);
        if (st)
            return st;
        scim_fp_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ')')
            return scim_fp_fail(p, "expected ')'");
        p->pos++;
        p->depth--;
    } else {
        st = scim_fp_attr(p, out);
        if (st)
            return st;
    }
    if (neg) {
        struct store_filter *n = scim_fp_node(p, STORE_F_NOT);
        n->left = *out;
        *out = n;
    }
    return GH_OK;
}

/* Left-deep chains are built iteratively, so a long "a and b and c ..." costs no stack. */
static enum gh_status scim_fp_and(struct scim_fparser *p, struct store_filter **out)
{
    enum gh_status st = scim_fp_unary(p, out);
    while (st == GH_OK) {
        size_t save = p->pos;
        scim_fp_ws(p);
        if (!scim_fp_keyword(p, "and")) {
            p->pos = save;
            break;
        }
        struct store_filter *n = scim_fp_node(p, STORE_F_AND);
        n->left = *out;
        st = scim_fp_unary(p, &n->right);
        *out = n;
    }
    return st;
}

static enum gh_status scim_fp_or(struct scim_fparser *p, struct store_filter **out)
{
    enum gh_status st = scim_fp_and(p, out);
    while (st == GH_OK) {
        size_t save = p->pos;
        scim_fp_ws(p);
        if (!scim_fp_keyword(p, "or")) {
            p->pos = save;
            break;
        }
        struct store_filter *n = scim_fp_node(p, STORE_F_OR);
        n->left = *out;
        st = scim_fp_and(p, &n->right);
        *out = n;
    }
    return st;
}

/*
 * Parse a filter (see filter.h). The text must be NUL-terminated; the tree is arena-owned.
 */
enum gh_status scim_filter_parse(struct gh_arena *a, enum store_kind kind, const char *text,
                                 struct store_filter **out, struct gh_err *err)
{
    struct scim_fparser p = {.a = a, .kind = kind, .s = text, .len = strlen(text), .err = err};
    enum gh_status st;

    *out = NULL;
    if (p.len > GH_CAP_SCIM_FILTER_LEN)
        return scim_fp_fail(&p, "longer than the filter cap");
    if (memchr(text, '\0', p.len) != NULL) /* never true for C strings; kept for clarity */
        return scim_fp_fail(&p, "NUL byte");
    st = scim_fp_or(&p, out);
    if (st)
        return st;
    scim_fp_ws(&p);
    if (p.pos != p.len)
        return scim_fp_fail(&p, "unexpected text after the filter");
    return GH_OK;
}

/*
 * Parse a PATCH path: attrPath, or attrPath "[" valFilter "]" ["." subAttr]. A path naming a
 * schema URN alone (path-less add into an extension) resolves with attr == NULL.
 */
enum gh_status scim_filter_path_parse(struct gh_arena *a, enum store_kind kind, const char *text,
                                      struct scim_path *out, struct gh_err *err)
{
    struct scim_fparser p = {.a = a, .kind = kind, .s = text, .len = strlen(text), .err = NULL};
    const char *br = strchr(text, '[');
    enum gh_status st;

    memset(out, 0, sizeof(*out));
    if (p.len > GH_CAP_SCIM_FILTER_LEN)
        goto bad;
    if (br == NULL) {
        st = scim_path_resolve(a, kind, text, p.len, out, NULL);
        if (st)
            goto bad;
        return GH_OK;
    }
    st = scim_path_resolve(a, kind, text, (size_t)(br - text), out, NULL);
    if (st || out->attr == NULL || out->sub != NULL)
        goto bad;
    p.pos = (size_t)(br - text) + 1;
    p.in_vpath = true;
    p.parent = out->a;
    p.depth = 1;
    st = scim_fp_or(&p, &out->vfilter);
    if (st)
        goto bad;
    scim_fp_ws(&p);
    if (p.pos >= p.len || text[p.pos] != ']')
        goto bad;
    p.pos++;
    if (p.pos < p.len) {
        if (text[p.pos] != '.')
            goto bad;
        const char *sub = text + p.pos + 1;
        size_t sn = p.len - p.pos - 1;
        if (sn == 0 || memchr(sub, '.', sn) != NULL || memchr(sub, ':', sn) != NULL)
            goto bad;
        char *s = gh_arena_strndup(a, sub, sn);
        out->s = out->a ? scim_attr_find(out->a->sub, s) : NULL;
        out->sub = out->s ? out->s->name : s;
    }
    return GH_OK;
bad:
    GH_ERR(err, GH_E_INVALID, "invalid path \"%.80s\"", text);
    gh_err_set_scim_type(err, SCIM_ST_INVALID_PATH);
    return GH_E_INVALID;
}

/* ---- in-memory evaluation (PATCH value filters) ---- */

static int scim_fm_strcmp(const char *x, const char *y, bool exact)
{
    return exact ? strcmp(x, y) : strcasecmp(x, y);
}

static bool scim_fm_cmp(const struct store_filter *f, const cJSON *v)
{
    bool exact = (f->path.attr_flags & STORE_ATTR_CASE_EXACT) != 0;
    bool b, want;
    int c;

    if (v == NULL || cJSON_IsNull(v))
        return (f->op == STORE_F_EQ && f->vtype == STORE_V_NULL) ||
               (f->op == STORE_F_NE && f->vtype != STORE_V_NULL);
    if (f->op == STORE_F_PR)
        return !(cJSON_IsString(v) && v->valuestring[0] == '\0') &&
               !(cJSON_IsArray(v) && v->child == NULL);
    if (f->vtype == STORE_V_NULL)
        return f->op == STORE_F_NE;
    /* booleans: true/false literals, or "True"/"False" against a boolean (Entra's
     * roles[primary eq "True"], ENTRA.md §1.22) */
    if (cJSON_IsBool(v) || f->vtype == STORE_V_TRUE || f->vtype == STORE_V_FALSE) {
        if (f->vtype == STORE_V_TRUE || f->vtype == STORE_V_FALSE)
            want = f->vtype == STORE_V_TRUE;
        else if (f->vtype == STORE_V_STRING && strcasecmp(f->str, "true") == 0)
            want = true;
        else if (f->vtype == STORE_V_STRING && strcasecmp(f->str, "false") == 0)
            want = false;
        else
            return f->op == STORE_F_NE;
        if (!scim_json_bool(v, &b))
            return f->op == STORE_F_NE;
        return f->op == STORE_F_EQ ? b == want : f->op == STORE_F_NE ? b != want : false;
    }
    if (cJSON_IsNumber(v) && f->vtype == STORE_V_NUMBER) {
        double d = v->valuedouble;
        c = d < f->num ? -1 : d > f->num ? 1 : 0;
    } else if (cJSON_IsString(v) && f->vtype == STORE_V_STRING) {
        size_t vl = strlen(v->valuestring), fl = strlen(f->str);
        switch (f->op) {
        case STORE_F_CO:
            if (exact)
                return strstr(v->valuestring, f->str) != NULL;
            for (size_t i = 0; i + fl <= vl; i++)
                if (strncasecmp(v->valuestring + i, f->str, fl) == 0)
                    return true;
            return false;
        case STORE_F_SW:
            return vl >= fl && (exact ? strncmp(v->valuestring, f->str, fl)
                                      : strncasecmp(v->valuestring, f->str, fl)) == 0;
        case STORE_F_EW:
            return vl >= fl && scim_fm_strcmp(v->valuestring + vl - fl, f->str, exact) == 0;
        default:
            c = scim_fm_strcmp(v->valuestring, f->str, exact);
        }
    } else {
        return f->op == STORE_F_NE; /* different types never compare equal */
    }
    switch (f->op) {
    case STORE_F_EQ:
        return c == 0;
    case STORE_F_NE:
        return c != 0;
    case STORE_F_GT:
        return c > 0;
    case STORE_F_GE:
        return c >= 0;
    case STORE_F_LT:
        return c < 0;
    case STORE_F_LE:
        return c <= 0;
    default:
        return false;
    }
}

/* Evaluate a value filter on one element (see filter.h). Primitive elements answer for
 * "value" (RFC 7644 §3.4.2.2: a multi-valued attribute's implicit sub-attribute). */
bool scim_filter_match(const struct store_filter *f, const cJSON *elem)
{
    const cJSON *v;

    switch (f->op) {
    case STORE_F_AND:
        return scim_filter_match(f->left, elem) && scim_filter_match(f->right, elem);
    case STORE_F_OR:
        return scim_filter_match(f->left, elem) || scim_filter_match(f->right, elem);
    case STORE_F_NOT:
        return !scim_filter_match(f->left, elem);
    case STORE_F_HAS:
        return false; /* nested value paths are rejected by the parser */
    default:
        break;
    }
    if (cJSON_IsObject(elem))
        v = cJSON_GetObjectItem(elem, f->path.attr);
    else
        v = strcasecmp(f->path.attr, "value") == 0 ? elem : NULL;
    return scim_fm_cmp(f, v);
}

/* ---- dump ---- */

static const char *const scim_fop_names[] = {"eq", "ne", "co", "sw",  "ew", "gt",  "ge",
                                             "lt", "le", "pr", "and", "or", "not", "has"};

static void scim_fd_path(struct gh_buf *b, const struct store_path *p, struct gh_arena *a);

static void scim_fd(struct gh_buf *b, const struct store_filter *f, struct gh_arena *a)
{
    gh_buf_printf(b, NULL, "(%s ", scim_fop_names[f->op]);
    switch (f->op) {
    case STORE_F_AND:
    case STORE_F_OR:
        scim_fd(b, f->left, a);
        gh_buf_puts(b, " ", NULL);
        scim_fd(b, f->right, a);
        break;
    case STORE_F_NOT:
        scim_fd(b, f->left, a);
        break;
    default:
        scim_fd_path(b, &f->path, a);
        if (f->op == STORE_F_PR || f->op == STORE_F_HAS)
            break;
        switch (f->vtype) {
        case STORE_V_STRING:
            gh_buf_printf(b, NULL, " \"%s\"", f->str);
            break;
        case STORE_V_NUMBER:
            gh_buf_printf(b, NULL, " %g", f->num);
            break;
        case STORE_V_TRUE:
            gh_buf_puts(b, " true", NULL);
            break;
        case STORE_V_FALSE:
            gh_buf_puts(b, " false", NULL);
            break;
        case STORE_V_NULL:
            gh_buf_puts(b, " null", NULL);
            break;
        }
    }
    gh_buf_puts(b, ")", NULL);
}

static void scim_fd_path(struct gh_buf *b, const struct store_path *p, struct gh_arena *a)
{
    if (p->urn != NULL)
        gh_buf_printf(b, NULL, "%s:", p->urn);
    gh_buf_puts(b, p->attr ? p->attr : "", NULL);
    if (p->vfilter != NULL) {
        gh_buf_puts(b, "[", NULL);
        scim_fd(b, p->vfilter, a);
        gh_buf_puts(b, "]", NULL);
    }
    if (p->sub != NULL)
        gh_buf_printf(b, NULL, ".%s", p->sub);
}

/* Render a tree as an s-expression (tests, debug logs); arena-owned. */
const char *scim_filter_dump(struct gh_arena *a, const struct store_filter *f)
{
    struct gh_buf b;
    const char *s;

    gh_buf_init(&b, (size_t)64 * 1024);
    if (f != NULL)
        scim_fd(&b, f, a);
    s = gh_arena_strdup(a, gh_buf_str(&b));
    gh_buf_free(&b);
    return s;
}
