/*
 * filter.c - RFC 7644 §3.4.2.2 filter grammar -> typed tree, and in-memory evaluation.
 *
 * Recursive descent with the RFC's precedence (not > and > or), parentheses, value paths
 * (emails[type eq "work"]) and Microsoft's non-ABNF form emails[type eq "work"].value eq "x"
 * (ENTRA.md §1.2). Attribute names are case-insensitive and URN-qualified names resolve against
 * the schema tables. Operators and literals are case-insensitive; strings are JSON strings.
 * Caps: GH_CAP_SCIM_FILTER_LEN bytes, GH_CAP_SCIM_FILTER_DEPTH nesting (every "(", "not" and
 * "[" counts), so a hostile filter cannot exhaust the stack. The tree never becomes SQL text
 * here: store.c compiles it with bound parameters.
 */
#include "scim/filter.h"
#include "sidecar/gatehouse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scim_fparser {
    struct gh_arena *a;
    enum scim_kind kind;
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

static struct scim_filter *scim_fp_node(struct scim_fparser *p, enum scim_fop op)
{
    struct scim_filter *f = gh_arena_alloc(p->a, sizeof(*f));
    f->op = op;
    return f;
}

static enum gh_status scim_fp_or(struct scim_fparser *p, struct scim_filter **out);

static const struct {
    const char *kw;
    enum scim_fop op;
} scim_fp_ops[] = {
    {"eq", SCIM_F_EQ}, {"ne", SCIM_F_NE}, {"co", SCIM_F_CO}, {"sw", SCIM_F_SW}, {"ew", SCIM_F_EW},
    {"gt", SCIM_F_GT}, {"ge", SCIM_F_GE}, {"lt", SCIM_F_LT}, {"le", SCIM_F_LE}, {"pr", SCIM_F_PR},
};

/* compValue = false / null / true / number / string */
static enum gh_status scim_fp_value(struct scim_fparser *p, struct scim_filter *f)
{
    const char *s = p->s + p->pos;

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
        cJSON *j = cJSON_ParseWithLength(s, i + 1);
        if (!cJSON_IsString(j)) {
            cJSON_Delete(j);
            return scim_fp_fail(p, "bad string escape");
        }
        f->vtype = SCIM_V_STRING;
        f->str = gh_arena_strdup(p->a, j->valuestring);
        cJSON_Delete(j);
        p->pos += i + 1;
        return GH_OK;
    }
    if (scim_fp_keyword(p, "true")) {
        f->vtype = SCIM_V_TRUE;
        return GH_OK;
    }
    if (scim_fp_keyword(p, "false")) {
        f->vtype = SCIM_V_FALSE;
        return GH_OK;
    }
    if (scim_fp_keyword(p, "null")) {
        f->vtype = SCIM_V_NULL;
        return GH_OK;
    }
    if (p->pos < p->len && (*s == '-' || (*s >= '0' && *s <= '9'))) {
        size_t n = 0;
        while (p->pos + n < p->len && strchr("+-.eE0123456789", s[n]) != NULL)
            n++;
        char *tmp = gh_arena_strndup(p->a, s, n), *end;
        double d = strtod(tmp, &end);
        if (*end != '\0' || !isfinite(d))
            return scim_fp_fail(p, "bad number");
        f->vtype = SCIM_V_NUMBER;
        f->num = d;
        p->pos += n;
        return GH_OK;
    }
    return scim_fp_fail(p, "expected a value (string, number, true, false or null)");
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
static enum gh_status scim_fp_attr(struct scim_fparser *p, struct scim_filter **out)
{
    struct scim_path path;
    struct scim_filter *inner = NULL, *f;
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
            f = scim_fp_node(p, SCIM_F_HAS);
            f->path = path;
            *out = f;
            return GH_OK;
        }
    }
    scim_fp_ws(p);
    f = scim_fp_node(p, SCIM_F_EQ);
    f->path = path;
    size_t i;
    for (i = 0; i < sizeof(scim_fp_ops) / sizeof(scim_fp_ops[0]); i++)
        if (scim_fp_keyword(p, scim_fp_ops[i].kw))
            break;
    if (i == sizeof(scim_fp_ops) / sizeof(scim_fp_ops[0]))
        return scim_fp_fail(p, "expected an operator (eq ne co sw ew gt ge lt le pr)");
    f->op = scim_fp_ops[i].op;
    if (f->op != SCIM_F_PR) {
        scim_fp_ws(p);
        st = scim_fp_value(p, f);
        if (st)
            return st;
        if (f->vtype == SCIM_V_NULL && f->op != SCIM_F_EQ && f->op != SCIM_F_NE)
            return scim_fp_fail(p, "null compares with eq and ne only");
        if ((f->vtype == SCIM_V_TRUE || f->vtype == SCIM_V_FALSE) && f->op != SCIM_F_EQ &&
            f->op != SCIM_F_NE)
            return scim_fp_fail(p, "booleans compare with eq and ne only");
    }
    /* A complex single-valued attribute has no value of its own (RFC 7644 §3.4.2.2), except
     * one with a "value" sub-attribute (manager), which Entra compares directly (§1.23). */
    if (path.sub == NULL && path.a != NULL && path.a->type == SCIM_T_COMPLEX &&
        !(path.a->flags & SCIM_A_MULTI) && f->op != SCIM_F_PR) {
        path.s = scim_attr_find(path.a->sub, "value");
        path.sub = path.s ? path.s->name : NULL;
        f->path = path;
    }
    const struct scim_attr *leaf = path.sub ? path.s : path.a;
    if (leaf != NULL && leaf->type == SCIM_T_COMPLEX && !(leaf->flags & SCIM_A_MULTI) &&
        f->op != SCIM_F_PR)
        return scim_fp_fail(p, "a complex attribute needs a sub-attribute");
    *out = f;
    return GH_OK;
}

