/*
 * sqlite_query.c - list queries on SQLite: the filter tree (store.h, RFC 7644 §3.4.2.2, parsed
 * by scim/filter.c) compiled to a WHERE clause, sortBy to ORDER BY, and one page plus its total.
 *
 * The WHERE text only ever contains SQL written here, column names and generated aliases; every
 * value from the request - literals and the JSON paths built from attribute names - is a bound
 * parameter. Every predicate is 0 or 1, never NULL, so NOT composes. Chains of one operator are
 * written without nested parentheses (SQLite's parser stack). The number of bound parameters is
 * capped (STORE_SQLITE_MAX_BINDS).
 */
#include "core/core.h"
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* bound parameters in one filter: a filter of GH_CAP_SCIM_FILTER_LEN bytes has far fewer
 * leaves; SQLite's own limit is 32766 */
#define STORE_SQLITE_MAX_BINDS 2048

enum store_bind_type { STORE_B_TEXT, STORE_B_REAL, STORE_B_INT, STORE_B_NULL };
struct store_bind {
    enum store_bind_type type;
    const char *text; /* borrowed from the filter tree or the arena */
    double real;
    int64_t i;
};

struct store_sqlc {
    enum store_kind kind;
    struct gh_buf sql;
    struct store_bind *binds;
    int nbinds;
    int alias; /* json_each / members aliases: e1, e2, ... */
    struct gh_arena *a;
    struct gh_err *err;
    enum gh_status st;
};

/* Append SQL written in this file (never request data). */
static void store_sqlc_put(struct store_sqlc *c, const char *s)
{
    if (c->st == GH_OK)
        c->st = gh_buf_puts(&c->sql, s, c->err);
}

/* Append before, the number n, after (parameter numbers and aliases). */
static void store_sqlc_putp(struct store_sqlc *c, const char *before, int n, const char *after)
{
    store_sqlc_put(c, before);
    if (c->st == GH_OK)
        c->st = gh_buf_printf(&c->sql, c->err, "%d", n);
    store_sqlc_put(c, after);
}

/* Add a parameter and return its number (?N). */
static int store_sqlc_bind(struct store_sqlc *c, struct store_bind b)
{
    if (c->nbinds >= STORE_SQLITE_MAX_BINDS) {
        if (c->st == GH_OK) {
            c->st = GH_ERR(c->err, GH_E_INVALID, "filter has too many terms");
            gh_err_set_scim_type(c->err, STORE_ST_INVALID_FILTER);
        }
        return 1;
    }
    c->binds[c->nbinds] = b;
    return ++c->nbinds;
}

static int store_sqlc_text(struct store_sqlc *c, const char *s)
{
    struct store_bind b = {STORE_B_TEXT, s, 0, 0};
    return store_sqlc_bind(c, b);
}

/* A JSON path for json_extract: $."attr" / $."urn"."attr" / ... with ."sub". Bound, never
 * spliced: attribute names come from the request. */
static const char *store_sqlc_jpath(struct store_sqlc *c, const char *urn, const char *attr,
                                    const char *sub)
{
    return gh_arena_printf(c->a, "$%s%s%s.\"%s\"%s%s%s", urn ? ".\"" : "", urn ? urn : "",
                           urn ? "\"" : "", attr, sub ? ".\"" : "", sub ? sub : "",
                           sub ? "\"" : "");
}

/* An operand: SQL text for the value being compared, and how it compares. */
struct store_operand {
    char expr[96]; /* written here: a column, or json_extract over a bound path */
    bool ci;       /* compare case-insensitively */
    bool boolean;  /* a boolean attribute: "true"/"false" strings bind as 1/0 */
};

