/*
 * pg_query.c - list queries on PostgreSQL: the filter tree (store.h, RFC 7644 §3.4.2.2, parsed
 * by scim/filter.c) compiled to a WHERE clause, sortBy to ORDER BY, and the page and count
 * statements the backend runs. The twin of sqlite_query.c, and it must match the same rows:
 * the same SCIM filter selects the same resources, in the same order, on both backends.
 *
 * What SQLite does, and how it is spelled here:
 *  - json_extract(body, path) gives a typed value: a JSON string is TEXT, a number INTEGER or
 *    REAL, true/false 1/0, an object or array its minified JSON text, null or a missing key SQL
 *    NULL. The body is the json type here (not jsonb: json keeps the stored text, so an object
 *    compares as the same minified text SQLite returns); json_typeof picks the SQLite type.
 *  - A comparison between two types orders NULL < numbers < text and is never equal; numbers
 *    compare as numbers (as numeric here: a number in a body and a double in a filter are both
 *    written as the shortest of 15 or 17 digits that reads back, so equal doubles give equal
 *    numerics). A column has an affinity that converts the other side first: a number meets
 *    the TEXT columns as SQLite's text form of it (12.0, 1.0e+20), text that reads as a number
 *    meets the INTEGER column active as that number.
 *  - COLLATE NOCASE folds ASCII letters only, then compares bytes: lower(x COLLATE "C") with
 *    C ordering; a caseExact attribute compares bytes (COLLATE "C").
 *  - instr/substr (co, sw, ew) see a number as its text and true/false as 1/0.
 *  - ORDER BY puts NULLs first, then numbers, then text; ties keep creation order (rowid, seq).
 * Every predicate is true or false, never NULL, so NOT composes. Where a column is indexed the
 * predicate keeps the indexed expression bare (lower(user_name COLLATE "C") = ..., external_id
 * = ...) so PostgreSQL can use the index, which SQLite's COALESCE-wrapped form cannot.
 *
 * Known differences, all outside what a SCIM client sends: a JSON number that needs 16 or 17
 * digits, or is written with an exponent and a fraction, shows a different text to co/sw/ew
 * than SQLite's 15 digits; nothing else does.
 *
 * The SQL text only ever contains SQL written here, column names and generated aliases; every
 * value from the request - literals and the JSON keys built from attribute names - is a text
 * parameter. LIMIT and OFFSET are the caller's validated integers, printed as numbers.
 */
#include "core/core.h"
#include "store/pg_query_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STORE_PGQ_C "COLLATE \"C\""

static const char *const store_pgq_tables[] = {"users", "groups"};

struct store_pgq {
    enum store_kind kind;
    struct gh_buf sql;
    const char **params; /* in a; grows by doubling */
    int nparams, cap;
    int alias; /* x1, e2, m3, ...: one counter for every generated alias */
    struct gh_arena *a;
    struct gh_err *err;
    enum gh_status st;
};

static void store_pgq_fail(struct store_pgq *c, const char *msg)
{
    if (c->st != GH_OK)
        return;
    c->st = GH_ERR(c->err, GH_E_INVALID, "%s", msg);
    gh_err_set_scim_type(c->err, STORE_ST_INVALID_FILTER);
}

/* Append SQL written in this file (never request data). */
static void store_pgq_put(struct store_pgq *c, const char *s)
{
    if (c->st == GH_OK && gh_buf_puts(&c->sql, s, NULL) != GH_OK)
        store_pgq_fail(c, "filter is too complex");
}

/* Append formatted SQL written in this file: the arguments are SQL fragments built here,
 * parameter numbers and aliases. */