static enum gh_status scim_fp_unary(struct scim_fparser *p, struct scim_filter **out)
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
        struct scim_filter *n = scim_fp_node(p, SCIM_F_NOT);
        n->left = *out;
        *out = n;
    }
    return GH_OK;
}

/* Left-deep chains are built iteratively, so a long "a and b and c ..." costs no stack. */
static enum gh_status scim_fp_and(struct scim_fparser *p, struct scim_filter **out)
{
    enum gh_status st = scim_fp_unary(p, out);
    while (st == GH_OK) {
        size_t save = p->pos;
        scim_fp_ws(p);
        if (!scim_fp_keyword(p, "and")) {
            p->pos = save;
            break;
        }
        struct scim_filter *n = scim_fp_node(p, SCIM_F_AND);
        n->left = *out;
        st = scim_fp_unary(p, &n->right);
        *out = n;
    }
    return st;
}

static enum gh_status scim_fp_or(struct scim_fparser *p, struct scim_filter **out)
{
    enum gh_status st = scim_fp_and(p, out);
    while (st == GH_OK) {
        size_t save = p->pos;
        scim_fp_ws(p);
        if (!scim_fp_keyword(p, "or")) {
            p->pos = save;
            break;
        }
        struct scim_filter *n = scim_fp_node(p, SCIM_F_OR);
        n->left = *out;
        st = scim_fp_and(p, &n->right);
        *out = n;
    }
    return st;
}

/*
 * Parse a filter (see filter.h). The text must be NUL-terminated; the tree is arena-owned.
 */