/* Bind the comparison value, coerced to the attribute's type (Entra sends booleans in quotes). */
static int store_sqlc_value(struct store_sqlc *c, const struct store_filter *f,
                            const struct store_operand *o)
{
    struct store_bind b = {STORE_B_NULL, NULL, 0, 0};

    switch (f->vtype) {
    case STORE_V_STRING:
        if (o->boolean && strcasecmp(f->str, "true") == 0)
            b.type = STORE_B_INT, b.i = 1;
        else if (o->boolean && strcasecmp(f->str, "false") == 0)
            b.type = STORE_B_INT, b.i = 0;
        else
            b.type = STORE_B_TEXT, b.text = f->str;
        break;
    case STORE_V_NUMBER:
        b.type = STORE_B_REAL, b.real = f->num;
        break;
    case STORE_V_TRUE:
    case STORE_V_FALSE:
        b.type = STORE_B_INT, b.i = f->vtype == STORE_V_TRUE;
        break;
    case STORE_V_NULL:
        break;
    }
    return store_sqlc_bind(c, b);
}

/* Emit the predicate "operand <op> value" (always 0 or 1, never NULL, so NOT composes). */
static void store_sqlc_cmp(struct store_sqlc *c, const struct store_filter *f,
                           const struct store_operand *o)
{
    const char *x = o->expr;
    const char *coll = o->ci ? " COLLATE NOCASE" : "";
    int n;

    store_sqlc_put(c, "COALESCE((");
    if (f->op == STORE_F_PR) {
        store_sqlc_put(c, x);
        store_sqlc_put(c, " NOT IN ('', '[]', '{}')");
        goto close;
    }
    if (f->vtype == STORE_V_NULL) {
        store_sqlc_put(c, x);
        store_sqlc_put(c, f->op == STORE_F_EQ ? " IS NULL" : " IS NOT NULL");
        goto close;
    }
    n = store_sqlc_value(c, f, o);
    switch (f->op) {
    case STORE_F_EQ:
    case STORE_F_NE:
    case STORE_F_GT:
    case STORE_F_GE:
    case STORE_F_LT:
    case STORE_F_LE: {
        static const char *const ops[] = {" = ", " <> ", "", "", "", " > ", " >= ", " < ", " <= "};
        if (f->op == STORE_F_NE) {
            store_sqlc_put(c, x);
            store_sqlc_put(c, " IS NULL OR ");
        }
        store_sqlc_put(c, x);
        store_sqlc_put(c, ops[f->op]);
        store_sqlc_putp(c, "?", n, "");
        store_sqlc_put(c, coll);
        break;
    }
    case STORE_F_CO:
        store_sqlc_put(c, o->ci ? "instr(lower(" : "instr((");
        store_sqlc_put(c, x);
        store_sqlc_putp(c, o->ci ? "), lower(?" : "), ?", n, o->ci ? ")) > 0" : ") > 0");
        break;
    case STORE_F_SW:
        store_sqlc_put(c, "substr(");
        store_sqlc_put(c, x);
        store_sqlc_putp(c, ", 1, length(?", n, ")) = ");
        store_sqlc_putp(c, "?", n, "");
        store_sqlc_put(c, coll);
        break;
    case STORE_F_EW:
        store_sqlc_putp(c, "length(?", n, ") = 0 OR substr(");
        store_sqlc_put(c, x);
        store_sqlc_putp(c, ", -length(?", n, ")) = ");
        store_sqlc_putp(c, "?", n, "");
        store_sqlc_put(c, coll);
        break;
    default:
        (void)GH_NEVER(true);
        store_sqlc_put(c, "0");
    }
close:
    store_sqlc_put(c, "), 0)");
}

static void store_sqlc_node(struct store_sqlc *c, const struct store_filter *f, const char *elem);

/* Predicates over one membership row m<alias> (members[...] and groups[...] value filters). */
static void store_sqlc_member_leaf(struct store_sqlc *c, const struct store_filter *f,
                                   const char *col)
{
    struct store_operand o = {.ci = false, .boolean = false};
    if (strcmp(f->path.attr, "value") == 0) {
        snprintf(o.expr, sizeof(o.expr), "%s", col);
    } else if (strcmp(f->path.attr, "type") == 0) {
        char m[16];
        snprintf(m, sizeof(m), "%.*s", (int)(strchr(col, '.') - col), col);
        snprintf(o.expr, sizeof(o.expr), "CASE %s.member_type WHEN 0 THEN 'User' ELSE 'Group' END",
                 m);
    } else {
        snprintf(o.expr, sizeof(o.expr), "NULL");
    }
    store_sqlc_cmp(c, f, &o);
}