static void store_pgq_putf(struct store_pgq *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void store_pgq_putf(struct store_pgq *c, const char *fmt, ...)
{
    char small[1024], *big = NULL;
    va_list ap;
    int n;

    if (c->st != GH_OK)
        return;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    GH_ASSERT(n >= 0);
    if ((size_t)n >= sizeof(small)) {
        big = gh_xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    store_pgq_put(c, big != NULL ? big : small);
    free(big);
}

/* Format a fragment into out (fragments are bounded: short aliases and parameter numbers). */
static void store_pgq_frag(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void store_pgq_frag(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    GH_ASSERT(n >= 0 && (size_t)n < cap);
}

/* Add a text parameter (copied into the arena) and return its number ($N). Create one only
 * where the SQL references it: both statements must reference every parameter. */
static int store_pgq_param(struct store_pgq *c, const char *text)
{
    if (c->nparams >= STORE_PG_MAX_PARAMS) {
        store_pgq_fail(c, "filter has too many terms");
        return 1;
    }
    if (c->nparams == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        const char **p = gh_arena_alloc(c->a, (size_t)cap * sizeof(*p));
        if (c->nparams > 0)
            memcpy(p, c->params, (size_t)c->nparams * sizeof(*p));
        c->params = p;
        c->cap = cap;
    }
    c->params[c->nparams] = gh_arena_strdup(c->a, text);
    return ++c->nparams;
}

/* ---- numbers as SQLite shows and compares them ---- */
void store_pg_real_text(double v, char *out, size_t cap)
{
    char *e;
    size_t n;

    if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "Inf" : "-Inf");
        return;
    }
    snprintf(out, cap, "%.15g", v);
    if (strchr(out, '.') != NULL || strchr(out, 'n') != NULL) /* a fraction, or nan */
        return;
    n = strlen(out);
    if (n + 3 > cap)
        return;
    e = strchr(out, 'e');
    if (e == NULL) {
        out[n] = '.'; /* 12 -> 12.0 */
        out[n + 1] = '0';
        out[n + 2] = '\0';
        return;
    }
    memmove(e + 2, e, strlen(e) + 1); /* 1e+20 -> 1.0e+20 */
    e[0] = '.';
    e[1] = '0';
}

/* A double as numeric text that reads back as the same double, by cJSON's rule (15 digits,
 * else 17) so that it is the very text a stored body holds for the same double. */
static const char *store_pgq_num_text(struct store_pgq *c, double v)
{
    char buf[48];
    if (isinf(v))
        return v > 0 ? "Infinity" : "-Infinity";
    if (isnan(v))
        return "NaN";
    snprintf(buf, sizeof(buf), "%1.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%1.17g", v);
    return gh_arena_strdup(c->a, buf);
}

static bool store_pgq_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static bool store_pgq_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* SQLite's NUMERIC affinity: text that is a well-formed integer or real literal (surrounding
 * spaces allowed, no hex) compares with an INTEGER column as that number. */
static bool store_pgq_numeric_text(const char *s, double *out)
{
    const char *p = s;
    int digits = 0;

    while (store_pgq_space(*p))
        p++;
    if (*p == '+' || *p == '-')
        p++;
    for (; store_pgq_digit(*p); p++)
        digits++;
    if (*p == '.')
        for (p++; store_pgq_digit(*p); p++)
            digits++;
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!store_pgq_digit(*p))
            return false;
        while (store_pgq_digit(*p))
            p++;
    }
    while (store_pgq_space(*p))
        p++;
    if (*p != '\0')
        return false;
    *out = strtod(s, NULL);
    return true;
}

/* ---- operands and values ---- */
enum store_pgq_okind {
    STORE_PGQ_JSON,    /* a json value, SQL NULL when absent: json_extract's result */
    STORE_PGQ_TEXTCOL, /* a text column (SQLite TEXT affinity: a number meets it as text) */
    STORE_PGQ_TEXT,    /* text never NULL, no affinity (a member's type, meta.resourceType) */
    STORE_PGQ_BOOLCOL, /* users.active (SQLite INTEGER 0/1: numeric text meets it as a number) */
    STORE_PGQ_NULL,    /* always NULL (a membership has no such sub-attribute) */
};

struct store_pgq_operand {
    enum store_pgq_okind kind;
    char expr[256]; /* written here: a column, a CASE, or a json expression over parameters */
    bool ci;        /* compare case-insensitively (ASCII, as NOCASE) */
    bool boolean;   /* a boolean attribute: "true"/"false" strings compare as 1/0 */
    bool nullable;  /* TEXTCOL: the column may be NULL */
};

enum store_pgq_vclass { STORE_PGQ_V_TEXT, STORE_PGQ_V_NUM, STORE_PGQ_V_NULL };
struct store_pgq_val {
    enum store_pgq_vclass cls;
    const char *text;  /* TEXT: the string; NUM: the number as numeric text */
    const char *shown; /* NUM: SQLite's text form of it (instr, TEXT columns) */
};

/* The comparison value, coerced to the attribute's type (Entra sends booleans in quotes). */
static struct store_pgq_val store_pgq_value(struct store_pgq *c, const struct store_filter *f,
                                            const struct store_pgq_operand *o)
{
    struct store_pgq_val v = {STORE_PGQ_V_NULL, NULL, NULL};
    char shown[48];

    switch (f->vtype) {
    case STORE_V_STRING:
        if (o->boolean && strcasecmp(f->str, "true") == 0)
            v = (struct store_pgq_val){STORE_PGQ_V_NUM, "1", "1"};
        else if (o->boolean && strcasecmp(f->str, "false") == 0)
            v = (struct store_pgq_val){STORE_PGQ_V_NUM, "0", "0"};
        else
            v = (struct store_pgq_val){STORE_PGQ_V_TEXT, f->str, NULL};
        break;
    case STORE_V_NUMBER:
        store_pg_real_text(f->num, shown, sizeof(shown));
        v = (struct store_pgq_val){STORE_PGQ_V_NUM, store_pgq_num_text(c, f->num),
                                   gh_arena_strdup(c->a, shown)};
        break;
    case STORE_V_TRUE:
        v = (struct store_pgq_val){STORE_PGQ_V_NUM, "1", "1"};
        break;
    case STORE_V_FALSE:
        v = (struct store_pgq_val){STORE_PGQ_V_NUM, "0", "0"};
        break;
    case STORE_V_NULL:
        break;
    }
    return v;
}