enum gh_status scim_filter_parse(struct gh_arena *a, enum scim_kind kind, const char *text,
                                 struct scim_filter **out, struct gh_err *err)
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
enum gh_status scim_filter_path_parse(struct gh_arena *a, enum scim_kind kind, const char *text,
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

static bool scim_fm_cmp(const struct scim_filter *f, const cJSON *v)
{
    bool exact = f->path.a != NULL && (f->path.a->flags & SCIM_A_CASE_EXACT);
    bool b, want;
    int c;

    if (v == NULL || cJSON_IsNull(v))
        return (f->op == SCIM_F_EQ && f->vtype == SCIM_V_NULL) ||
               (f->op == SCIM_F_NE && f->vtype != SCIM_V_NULL);
    if (f->op == SCIM_F_PR)
        return !(cJSON_IsString(v) && v->valuestring[0] == '\0') &&
               !(cJSON_IsArray(v) && v->child == NULL);
    if (f->vtype == SCIM_V_NULL)
        return f->op == SCIM_F_NE;
    /* booleans: true/false literals, or "True"/"False" against a boolean (Entra's
     * roles[primary eq "True"], ENTRA.md §1.22) */
    if (cJSON_IsBool(v) || f->vtype == SCIM_V_TRUE || f->vtype == SCIM_V_FALSE) {
        if (f->vtype == SCIM_V_TRUE || f->vtype == SCIM_V_FALSE)
            want = f->vtype == SCIM_V_TRUE;
        else if (f->vtype == SCIM_V_STRING && strcasecmp(f->str, "true") == 0)
            want = true;
        else if (f->vtype == SCIM_V_STRING && strcasecmp(f->str, "false") == 0)
            want = false;
        else
            return f->op == SCIM_F_NE;
        if (!scim_json_bool(v, &b))
            return f->op == SCIM_F_NE;
        return f->op == SCIM_F_EQ ? b == want : f->op == SCIM_F_NE ? b != want : false;
    }
    if (cJSON_IsNumber(v) && f->vtype == SCIM_V_NUMBER) {
        double d = v->valuedouble;
        c = d < f->num ? -1 : d > f->num ? 1 : 0;
    } else if (cJSON_IsString(v) && f->vtype == SCIM_V_STRING) {
        size_t vl = strlen(v->valuestring), fl = strlen(f->str);
        switch (f->op) {
        case SCIM_F_CO:
            if (exact)
                return strstr(v->valuestring, f->str) != NULL;
            for (size_t i = 0; i + fl <= vl; i++)
                if (strncasecmp(v->valuestring + i, f->str, fl) == 0)
                    return true;
            return false;
        case SCIM_F_SW:
            return vl >= fl && (exact ? strncmp(v->valuestring, f->str, fl)
                                      : strncasecmp(v->valuestring, f->str, fl)) == 0;
        case SCIM_F_EW:
            return vl >= fl && scim_fm_strcmp(v->valuestring + vl - fl, f->str, exact) == 0;
        default:
            c = scim_fm_strcmp(v->valuestring, f->str, exact);
        }
    } else {
        return f->op == SCIM_F_NE; /* different types never compare equal */
    }
    switch (f->op) {
    case SCIM_F_EQ:
        return c == 0;
    case SCIM_F_NE:
        return c != 0;
    case SCIM_F_GT:
        return c > 0;
    case SCIM_F_GE:
        return c >= 0;
    case SCIM_F_LT:
        return c < 0;
    case SCIM_F_LE:
        return c <= 0;
    default:
        return false;
    }
}

/* Evaluate a value filter on one element (see filter.h). Primitive elements answer for
 * "value" (RFC 7644 §3.4.2.2: a multi-valued attribute's implicit sub-attribute). */
bool scim_filter_match(const struct scim_filter *f, const cJSON *elem)
{
    const cJSON *v;

    switch (f->op) {
    case SCIM_F_AND:
        return scim_filter_match(f->left, elem) && scim_filter_match(f->right, elem);
    case SCIM_F_OR:
        return scim_filter_match(f->left, elem) || scim_filter_match(f->right, elem);
    case SCIM_F_NOT:
        return !scim_filter_match(f->left, elem);
    case SCIM_F_HAS:
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

static void scim_fd_path(struct gh_buf *b, const struct scim_path *p, struct gh_arena *a);

static void scim_fd(struct gh_buf *b, const struct scim_filter *f, struct gh_arena *a)
{
    gh_buf_printf(b, NULL, "(%s ", scim_fop_names[f->op]);
    switch (f->op) {
    case SCIM_F_AND:
    case SCIM_F_OR:
        scim_fd(b, f->left, a);
        gh_buf_puts(b, " ", NULL);
        scim_fd(b, f->right, a);
        break;
    case SCIM_F_NOT:
        scim_fd(b, f->left, a);
        break;
    default:
        scim_fd_path(b, &f->path, a);
        if (f->op == SCIM_F_PR || f->op == SCIM_F_HAS)
            break;
        switch (f->vtype) {
        case SCIM_V_STRING:
            gh_buf_printf(b, NULL, " \"%s\"", f->str);
            break;
        case SCIM_V_NUMBER:
            gh_buf_printf(b, NULL, " %g", f->num);
            break;
        case SCIM_V_TRUE:
            gh_buf_puts(b, " true", NULL);
            break;
        case SCIM_V_FALSE:
            gh_buf_puts(b, " false", NULL);
            break;
        case SCIM_V_NULL:
            gh_buf_puts(b, " null", NULL);
            break;
        }
    }
    gh_buf_puts(b, ")", NULL);
}

static void scim_fd_path(struct gh_buf *b, const struct scim_path *p, struct gh_arena *a)
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
const char *scim_filter_dump(struct gh_arena *a, const struct scim_filter *f)
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