static void store_sqlc_member_tree(struct store_sqlc *c, const struct store_filter *f,
                                   const char *col);

/* A chain of one operator without nested parentheses (see store_sqlc_chain). */
static void store_sqlc_member_chain(struct store_sqlc *c, const struct store_filter *f,
                                    enum store_fop op, const char *col)
{
    if (f->op != op) {
        store_sqlc_member_tree(c, f, col);
        return;
    }
    store_sqlc_member_chain(c, f->left, op, col);
    store_sqlc_put(c, op == STORE_F_AND ? " AND " : " OR ");
    store_sqlc_member_chain(c, f->right, op, col);
}

static void store_sqlc_member_tree(struct store_sqlc *c, const struct store_filter *f,
                                   const char *col)
{
    switch (f->op) {
    case STORE_F_AND:
    case STORE_F_OR:
        store_sqlc_put(c, "(");
        store_sqlc_member_chain(c, f, f->op, col);
        store_sqlc_put(c, ")");
        return;
    case STORE_F_NOT:
        store_sqlc_put(c, "NOT ");
        store_sqlc_member_tree(c, f->left, col);
        return;
    default:
        store_sqlc_member_leaf(c, f, col);
    }
}

/*
 * Membership-backed attributes: Group members[.value] and User groups[.value]. The EXISTS runs
 * on the (group_id, member_id) primary key or the member_id index.
 */
static void store_sqlc_membership(struct store_sqlc *c, const struct store_filter *f)
{
    int al = ++c->alias;
    bool group_side = c->kind == STORE_GROUP; /* r is the group */
    char col[32];
    struct store_filter leaf;

    store_sqlc_putp(c, "EXISTS (SELECT 1 FROM members m", al, " WHERE ");
    store_sqlc_putp(c, "m", al, group_side ? ".group_id = r.id" : ".member_id = r.id");
    snprintf(col, sizeof(col), group_side ? "m%d.member_id" : "m%d.group_id", al);
    if (f->path.vfilter != NULL) {
        store_sqlc_put(c, " AND ");
        store_sqlc_member_tree(c, f->path.vfilter, col);
    }
    if (f->op != STORE_F_HAS && f->op != STORE_F_PR) {
        leaf = *f;
        memset(&leaf.path, 0, sizeof(leaf.path));
        leaf.path.attr = f->path.sub ? f->path.sub : "value";
        store_sqlc_put(c, " AND ");
        store_sqlc_member_leaf(c, &leaf, col);
    }
    store_sqlc_put(c, ")");
}

/* Columns that hold an attribute: faster than json_extract and indexed where it matters. */
static bool store_sqlc_column(struct store_sqlc *c, const struct store_path *p,
                              struct store_operand *o)
{
    static const struct {
        const char *attr, *sub, *col;
        enum store_kind kind;
        bool ci;      /* compared case-insensitively (COLLATE NOCASE) */
        bool boolean; /* "true"/"false" strings bind as 1/0 */
    } cols[] = {
        {"id", NULL, "r.id", STORE_USER, false, false},
        {"userName", NULL, "r.user_name", STORE_USER, true, false},
        {"externalId", NULL, "r.external_id", STORE_USER, false, false},
        {"displayName", NULL, "r.display_name", STORE_USER, true, false},
        {"active", NULL, "r.active", STORE_USER, false, true},
        {"id", NULL, "r.id", STORE_GROUP, false, false},
        {"displayName", NULL, "r.display_name", STORE_GROUP, true, false},
        {"externalId", NULL, "r.external_id", STORE_GROUP, false, false},
        {"meta", "created", "r.created", STORE_USER, false, false},
        {"meta", "lastModified", "r.modified", STORE_USER, false, false},
        {"meta", "created", "r.created", STORE_GROUP, false, false},
        {"meta", "lastModified", "r.modified", STORE_GROUP, false, false},
    };
    if (p->urn != NULL || p->vfilter != NULL)
        return false;
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        if (cols[i].kind != c->kind || strcmp(cols[i].attr, p->attr) != 0)
            continue;
        if ((cols[i].sub == NULL) != (p->sub == NULL) ||
            (p->sub != NULL && strcmp(cols[i].sub, p->sub) != 0))
            continue;
        snprintf(o->expr, sizeof(o->expr), "%s", cols[i].col);
        o->ci = cols[i].ci;
        o->boolean = cols[i].boolean;
        return true;
    }
    if (p->attr != NULL && strcmp(p->attr, "meta") == 0 && p->sub != NULL &&
        strcmp(p->sub, "resourceType") == 0) {
        int n = store_sqlc_text(c, c->kind == STORE_USER ? "User" : "Group");
        snprintf(o->expr, sizeof(o->expr), "?%d", n);
        o->ci = false;
        o->boolean = false;
        return true;
    }
    return false;
}