static const char *const store_pgq_ops[] = {
    [STORE_F_EQ] = " = ",  [STORE_F_NE] = " <> ", [STORE_F_GT] = " > ",
    [STORE_F_GE] = " >= ", [STORE_F_LT] = " < ",  [STORE_F_LE] = " <= ",
};

/* A comparison across SQLite types: numbers sort below text and never equal it. */
static const char *store_pgq_cross(enum store_fop op, bool operand_is_number)
{
    bool below = op == STORE_F_NE || op == STORE_F_LT || op == STORE_F_LE;
    bool above = op == STORE_F_NE || op == STORE_F_GT || op == STORE_F_GE;
    return (operand_is_number ? below : above) ? "true" : "false";
}

/* Emit "a <op> $n" on text, folded or byte-wise as o says. */
static void store_pgq_textcmp(struct store_pgq *c, const char *a, enum store_fop op, int n, bool ci)
{
    if (ci)
        store_pgq_putf(c, "lower((%s) " STORE_PGQ_C ")%slower($%d::text " STORE_PGQ_C ")", a,
                       store_pgq_ops[op], n);
    else if (op == STORE_F_EQ || op == STORE_F_NE) /* the column's own collation: indexed */
        store_pgq_putf(c, "(%s)%s$%d::text", a, store_pgq_ops[op], n);
    else
        store_pgq_putf(c, "(%s) " STORE_PGQ_C "%s$%d::text", a, store_pgq_ops[op], n);
}

/* The json value x as SQLite's TEXT, REAL or INTEGER, in text form (NULL for null). */
static void store_pgq_json_text(const char *x, char *out, size_t cap)
{
    store_pgq_frag(out, cap,
                   "CASE json_typeof(%s) WHEN 'string' THEN %s #>> '{}' WHEN 'number' THEN "
                   "regexp_replace(%s::text, '^(-?[0-9]+)e', '\\1.0e') WHEN 'boolean' THEN "
                   "CASE %s::text WHEN 'true' THEN '1' ELSE '0' END WHEN 'null' THEN NULL "
                   "ELSE %s::text END",
                   x, x, x, x, x);
}

/* The json value x as a number when SQLite has one (a number, true/false), else NULL. */
static void store_pgq_json_num(const char *x, char *out, size_t cap)
{
    store_pgq_frag(out, cap,
                   "CASE json_typeof(%s) WHEN 'number' THEN %s::text::numeric WHEN 'boolean' THEN "
                   "CASE %s::text WHEN 'true' THEN 1 ELSE 0 END END",
                   x, x, x);
}

/* The json value x when SQLite has it as text (a string; an object or array as its JSON). */
static void store_pgq_json_str(const char *x, char *out, size_t cap)
{
    store_pgq_frag(out, cap,
                   "CASE json_typeof(%s) WHEN 'string' THEN %s #>> '{}' WHEN 'object' THEN "
                   "%s::text WHEN 'array' THEN %s::text END",
                   x, x, x, x);
}

/* eq/ne/gt/ge/lt/le against a value that is not null. */
static void store_pgq_order(struct store_pgq *c, enum store_fop op,
                            const struct store_pgq_operand *o, struct store_pgq_val v)
{
    const char *x = o->expr;
    char frag[640];
    int n;

    if (o->kind == STORE_PGQ_BOOLCOL && v.cls == STORE_PGQ_V_TEXT) {
        double d;
        if (store_pgq_numeric_text(v.text, &d))
            v = (struct store_pgq_val){STORE_PGQ_V_NUM, store_pgq_num_text(c, d), NULL};
    }
    switch (o->kind) {
    case STORE_PGQ_JSON:
        store_pgq_putf(c, "CASE WHEN json_typeof(%s) IN ('number', 'boolean') THEN ", x);
        if (v.cls == STORE_PGQ_V_NUM) {
            store_pgq_json_num(x, frag, sizeof(frag));
            store_pgq_putf(c, "(%s)%s$%d::numeric", frag, store_pgq_ops[op],
                           store_pgq_param(c, v.text));
        } else {
            store_pgq_put(c, store_pgq_cross(op, true));
        }
        store_pgq_putf(c, " WHEN json_typeof(%s) IN ('string', 'object', 'array') THEN ", x);
        if (v.cls == STORE_PGQ_V_TEXT) {
            store_pgq_json_str(x, frag, sizeof(frag));
            store_pgq_textcmp(c, frag, op, store_pgq_param(c, v.text), o->ci);
        } else {
            store_pgq_put(c, store_pgq_cross(op, false));
        }
        store_pgq_putf(c, " ELSE %s END", op == STORE_F_NE ? "true" : "false");
        return;
    case STORE_PGQ_TEXTCOL:
        n = store_pgq_param(c, v.cls == STORE_PGQ_V_TEXT ? v.text : v.shown);
        if (op == STORE_F_NE) {
            store_pgq_putf(c, "(%s IS NULL OR ", x);
            store_pgq_textcmp(c, x, op, n, o->ci);
            store_pgq_put(c, ")");
        } else if (o->nullable) {
            store_pgq_put(c, "(");
            store_pgq_textcmp(c, x, op, n, o->ci);
            store_pgq_putf(c, " AND %s IS NOT NULL)", x);
        } else {
            store_pgq_textcmp(c, x, op, n, o->ci);
        }
        return;
    case STORE_PGQ_TEXT:
        if (v.cls == STORE_PGQ_V_TEXT)
            store_pgq_textcmp(c, x, op, store_pgq_param(c, v.text), o->ci);
        else
            store_pgq_put(c, store_pgq_cross(op, false));
        return;
    case STORE_PGQ_BOOLCOL:
        if (v.cls == STORE_PGQ_V_NUM)
            store_pgq_putf(c, "(CASE WHEN %s THEN 1 ELSE 0 END)%s$%d::numeric", x,
                           store_pgq_ops[op], store_pgq_param(c, v.text));
        else
            store_pgq_put(c, store_pgq_cross(op, true));
        return;
    case STORE_PGQ_NULL:
        store_pgq_put(c, op == STORE_F_NE ? "true" : "false");
        return;
    }
}

