/*
 * extension.c - custom SCIM extension schemas declared by the operator
 * (GATEHOUSE_SCIM_EXTENSIONS), so that /Schemas and /ResourceTypes describe the extension
 * attributes Entra provisions (ENTRA.md §1.14) and writes, filters and PATCH paths know their
 * types (RFC 7643 §3.3, §7).
 *
 * The declaration is a comma-separated list of attributes, each
 *     [User: | Group:] <schema URN> : <attribute> : <type> [: multiValued] [: caseExact]
 * e.g. urn:cube:params:1.0:UserAttribute:country:string. Attributes naming the same URN make up
 * one schema. Parsing is strict: every mistake is an error naming the entry. Invariants of a
 * parsed set: URNs are distinct case-insensitively, none is a core, enterprise or protocol URN,
 * none is another's prefix at a ':' (so an attribute path resolves to one schema), attribute
 * names are unique within their schema. The set is installed once at start-up and read-only
 * after that (scim_ext_install).
 */
#include "core/core.h"
#include "scim/resource.h"
#include "scim/scim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One declared schema: its table lives in the set's arena. */
struct scim_ext_schema {
    enum store_kind kind;
    struct scim_schema schema;
    struct scim_attr *attrs; /* GH_CAP_SCIM_EXT_ATTRS + 1 slots, NULL-name terminated */
    size_t count;
};

struct scim_ext_set {
    struct gh_arena *arena; /* every string and table below */
    struct scim_ext_schema schemas[GH_CAP_SCIM_EXT_SCHEMAS];
    size_t count;
    size_t attr_count; /* over all schemas */
};

/* The set in force (borrowed; see scim_ext_install). */
static const struct scim_ext_set *scim_ext_active;

static const struct {
    const char *word;
    enum scim_type type;
} scim_ext_types[] = {
    {"string", SCIM_T_STRING},   {"boolean", SCIM_T_BOOLEAN},   {"integer", SCIM_T_INTEGER},
    {"decimal", SCIM_T_DECIMAL}, {"dateTime", SCIM_T_DATETIME}, {"reference", SCIM_T_REFERENCE},
    {"binary", SCIM_T_BINARY},
};

#define SCIM_EXT_TYPE_WORDS "string, boolean, integer, decimal, dateTime, reference or binary"

static const char *const scim_ext_ref_external[] = {"external", NULL};

/* URNs that belong to SCIM itself: a declaration may not redefine them or live under them. */
static const char *const scim_ext_reserved[] = {
    "urn:ietf:params:scim:schemas:core:",
    "urn:ietf:params:scim:api:",
    SCIM_SCHEMA_ENTERPRISE,
};

static enum gh_status scim_ext_fail(struct gh_err *err, const char *entry, size_t len,
                                    const char *why)
{
    return GH_ERR(err, GH_E_INVALID, "\"%.*s\": %s", (int)(len > 120 ? 120 : len), entry, why);
}

/* urn:<NID>:<NSS> in the characters a SCIM attribute path can carry through a filter
 * (filter.c: letters, digits, '-', '_', '.', ':'), with no empty segment: Entra's URNs
 * (urn:ietf:params:scim:schemas:extension:<Name>:2.0:User) are of this form, and a URN a filter
 * cannot name would be listed in /Schemas yet unusable. */