/* How an attribute compares, from what the schema says of it (STORE_ATTR_*; 0: unknown). */
static void store_sqlc_operand_attr(struct store_operand *o, unsigned flags)
{
    o->boolean = (flags & STORE_ATTR_KNOWN) && (flags & STORE_ATTR_BOOLEAN);
    o->ci = !(flags & STORE_ATTR_KNOWN) || !(flags & STORE_ATTR_CASE_EXACT);
}

/* A comparison, PR or HAS on a top-level path (r.body), or on an element (elem = "eN"). */
static void store_sqlc_leaf(struct store_sqlc *c, const struct store_filter *f, const char *elem)
{
    const struct store_path *p = &f->path;
    struct store_operand o;

    memset(&o, 0, sizeof(o));
    if (elem != NULL) { /* inside attr[...]: p->attr is a sub-attribute of the element */
        const char *path = store_sqlc_jpath(c, NULL, p->attr, NULL);
        int n = store_sqlc_text(c, path);
        snprintf(o.expr, sizeof(o.expr),
                 "(CASE %s.type WHEN 'object' THEN json_extract(%s.value, ?%d) ELSE %s.atom END)",
                 elem, elem, n, elem);
        store_sqlc_operand_attr(&o, p->attr_flags);
        store_sqlc_cmp(c, f, &o);
        return;
    }
    if (p->urn == NULL && ((c->kind == STORE_GROUP && strcmp(p->attr, "members") == 0) ||
                           (c->kind == STORE_USER && strcmp(p->attr, "groups") == 0))) {
        store_sqlc_membership(c, f);
        return;
    }
    if (store_sqlc_column(c, p, &o)) {
        store_sqlc_cmp(c, f, &o);
        return;
    }
    /* an unknown attribute with a value filter is taken to be multi-valued */
    bool multi = (p->attr_flags & STORE_ATTR_MULTI) || p->vfilter != NULL;
    if (!multi || (f->op == STORE_F_PR && p->vfilter == NULL && p->sub == NULL)) {
        int n = store_sqlc_text(c, store_sqlc_jpath(c, p->urn, p->attr, p->sub));
        snprintf(o.expr, sizeof(o.expr), "json_extract(r.body, ?%d)", n);
        store_sqlc_operand_attr(&o, p->sub ? p->sub_flags : p->attr_flags);
        store_sqlc_cmp(c, f, &o);
        return;
    }
    /* multi-valued: some element satisfies [vfilter] and the comparison on .sub (or .value) */
    int al = ++c->alias;
    char e[16];
    int n = store_sqlc_text(c, store_sqlc_jpath(c, p->urn, p->attr, NULL));
    snprintf(e, sizeof(e), "e%d", al);
    store_sqlc_putp(c, "EXISTS (SELECT 1 FROM json_each(r.body, ?", n, ") ");
    store_sqlc_putp(c, "AS e", al, " WHERE 1");
    if (p->vfilter != NULL) {
        store_sqlc_put(c, " AND ");
        store_sqlc_node(c, p->vfilter, e);
    }
    if (f->op != STORE_F_HAS) {
        struct store_filter leaf = *f;
        memset(&leaf.path, 0, sizeof(leaf.path));
        leaf.path.attr = p->sub ? p->sub : "value";
        leaf.path.attr_flags = p->elem_flags;
        store_sqlc_put(c, " AND ");
        store_sqlc_leaf(c, &leaf, e);
    }
    store_sqlc_put(c, ")");
}