/* co/sw/ew: on the operand's text form (instr/substr in SQLite). */
static void store_pgq_substr(struct store_pgq *c, enum store_fop op,
                             const struct store_pgq_operand *o, struct store_pgq_val v)
{
    char t[640], a[720], p[64];
    int n;

    if (v.cls == STORE_PGQ_V_NUM && op != STORE_F_CO) {
        /* substr(x, ..) = <number>: text never equals a number */
        store_pgq_put(c, "false");
        return;
    }
    switch (o->kind) {
    case STORE_PGQ_JSON:
        store_pgq_json_text(o->expr, t, sizeof(t));
        break;
    case STORE_PGQ_TEXTCOL:
    case STORE_PGQ_TEXT:
        store_pgq_frag(t, sizeof(t), "%s", o->expr);
        break;
    case STORE_PGQ_BOOLCOL:
        store_pgq_frag(t, sizeof(t), "CASE WHEN %s THEN '1' ELSE '0' END", o->expr);
        break;
    case STORE_PGQ_NULL:
        store_pgq_frag(t, sizeof(t), "NULL::text");
        break;
    }
    n = store_pgq_param(c, v.cls == STORE_PGQ_V_TEXT ? v.text : v.shown);
    if (o->ci) {
        store_pgq_frag(a, sizeof(a), "lower((%s) " STORE_PGQ_C ")", t);
        store_pgq_frag(p, sizeof(p), "lower($%d::text " STORE_PGQ_C ")", n);
    } else {
        store_pgq_frag(a, sizeof(a), "(%s)", t);
        store_pgq_frag(p, sizeof(p), "$%d::text", n);
    }
    switch (op) {
    case STORE_F_CO:
        store_pgq_putf(c, "COALESCE(strpos(%s, %s) > 0, false)", a, p);
        return;
    case STORE_F_SW:
        store_pgq_putf(c, "COALESCE(left(%s, char_length($%d::text)) = %s, false)", a, n, p);
        return;
    case STORE_F_EW: /* SQLite: length(?) = 0 OR substr(x, -length(?)) = ?, true for "" */
        store_pgq_putf(c,
                       "(char_length($%d::text) = 0 OR COALESCE(right(%s, char_length($%d::text)) "
                       "= %s, false))",
                       n, a, n, p);
        return;
    default:
        (void)GH_NEVER(true);
        store_pgq_put(c, "false");
    }
}

/* Emit the predicate "operand <op> value" (true or false, never NULL). */
static void store_pgq_cmp(struct store_pgq *c, const struct store_filter *f,
                          const struct store_pgq_operand *o)
{
    const char *x = o->expr;
    char t[640];

    if (f->op == STORE_F_PR) { /* SQLite: x NOT IN ('', '[]', '{}') */
        switch (o->kind) {
        case STORE_PGQ_JSON:
            store_pgq_json_text(x, t, sizeof(t));
            store_pgq_putf(c, "COALESCE((%s) NOT IN ('', '[]', '{}'), false)", t);
            return;
        case STORE_PGQ_TEXTCOL:
        case STORE_PGQ_TEXT:
            store_pgq_putf(c, "COALESCE(%s NOT IN ('', '[]', '{}'), false)", x);
            return;
        case STORE_PGQ_BOOLCOL:
            store_pgq_put(c, "true");
            return;
        case STORE_PGQ_NULL:
            store_pgq_put(c, "false");
            return;
        }
    }
    if (f->vtype == STORE_V_NULL) {
        bool eq = f->op == STORE_F_EQ;
        switch (o->kind) {
        case STORE_PGQ_JSON:
            store_pgq_putf(c, "COALESCE(json_typeof(%s), 'null') %s 'null'", x, eq ? "=" : "<>");
            return;
        case STORE_PGQ_TEXTCOL:
            store_pgq_putf(c, "%s IS %sNULL", x, eq ? "" : "NOT ");
            return;
        case STORE_PGQ_TEXT:
        case STORE_PGQ_BOOLCOL:
            store_pgq_put(c, eq ? "false" : "true");
            return;
        case STORE_PGQ_NULL:
            store_pgq_put(c, eq ? "true" : "false");
            return;
        }
    }
    struct store_pgq_val v = store_pgq_value(c, f, o);
    switch (f->op) {
    case STORE_F_EQ:
    case STORE_F_NE:
    case STORE_F_GT:
    case STORE_F_GE:
    case STORE_F_LT:
    case STORE_F_LE:
        store_pgq_order(c, f->op, o, v);
        return;
    case STORE_F_CO:
    case STORE_F_SW:
    case STORE_F_EW:
        store_pgq_substr(c, f->op, o, v);
        return;
    default:
        (void)GH_NEVER(true);
        store_pgq_put(c, "false");
    }
}