static bool scim_ext_urn_ok(const char *s, size_t n)
{
    size_t segs = 1;

    if (n <= 4 || strncasecmp(s, SCIM_URN_PREFIX, 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (c == ':') {
            if (s[i - 1] == ':' || i + 1 == n)
                return false;
            segs++;
        } else if (!alnum && c != '-' && c != '_' && c != '.') {
            return false;
        }
    }
    return segs >= 2 && s[4] != ':'; /* urn:<NID>:<NSS> */
}

/* ATTRNAME (RFC 7643 §2.1): ALPHA *(ALPHA / DIGIT / "-" / "_"). */
static bool scim_ext_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > GH_CAP_SCIM_EXT_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (i == 0 ? !alpha : !(alpha || digit || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* True when a (length al) equals b, or is b's prefix at a ':' boundary, case-insensitively. */
static bool scim_ext_urn_overlaps(const char *a, size_t al, const char *b)
{
    size_t bl = strlen(b);
    size_t n = al < bl ? al : bl;
    if (strncasecmp(a, b, n) != 0)
        return false;
    if (al == bl)
        return true;
    return al < bl ? b[al] == ':' : a[bl] == ':';
}

/* The schema's human-readable name: the last URN segment that is neither a resource type's
 * name nor a version ("…:CustomExtensionName:2.0:User" → CustomExtensionName). */
static const char *scim_ext_schema_name(struct gh_arena *a, const char *urn)
{
    const char *end = urn + strlen(urn);
    while (end > urn) {
        const char *seg = end;
        while (seg > urn && seg[-1] != ':')
            seg--;
        size_t n = (size_t)(end - seg);
        bool rtype = (n == 4 && strncasecmp(seg, "User", 4) == 0) ||
                     (n == 5 && strncasecmp(seg, "Group", 5) == 0);
        bool version = n > 0 && seg[0] >= '0' && seg[0] <= '9';
        if (n > 0 && !rtype && !version && seg > urn)
            return gh_arena_strndup(a, seg, n);
        end = seg > urn ? seg - 1 : urn;
    }
    return urn;
}

/* Find or add the schema for urn (len ul) of kind; checks URN clashes. */
static enum gh_status scim_ext_schema_get(struct scim_ext_set *set, enum store_kind kind,
                                          const char *urn, size_t ul, const char *entry,
                                          size_t elen, struct scim_ext_schema **out,
                                          struct gh_err *err)
{
    struct scim_ext_schema *s;

    for (size_t i = 0; i < set->count; i++) {
        s = &set->schemas[i];
        if (strlen(s->schema.urn) == ul && strncasecmp(s->schema.urn, urn, ul) == 0) {
            if (s->kind != kind)
                return scim_ext_fail(err, entry, elen,
                                     "this schema URN is declared for both User and Group");
            *out = s;
            return GH_OK;
        }
        if (scim_ext_urn_overlaps(urn, ul, s->schema.urn))
            return scim_ext_fail(err, entry, elen,
                                 "one schema URN may not be another's prefix (attribute paths "
                                 "would be ambiguous)");
    }
    for (size_t i = 0; i < sizeof(scim_ext_reserved) / sizeof(scim_ext_reserved[0]); i++) {
        const char *r = scim_ext_reserved[i];
        size_t rl = strlen(r);
        bool under = r[rl - 1] == ':' ? ul >= rl && strncasecmp(urn, r, rl) == 0
                                      : scim_ext_urn_overlaps(urn, ul, r);
        if (under)
            return scim_ext_fail(err, entry, elen,
                                 "a SCIM core, enterprise or protocol URN cannot be redeclared");
    }
    if (set->count >= GH_CAP_SCIM_EXT_SCHEMAS) {
        char why[64];
        snprintf(why, sizeof(why), "more than %d schemas", GH_CAP_SCIM_EXT_SCHEMAS);
        return scim_ext_fail(err, entry, elen, why);
    }
    s = &set->schemas[set->count++];
    s->kind = kind;
    s->schema.urn = gh_arena_strndup(set->arena, urn, ul);
    s->schema.name = scim_ext_schema_name(set->arena, s->schema.urn);
    s->schema.description = kind == SCIM_USER
                                ? "Custom User extension (GATEHOUSE_SCIM_EXTENSIONS)"
                                : "Custom Group extension (GATEHOUSE_SCIM_EXTENSIONS)";
    s->attrs = gh_arena_alloc(set->arena, (GH_CAP_SCIM_EXT_ATTRS + 1) * sizeof(*s->attrs));
    s->schema.attrs = s->attrs;
    *out = s;
    return GH_OK;
}

/* One entry (not NUL-terminated, already trimmed). */
static enum gh_status scim_ext_entry(struct scim_ext_set *set, const char *e, size_t n,
                                     struct gh_err *err)
{
    const char *seg[8];
    size_t segl[8], nseg = 0;
    enum store_kind kind = SCIM_USER;
    const char *p = e, *end = e + n;
    unsigned flags = 0;
    size_t ti, k;
    struct scim_ext_schema *s = NULL;
    struct scim_attr *a;
    enum gh_status st;

    if (n > 6 && strncmp(e, "Group:", 6) == 0) {
        kind = SCIM_GROUP;
        p += 6;
    } else if (n > 5 && strncmp(e, "User:", 5) == 0) {
        p += 5;
    }
    if (!scim_ext_urn_ok(p, (size_t)(end - p)))
        return scim_ext_fail(err, e, n,
                             "expected [User:|Group:]<schema URN>:<attribute>:<type>"
                             "[:multiValued][:caseExact], the URN urn:<NID>:<NSS>");
    /* the last segments, right to left: flags, the type, the attribute; the rest is the URN */
    for (const char *q = end; q > p && nseg < 4;) {
        const char *c = q;
        while (c > p && c[-1] != ':')
            c--;
        seg[nseg] = c;
        segl[nseg++] = (size_t)(q - c);
        q = c > p ? c - 1 : p;
    }
    for (ti = 0; ti < nseg; ti++) {
        bool multi = segl[ti] == 11 && strncmp(seg[ti], "multiValued", 11) == 0;
        bool exact = segl[ti] == 9 && strncmp(seg[ti], "caseExact", 9) == 0;
        unsigned f = multi ? SCIM_A_MULTI : exact ? SCIM_A_CASE_EXACT : 0;
        if (f == 0)
            break;
        if (flags & f)
            return scim_ext_fail(err, e, n, "a flag is given twice");
        flags |= f;
    }
    if (ti + 1 >= nseg)
        return scim_ext_fail(err, e, n, "expected <schema URN>:<attribute>:<type>");
    for (k = 0; k < sizeof(scim_ext_types) / sizeof(scim_ext_types[0]); k++)
        if (strlen(scim_ext_types[k].word) == segl[ti] &&
            strncmp(scim_ext_types[k].word, seg[ti], segl[ti]) == 0)
            break;
    if (k == sizeof(scim_ext_types) / sizeof(scim_ext_types[0])) {
        char why[240];
        snprintf(why, sizeof(why),
                 "unknown type \"%.*s\": expected <schema URN>:<attribute>:<type> with type "
                 "" SCIM_EXT_TYPE_WORDS ", then multiValued and/or caseExact",
                 (int)(segl[ti] > 32 ? 32 : segl[ti]), seg[ti]);
        return scim_ext_fail(err, e, n, why);
    }
    if ((flags & SCIM_A_CASE_EXACT) && scim_ext_types[k].type != SCIM_T_STRING &&
        scim_ext_types[k].type != SCIM_T_REFERENCE && scim_ext_types[k].type != SCIM_T_BINARY)
        return scim_ext_fail(err, e, n, "caseExact applies to string, reference and binary only");
    if (seg[ti + 1] == p)
        return scim_ext_fail(err, e, n, "expected <schema URN>:<attribute>:<type>");
    if (!scim_ext_name_ok(seg[ti + 1], segl[ti + 1]))
        return scim_ext_fail(err, e, n,
                             "the attribute name must be a letter then letters, digits, '-' or "
                             "'_' (at most 64)");
    size_t ul = (size_t)(seg[ti + 1] - 1 - p);
    if (ul > GH_CAP_SCIM_EXT_URN)
        return scim_ext_fail(err, e, n, "schema URN longer than 200 characters");
    if (!scim_ext_urn_ok(p, ul))
        return scim_ext_fail(err, e, n, "the schema URN must be urn:<NID>:<NSS>");
    st = scim_ext_schema_get(set, kind, p, ul, e, n, &s, err);
    if (st)
        return st;
    if (GH_NEVER(s == NULL)) /* set on success */
        return GH_ERR(err, GH_E_INTERNAL, "extension schema missing");
    char *name = gh_arena_strndup(set->arena, seg[ti + 1], segl[ti + 1]);
    if (scim_attr_find(s->attrs, name) != NULL)
        return scim_ext_fail(err, e, n, "attribute declared twice in this schema");
    if (set->attr_count >= GH_CAP_SCIM_EXT_ATTRS) {
        char why[64];
        snprintf(why, sizeof(why), "more than %d attributes", GH_CAP_SCIM_EXT_ATTRS);
        return scim_ext_fail(err, e, n, why);
    }
    a = &s->attrs[s->count++];
    set->attr_count++;
    a->name = name;
    a->type = scim_ext_types[k].type;
    a->flags = flags;
    a->description = "Custom attribute (GATEHOUSE_SCIM_EXTENSIONS)";
    a->ref_types = a->type == SCIM_T_REFERENCE ? scim_ext_ref_external : NULL;
    return GH_OK;
}

/*
 * Parse a declaration (see the file's head; NULL or blank: an empty set). On success *out is a
 * new set the caller frees with scim_ext_set_free; on failure *out is NULL and err names the
 * entry and the mistake. Thread-safe (touches nothing shared).
 */
enum gh_status scim_ext_set_parse(const char *text, struct scim_ext_set **out, struct gh_err *err)
{
    struct scim_ext_set *set = gh_xcalloc(1, sizeof(*set));
    const char *p = text ? text : "";
    enum gh_status st = GH_OK;

    *out = NULL;
    set->arena = gh_arena_new();
    while (*p != '\0') {
        const char *q = strchr(p, ',');
        const char *e = q ? q : p + strlen(p);
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
            e--;
        if (e > s) {
            st = scim_ext_entry(set, s, (size_t)(e - s), err);
            if (st)
                break;
        }
        if (q == NULL)
            break;
        p = q + 1;
    }
    if (st) {
        scim_ext_set_free(set);
        return st;
    }
    *out = set;
    return GH_OK;
}

/* Free a set from scim_ext_set_parse; NULL is a no-op. It must not be installed. */
void scim_ext_set_free(struct scim_ext_set *set)
{
    if (set == NULL)
        return;
    GH_ASSERT(set != scim_ext_active);
    gh_arena_free(set->arena);
    free(set);
}

/* Schemas and attributes in a set (for logs and tests). */
size_t scim_ext_set_schemas(const struct scim_ext_set *set)
{
    return set ? set->count : 0;
}

size_t scim_ext_set_attrs(const struct scim_ext_set *set)
{
    return set ? set->attr_count : 0;
}

/*
 * Put set (borrowed; NULL or empty: none) in force for every SCIM request: /Schemas,
 * /ResourceTypes, writes, filters and PATCH paths. Call at start-up before the server's threads
 * start (and, in tests, between requests); the set must outlive its installation. Not
 * thread-safe by design: the installed set is immutable while requests run.
 */
void scim_ext_install(const struct scim_ext_set *set)
{
    scim_ext_active = set;
}

/* The declared extension schemas of kind in force, in declaration order, into out (at most
 * cap); returns how many. Borrowed from the installed set. */
size_t scim_ext_schemas(enum store_kind kind, const struct scim_schema **out, size_t cap)
{
    const struct scim_ext_set *set = scim_ext_active;
    size_t n = 0;

    for (size_t i = 0; set != NULL && i < set->count && n < cap; i++)
        if (set->schemas[i].kind == kind)
            out[n++] = &set->schemas[i].schema;
    return n;
}