/* The terms of a chain of one operator, without parentheses between them: "a OR b OR c", not
 * "((a OR b) OR c)", because SQLite's parser stack overflows at about 100 open parentheses and
 * a 4 KiB filter can chain hundreds of terms. */
static void store_sqlc_chain(struct store_sqlc *c, const struct store_filter *f, enum store_fop op,
                             const char *elem)
{
    if (f->op != op) {
        store_sqlc_node(c, f, elem);
        return;
    }
    store_sqlc_chain(c, f->left, op, elem);
    store_sqlc_put(c, op == STORE_F_AND ? " AND " : " OR ");
    store_sqlc_chain(c, f->right, op, elem);
}

static void store_sqlc_node(struct store_sqlc *c, const struct store_filter *f, const char *elem)
{
    switch (f->op) {
    case STORE_F_AND:
    case STORE_F_OR:
        store_sqlc_put(c, "(");
        store_sqlc_chain(c, f, f->op, elem);
        store_sqlc_put(c, ")");
        return;
    case STORE_F_NOT:
        store_sqlc_put(c, "NOT ");
        store_sqlc_node(c, f->left, elem);
        return;
    default:
        store_sqlc_leaf(c, f, elem);
    }
}

static void store_sqlc_init(struct store_sqlc *c, enum store_kind kind, struct gh_err *err)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->err = err;
    c->a = gh_arena_new();
    c->binds = gh_xcalloc(STORE_SQLITE_MAX_BINDS, sizeof(*c->binds));
    gh_buf_init(&c->sql, (size_t)256 * 1024);
}

static void store_sqlc_free(struct store_sqlc *c)
{
    gh_buf_free(&c->sql);
    free(c->binds);
    gh_arena_free(c->a);
}

static enum gh_status store_sqlc_where(struct store_sqlc *c, const struct store_filter *f)
{
    store_sqlc_put(c, " WHERE ");
    if (f == NULL)
        store_sqlc_put(c, "1");
    else
        store_sqlc_node(c, f, NULL);
    return c->st;
}

static void store_sqlc_apply(const struct store_sqlc *c, sqlite3_stmt *st)
{
    for (int i = 0; i < c->nbinds; i++) {
        const struct store_bind *b = &c->binds[i];
        switch (b->type) {
        case STORE_B_TEXT:
            sqlite3_bind_text(st, i + 1, b->text, -1, SQLITE_STATIC);
            break;
        case STORE_B_REAL:
            sqlite3_bind_double(st, i + 1, b->real);
            break;
        case STORE_B_INT:
            sqlite3_bind_int64(st, i + 1, b->i);
            break;
        case STORE_B_NULL:
            sqlite3_bind_null(st, i + 1);
            break;
        }
    }
}

/* The WHERE clause of a filter (tests and debug). Caller frees *out_sql. */
enum gh_status store_sqlite_filter_sql(enum store_kind kind, const struct store_filter *f,
                                       char **out_sql, int *out_params, struct gh_err *err)
{
    struct store_sqlc c;
    enum gh_status st;

    store_sqlc_init(&c, kind, err);
    st = store_sqlc_where(&c, f);
    *out_sql = st ? NULL : gh_xstrdup(gh_buf_str(&c.sql) + 7 /* " WHERE " */);
    *out_params = c.nbinds;
    store_sqlc_free(&c);
    return st;
}

/*
 * One page of a list: "SELECT ... WHERE <filter> ORDER BY <sort>, rowid LIMIT ? OFFSET ?" plus
 * the COUNT(*) of the same WHERE, both on one read connection inside one read transaction so
 * totalResults and the page agree. Caller clears *out.
 */