/* A json operand: the value is computed once per row in a fenced subquery (OFFSET 0) and the
 * predicate reads it as xN.v, rather than extracting it again for every mention. */
static void store_pgq_json_cmp(struct store_pgq *c, const struct store_filter *f,
                               const struct store_pgq_operand *o)
{
    struct store_pgq_operand x = *o;
    int al = ++c->alias;

    store_pgq_frag(x.expr, sizeof(x.expr), "x%d.v", al);
    store_pgq_put(c, "COALESCE((SELECT ");
    store_pgq_cmp(c, f, &x);
    store_pgq_putf(c, " FROM (SELECT %s OFFSET 0) AS x%d(v)), false)", o->expr, al);
}

/* json_extract_path(r.body::json, $urn, $attr, $sub): one parameter per key. */
static void store_pgq_jpath(struct store_pgq *c, const char *urn, const char *attr, const char *sub,
                            char *out, size_t cap)
{
    char k[3][24] = {"", "", ""};
    if (urn != NULL)
        store_pgq_frag(k[0], sizeof(k[0]), ", $%d::text", store_pgq_param(c, urn));
    store_pgq_frag(k[1], sizeof(k[1]), ", $%d::text", store_pgq_param(c, attr));
    if (sub != NULL)
        store_pgq_frag(k[2], sizeof(k[2]), ", $%d::text", store_pgq_param(c, sub));
    store_pgq_frag(out, cap, "json_extract_path(r.body::json%s%s%s)", k[0], k[1], k[2]);
}

static void store_pgq_node(struct store_pgq *c, const struct store_filter *f, const char *elem);

/* Predicates over one membership row mN (members[...] and groups[...] value filters). */
static void store_pgq_member_leaf(struct store_pgq *c, const struct store_filter *f, const char *m,
                                  const char *col)
{
    struct store_pgq_operand o = {.kind = STORE_PGQ_NULL};
    if (strcmp(f->path.attr, "value") == 0) {
        o.kind = STORE_PGQ_TEXTCOL;
        store_pgq_frag(o.expr, sizeof(o.expr), "%s", col);
    } else if (strcmp(f->path.attr, "type") == 0) {
        o.kind = STORE_PGQ_TEXT;
        store_pgq_frag(o.expr, sizeof(o.expr),
                       "CASE %s.member_type WHEN 0 THEN 'User' ELSE 'Group' END", m);
    } else {
        store_pgq_frag(o.expr, sizeof(o.expr), "NULL");
    }
    store_pgq_cmp(c, f, &o);
}

static void store_pgq_member_tree(struct store_pgq *c, const struct store_filter *f, const char *m,
                                  const char *col);

/* A chain of one operator without nested parentheses (see store_pgq_chain). */
static void store_pgq_member_chain(struct store_pgq *c, const struct store_filter *f,
                                   enum store_fop op, const char *m, const char *col)
{
    if (f->op != op) {
        store_pgq_member_tree(c, f, m, col);
        return;
    }
    store_pgq_member_chain(c, f->left, op, m, col);
    store_pgq_put(c, op == STORE_F_AND ? " AND " : " OR ");
    store_pgq_member_chain(c, f->right, op, m, col);
}

static void store_pgq_member_tree(struct store_pgq *c, const struct store_filter *f, const char *m,
                                  const char *col)
{
    switch (f->op) {
    case STORE_F_AND:
    case STORE_F_OR:
        store_pgq_put(c, "(");
        store_pgq_member_chain(c, f, f->op, m, col);
        store_pgq_put(c, ")");
        return;
    case STORE_F_NOT:
        store_pgq_put(c, "NOT ");
        store_pgq_member_tree(c, f->left, m, col);
        return;
    default:
        store_pgq_member_leaf(c, f, m, col);
    }
}

/*
 * Membership-backed attributes: Group members[.value] and User groups[.value]. The EXISTS runs
 * on the (group_id, member_id) primary key or the member_id index.
 */
static void store_pgq_membership(struct store_pgq *c, const struct store_filter *f)
{
    int al = ++c->alias;
    bool group_side = c->kind == STORE_GROUP; /* r is the group */
    char m[16], col[32];
    struct store_filter leaf;

    store_pgq_frag(m, sizeof(m), "m%d", al);
    store_pgq_frag(col, sizeof(col), group_side ? "%s.member_id" : "%s.group_id", m);
    store_pgq_putf(c, "EXISTS (SELECT 1 FROM members %s WHERE %s.%s = r.id", m, m,
                   group_side ? "group_id" : "member_id");
    if (f->path.vfilter != NULL) {
        store_pgq_put(c, " AND ");
        store_pgq_member_tree(c, f->path.vfilter, m, col);
    }
    if (f->op != STORE_F_HAS && f->op != STORE_F_PR) {
        leaf = *f;
        memset(&leaf.path, 0, sizeof(leaf.path));
        leaf.path.attr = f->path.sub ? f->path.sub : "value";
        store_pgq_put(c, " AND ");
        store_pgq_member_leaf(c, &leaf, m, col);
    }
    store_pgq_put(c, ")");
}

/* Columns that hold an attribute: no JSON to read, and indexed where it matters. */
static bool store_pgq_column(struct store_pgq *c, const struct store_path *p,
                             struct store_pgq_operand *o)
{
    static const struct {
        const char *attr, *sub, *col;
        enum store_kind kind;
        enum store_pgq_okind okind;
        bool ci;       /* compared case-insensitively (NOCASE) */
        bool nullable; /* the column may be NULL */
    } cols[] = {
        {"id", NULL, "r.id", STORE_USER, STORE_PGQ_TEXTCOL, false, false},
        {"userName", NULL, "r.user_name", STORE_USER, STORE_PGQ_TEXTCOL, true, false},
        {"externalId", NULL, "r.external_id", STORE_USER, STORE_PGQ_TEXTCOL, false, true},
        {"displayName", NULL, "r.display_name", STORE_USER, STORE_PGQ_TEXTCOL, true, true},
        {"active", NULL, "r.active", STORE_USER, STORE_PGQ_BOOLCOL, false, false},
        {"id", NULL, "r.id", STORE_GROUP, STORE_PGQ_TEXTCOL, false, false},
        {"displayName", NULL, "r.display_name", STORE_GROUP, STORE_PGQ_TEXTCOL, true, false},
        {"externalId", NULL, "r.external_id", STORE_GROUP, STORE_PGQ_TEXTCOL, false, true},
        {"meta", "created", "r.created", STORE_USER, STORE_PGQ_TEXTCOL, false, true},
        {"meta", "lastModified", "r.modified", STORE_USER, STORE_PGQ_TEXTCOL, false, true},
        {"meta", "created", "r.created", STORE_GROUP, STORE_PGQ_TEXTCOL, false, true},
        {"meta", "lastModified", "r.modified", STORE_GROUP, STORE_PGQ_TEXTCOL, false, true},
    };
    if (p->urn != NULL || p->vfilter != NULL)
        return false;
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        if (cols[i].kind != c->kind || strcmp(cols[i].attr, p->attr) != 0)
            continue;
        if ((cols[i].sub == NULL) != (p->sub == NULL) ||
            (p->sub != NULL && strcmp(cols[i].sub, p->sub) != 0))
            continue;
        memset(o, 0, sizeof(*o));
        o->kind = cols[i].okind;
        store_pgq_frag(o->expr, sizeof(o->expr), "%s", cols[i].col);
        o->ci = cols[i].ci;
        o->boolean = cols[i].okind == STORE_PGQ_BOOLCOL;
        o->nullable = cols[i].nullable;
        return true;
    }
    if (p->attr != NULL && strcmp(p->attr, "meta") == 0 && p->sub != NULL &&
        strcmp(p->sub, "resourceType") == 0) {
        memset(o, 0, sizeof(*o));
        o->kind = STORE_PGQ_TEXT;
        store_pgq_frag(o->expr, sizeof(o->expr), "$%d::text",
                       store_pgq_param(c, c->kind == STORE_USER ? "User" : "Group"));
        return true;
    }
    return false;
}

/* How an attribute compares, from what the schema says of it (STORE_ATTR_*; 0: unknown). */
static void store_pgq_operand_attr(struct store_pgq_operand *o, unsigned flags)
{
    o->boolean = (flags & STORE_ATTR_KNOWN) && (flags & STORE_ATTR_BOOLEAN);
    o->ci = !(flags & STORE_ATTR_KNOWN) || !(flags & STORE_ATTR_CASE_EXACT);
}