enum gh_status store_sqlite_list(struct store *base, enum store_kind kind,
                                 const struct store_query *q, struct store_rec_list *out,
                                 struct gh_err *err)
{
    struct store_sqlite *s = store_sqlite_of(base);
    struct store_sqlc c;
    struct store_sqlite_conn *conn = NULL;
    sqlite3_stmt *st = NULL;
    enum gh_status rc;
    size_t where_at;
    int limit_n, offset_n, step;
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    store_sqlc_init(&c, kind, err);
    store_sqlc_put(&c, "SELECT count(*) FROM ");
    store_sqlc_put(&c, store_sqlite_tables[kind]);
    store_sqlc_put(&c, " r");
    where_at = c.sql.len;
    rc = store_sqlc_where(&c, q->filter);
    if (rc)
        goto out;
    conn = store_sqlite_reader(s);
    rc = store_sqlite_exec(conn->db, "BEGIN", err);
    if (rc)
        goto out;
    rc = store_sqlite_prepare(conn->db, gh_buf_str(&c.sql), &st, err);
    if (rc)
        goto out;
    store_sqlc_apply(&c, st);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = store_sqlite_fail(conn->db, err, "count");
        goto out;
    }
    out->total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (q->count <= 0 || out->total < q->start_index)
        goto out; /* a count-only query, or past the end */

    {
        /* reuse the WHERE text: swap the head for the column list */
        char *where = gh_xstrdup(gh_buf_str(&c.sql) + where_at);
        gh_buf_reset(&c.sql);
        store_sqlc_put(&c, "SELECT r.id, r.version, r.created, r.modified, r.body FROM ");
        store_sqlc_put(&c, store_sqlite_tables[kind]);
        store_sqlc_put(&c, " r");
        store_sqlc_put(&c, where);
        free(where);
    }
    store_sqlc_put(&c, " ORDER BY ");
    if (q->sort_by != NULL) {
        struct store_operand o;
        memset(&o, 0, sizeof(o));
        if (!store_sqlc_column(&c, q->sort_by, &o)) {
            int n = store_sqlc_text(
                &c, store_sqlc_jpath(&c, q->sort_by->urn, q->sort_by->attr, q->sort_by->sub));
            snprintf(o.expr, sizeof(o.expr), "json_extract(r.body, ?%d)", n);
            store_sqlc_operand_attr(&o, q->sort_by->sub ? q->sort_by->sub_flags
                                                        : q->sort_by->attr_flags);
        }
        store_sqlc_put(&c, o.expr);
        store_sqlc_put(&c, o.ci ? " COLLATE NOCASE" : "");
        store_sqlc_put(&c, q->descending ? " DESC, " : " ASC, ");
    }
    store_sqlc_put(&c, "r.rowid");
    limit_n = store_sqlc_bind(&c, (struct store_bind){STORE_B_INT, NULL, 0, q->count});
    offset_n = store_sqlc_bind(&c, (struct store_bind){STORE_B_INT, NULL, 0, q->start_index - 1});
    store_sqlc_putp(&c, " LIMIT ?", limit_n, "");
    store_sqlc_putp(&c, " OFFSET ?", offset_n, "");
    if (c.st) {
        rc = c.st;
        goto out;
    }
    rc = store_sqlite_prepare(conn->db, gh_buf_str(&c.sql), &st, err);
    if (rc)
        goto out;
    store_sqlc_apply(&c, st);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 16;
            out->items = gh_xrealloc(out->items, cap * sizeof(*out->items));
        }
        store_sqlite_row_rec(st, &out->items[out->count++]);
    }
    if (step != SQLITE_DONE)
        rc = store_sqlite_fail(conn->db, err, "list");
out:
    sqlite3_finalize(st);
    if (conn != NULL) {
        store_sqlite_exec(conn->db, "COMMIT", NULL);
        store_sqlite_release(conn);
    }
    if (rc)
        store_rec_list_clear(out);
    store_sqlc_free(&c);
    return rc;
}