/* A comparison, PR or HAS on a top-level path (r.body), or on an element (elem = "eN"). */
static void store_pgq_leaf(struct store_pgq *c, const struct store_filter *f, const char *elem)
{
    const struct store_path *p = &f->path;
    struct store_pgq_operand o;

    memset(&o, 0, sizeof(o));
    if (elem != NULL) { /* inside attr[...]: p->attr is a sub-attribute of the element */
        int n = store_pgq_param(c, p->attr);
        o.kind = STORE_PGQ_JSON;
        store_pgq_frag(o.expr, sizeof(o.expr),
                       "CASE json_typeof(%s.v) WHEN 'object' THEN %s.v -> $%d::text WHEN "
                       "'array' THEN NULL ELSE %s.v END",
                       elem, elem, n, elem);
        store_pgq_operand_attr(&o, p->attr_flags);
        store_pgq_json_cmp(c, f, &o);
        return;
    }
    if (p->urn == NULL && ((c->kind == STORE_GROUP && strcmp(p->attr, "members") == 0) ||
                           (c->kind == STORE_USER && strcmp(p->attr, "groups") == 0))) {
        store_pgq_membership(c, f);
        return;
    }
    if (store_pgq_column(c, p, &o)) {
        store_pgq_cmp(c, f, &o);
        return;
    }
    /* an unknown attribute with a value filter is taken to be multi-valued */
    bool multi = (p->attr_flags & STORE_ATTR_MULTI) || p->vfilter != NULL;
    if (!multi || (f->op == STORE_F_PR && p->vfilter == NULL && p->sub == NULL)) {
        o.kind = STORE_PGQ_JSON;
        store_pgq_jpath(c, p->urn, p->attr, p->sub, o.expr, sizeof(o.expr));
        store_pgq_operand_attr(&o, p->sub ? p->sub_flags : p->attr_flags);
        store_pgq_json_cmp(c, f, &o);
        return;
    }
    /* multi-valued: some element satisfies [vfilter] and the comparison on .sub (or .value).
     * The elements are SQLite's json_each rows: an array's elements, an object's member
     * values, or a lone value itself (JSON null included); nothing when the key is absent. */
    int al = ++c->alias;
    char e[16], path[160];
    store_pgq_frag(e, sizeof(e), "e%d", al);
    store_pgq_jpath(c, p->urn, p->attr, NULL, path, sizeof(path));
    store_pgq_putf(c,
                   "EXISTS (SELECT 1 FROM (SELECT %s OFFSET 0) AS a%d(j), LATERAL (SELECT value "
                   "FROM json_array_elements(CASE json_typeof(a%d.j) WHEN 'array' THEN a%d.j END) "
                   "UNION ALL SELECT value FROM json_each(CASE json_typeof(a%d.j) WHEN 'object' "
                   "THEN a%d.j END) UNION ALL SELECT a%d.j WHERE json_typeof(a%d.j) NOT IN "
                   "('array', 'object')) AS %s(v) WHERE true",
                   path, al, al, al, al, al, al, al, e);
    if (p->vfilter != NULL) {
        store_pgq_put(c, " AND ");
        store_pgq_node(c, p->vfilter, e);
    }
    if (f->op != STORE_F_HAS) {
        struct store_filter leaf = *f;
        memset(&leaf.path, 0, sizeof(leaf.path));
        leaf.path.attr = p->sub ? p->sub : "value";
        leaf.path.attr_flags = p->elem_flags;
        store_pgq_put(c, " AND ");
        store_pgq_leaf(c, &leaf, e);
    }
    store_pgq_put(c, ")");
}

/* The terms of a chain of one operator, without parentheses between them: "a OR b OR c", as
 * sqlite_query.c writes them (a 4 KiB filter can chain hundreds of terms). */
static void store_pgq_chain(struct store_pgq *c, const struct store_filter *f, enum store_fop op,
                            const char *elem)
{
    if (f->op != op) {
        store_pgq_node(c, f, elem);
        return;
    }
    store_pgq_chain(c, f->left, op, elem);
    store_pgq_put(c, op == STORE_F_AND ? " AND " : " OR ");
    store_pgq_chain(c, f->right, op, elem);
}

static void store_pgq_node(struct store_pgq *c, const struct store_filter *f, const char *elem)
{
    switch (f->op) {
    case STORE_F_AND:
    case STORE_F_OR:
        store_pgq_put(c, "(");
        store_pgq_chain(c, f, f->op, elem);
        store_pgq_put(c, ")");
        return;
    case STORE_F_NOT:
        store_pgq_put(c, "NOT ");
        store_pgq_node(c, f->left, elem);
        return;
    default:
        store_pgq_leaf(c, f, elem);
    }
}

/* The buffer's text as an arena string; the buffer is emptied. */
static const char *store_pgq_take(struct store_pgq *c)
{
    const char *s = gh_arena_strndup(c->a, gh_buf_str(&c->sql), c->sql.len);
    gh_buf_reset(&c->sql);
    return s;
}

/*
 * ORDER BY for sortBy. A sort key that needs parameters (a JSON path, meta.resourceType) is
 * computed in a LATERAL subquery s(v) that both statements join, so both reference every
 * parameter; the count's copy is not fenced, so PostgreSQL drops it unevaluated.
 */
static void store_pgq_sort(struct store_pgq *c, const struct store_query *q,
                           const char **out_lateral_page, const char **out_lateral_count,
                           const char **out_keys)
{
    const struct store_path *p = q->sort_by;
    const char *dir = q->descending ? "DESC" : "ASC";
    const char *nulls = q->descending ? "NULLS LAST" : "NULLS FIRST"; /* SQLite: NULL lowest */
    struct store_pgq_operand o;
    char t[640];

    *out_lateral_page = *out_lateral_count = "";
    memset(&o, 0, sizeof(o));
    if (p == NULL) {
        *out_keys = "";
        return;
    }
    if (!store_pgq_column(c, p, &o)) {
        o.kind = STORE_PGQ_JSON;
        store_pgq_jpath(c, p->urn, p->attr, p->sub, o.expr, sizeof(o.expr));
        store_pgq_operand_attr(&o, p->sub ? p->sub_flags : p->attr_flags);
    }
    if (o.kind == STORE_PGQ_JSON || o.kind == STORE_PGQ_TEXT) {
        *out_lateral_page = gh_arena_printf(c->a, ", LATERAL (SELECT %s OFFSET 0) AS s(v)", o.expr);
        *out_lateral_count = gh_arena_printf(c->a, ", LATERAL (SELECT %s) AS s(v)", o.expr);
    }
    switch (o.kind) {
    case STORE_PGQ_JSON:
        /* SQLite's order of types (NULL, numbers, text), then the value within its type */
        store_pgq_putf(c,
                       "CASE WHEN json_typeof(s.v) IN ('number', 'boolean') THEN 1 WHEN "
                       "json_typeof(s.v) IN ('string', 'object', 'array') THEN 2 ELSE 0 END %s, ",
                       dir);
        store_pgq_json_num("s.v", t, sizeof(t));
        store_pgq_putf(c, "%s %s, ", t, dir);
        store_pgq_json_str("s.v", t, sizeof(t));
        if (o.ci)
            store_pgq_putf(c, "lower((%s) " STORE_PGQ_C ") %s, ", t, dir);
        else
            store_pgq_putf(c, "(%s) " STORE_PGQ_C " %s, ", t, dir);
        break;
    case STORE_PGQ_TEXT:
        store_pgq_putf(c, "s.v " STORE_PGQ_C " %s, ", dir);
        break;
    case STORE_PGQ_TEXTCOL:
        if (o.ci)
            store_pgq_putf(c, "lower(%s " STORE_PGQ_C ") %s %s, ", o.expr, dir, nulls);
        else
            store_pgq_putf(c, "%s " STORE_PGQ_C " %s %s, ", o.expr, dir, nulls);
        break;
    case STORE_PGQ_BOOLCOL:
        store_pgq_putf(c, "%s %s, ", o.expr, dir);
        break;
    case STORE_PGQ_NULL:
        break;
    }
    *out_keys = store_pgq_take(c);
}

enum gh_status store_pg_list_sql(enum store_kind kind, const struct store_query *q,
                                 struct gh_arena *a, struct store_pg_list_sql *out,
                                 struct gh_err *err)
{
    struct store_pgq c;
    const char *table, *where, *lat_page, *lat_count, *keys;
    int64_t limit, offset;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.kind = kind;
    c.a = a;
    c.err = err;
    gh_buf_init(&c.sql, STORE_PG_MAX_SQL);
    table = store_pgq_tables[kind == STORE_GROUP];

    if (q->filter == NULL)
        store_pgq_put(&c, "true");
    else
        store_pgq_node(&c, q->filter, NULL);
    where = store_pgq_take(&c);
    store_pgq_sort(&c, q, &lat_page, &lat_count, &keys);
    if (c.st != GH_OK)
        goto out;

    limit = q->count > 0 ? q->count : 0;
    offset = q->start_index > 1 ? q->start_index - 1 : 0;
    store_pgq_putf(&c, "SELECT r.id, r.version, r.created, r.modified, r.body FROM %s r", table);
    store_pgq_put(&c, lat_page);
    store_pgq_put(&c, " WHERE ");
    store_pgq_put(&c, where);
    store_pgq_putf(&c, " ORDER BY %sr.seq LIMIT %lld OFFSET %lld", keys, (long long)limit,
                   (long long)offset);
    out->page_sql = store_pgq_take(&c);
    store_pgq_putf(&c, "SELECT count(*) FROM %s r", table);
    store_pgq_put(&c, lat_count);
    store_pgq_put(&c, " WHERE ");
    store_pgq_put(&c, where);
    out->count_sql = store_pgq_take(&c);
    out->params = c.params;
    out->nparams = c.nparams;
out:
    gh_buf_free(&c.sql);
    if (c.st != GH_OK)
        memset(out, 0, sizeof(*out));
    return c.st;
}
