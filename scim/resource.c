/*
 * resource.c - the SCIM resource model: the User, enterprise User and Group schema tables
 * (RFC 7643 §4.1, §4.2, §4.3, §8.7), attribute-path resolution (RFC 7644 §3.10), request-body
 * normalisation for storage, response projection (RFC 7644 §3.4.2.5) and ETags (§3.14).
 *
 * Invariant: a stored body has canonical attribute-name case, no nulls, no id/meta, booleans as
 * JSON booleans, every extension object under its URN key and listed in `schemas`; every other
 * value is byte-for-byte what the client sent (Entra requires values returned exactly as sent).
 */
#include "scim/resource.h"
#include "core/core.h"
#include "scim/filter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- schema tables ---- */

#define SCIM_A_COMMON 0x100u /* common attribute (id, externalId, meta): not listed in /Schemas */

static const char *const scim_email_types[] = {"work", "home", "other", NULL};
static const char *const scim_phone_types[] = {"work",  "home",  "mobile", "fax",
                                               "pager", "other", NULL};
static const char *const scim_addr_types[] = {"work", "home", "other", NULL};
static const char *const scim_member_types[] = {"User", "Group", NULL};
static const char *const scim_ref_user_group[] = {"User", "Group", NULL};
static const char *const scim_ref_user[] = {"User", NULL};
static const char *const scim_ref_external[] = {"external", NULL};

static const struct scim_attr scim_meta_sub[] = {
    {"resourceType", SCIM_T_STRING, SCIM_A_READONLY | SCIM_A_CASE_EXACT, NULL,
     "The resource type's name", NULL, NULL},
    {"created", SCIM_T_DATETIME, SCIM_A_READONLY, NULL, "When the resource was created", NULL,
     NULL},
    {"lastModified", SCIM_T_DATETIME, SCIM_A_READONLY, NULL, "When the resource last changed", NULL,
     NULL},
    {"location", SCIM_T_REFERENCE, SCIM_A_READONLY | SCIM_A_CASE_EXACT, NULL, "URI of the resource",
     NULL, NULL},
    {"version", SCIM_T_STRING, SCIM_A_READONLY | SCIM_A_CASE_EXACT, NULL, "ETag of the resource",
     NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

#define SCIM_COMMON_ATTRS                                                                          \
    {"id",                                                                                         \
     SCIM_T_STRING,                                                                                \
     SCIM_A_COMMON | SCIM_A_READONLY | SCIM_A_CASE_EXACT | SCIM_A_ALWAYS,                          \
     NULL,                                                                                         \
     "Identifier assigned by the service provider",                                                \
     NULL,                                                                                         \
     NULL},                                                                                        \
        {"externalId",                                                                             \
         SCIM_T_STRING,                                                                            \
         SCIM_A_COMMON | SCIM_A_CASE_EXACT,                                                        \
         NULL,                                                                                     \
         "Identifier assigned by the provisioning client",                                         \
         NULL,                                                                                     \
         NULL},                                                                                    \
    {                                                                                              \
        "meta", SCIM_T_COMPLEX, SCIM_A_COMMON | SCIM_A_READONLY, scim_meta_sub,                    \
            "Resource metadata", NULL, NULL                                                        \
    }

static const struct scim_attr scim_name_sub[] = {
    {"formatted", SCIM_T_STRING, 0, NULL, "The full name, formatted for display", NULL, NULL},
    {"familyName", SCIM_T_STRING, 0, NULL, "Family name", NULL, NULL},
    {"givenName", SCIM_T_STRING, 0, NULL, "Given name", NULL, NULL},
    {"middleName", SCIM_T_STRING, 0, NULL, "Middle name(s)", NULL, NULL},
    {"honorificPrefix", SCIM_T_STRING, 0, NULL, "Honorific prefix", NULL, NULL},
    {"honorificSuffix", SCIM_T_STRING, 0, NULL, "Honorific suffix", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

/* value/display/type/primary, the shape of most multi-valued attributes */
#define SCIM_MV_SUB(ident, vtype, types, desc)                                                     \
    static const struct scim_attr ident[] = {                                                      \
        {"value", vtype, 0, NULL, desc, NULL, NULL},                                               \
        {"display", SCIM_T_STRING, 0, NULL, "A human-readable name", NULL, NULL},                  \
        {"type", SCIM_T_STRING, 0, NULL, "A label for the value's function", types, NULL},         \
        {"primary", SCIM_T_BOOLEAN, 0, NULL, "The preferred value", NULL, NULL},                   \
        {NULL, 0, 0, NULL, NULL, NULL, NULL},                                                      \
    }
SCIM_MV_SUB(scim_emails_sub, SCIM_T_STRING, scim_email_types, "Email address");
SCIM_MV_SUB(scim_phones_sub, SCIM_T_STRING, scim_phone_types, "Phone number");
SCIM_MV_SUB(scim_ims_sub, SCIM_T_STRING, NULL, "Instant messaging address");
SCIM_MV_SUB(scim_photos_sub, SCIM_T_REFERENCE, NULL, "URL of a photo");
SCIM_MV_SUB(scim_ents_sub, SCIM_T_STRING, NULL, "Entitlement");
SCIM_MV_SUB(scim_roles_sub, SCIM_T_STRING, NULL, "Role");
SCIM_MV_SUB(scim_certs_sub, SCIM_T_BINARY, NULL, "DER certificate, base64");

static const struct scim_attr scim_addr_sub[] = {
    {"formatted", SCIM_T_STRING, 0, NULL, "The full mailing address", NULL, NULL},
    {"streetAddress", SCIM_T_STRING, 0, NULL, "Street address", NULL, NULL},
    {"locality", SCIM_T_STRING, 0, NULL, "City or locality", NULL, NULL},
    {"region", SCIM_T_STRING, 0, NULL, "State or region", NULL, NULL},
    {"postalCode", SCIM_T_STRING, 0, NULL, "Postal code", NULL, NULL},
    {"country", SCIM_T_STRING, 0, NULL, "Country (ISO 3166-1 alpha-2)", NULL, NULL},
    {"type", SCIM_T_STRING, 0, NULL, "work, home or other", scim_addr_types, NULL},
    {"primary", SCIM_T_BOOLEAN, 0, NULL, "The preferred address", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const struct scim_attr scim_user_groups_sub[] = {
    {"value", SCIM_T_STRING, SCIM_A_READONLY, NULL, "Group id", NULL, NULL},
    {"$ref", SCIM_T_REFERENCE, SCIM_A_READONLY, NULL, "Group URI", NULL, scim_ref_user_group},
    {"display", SCIM_T_STRING, SCIM_A_READONLY, NULL, "Group displayName", NULL, NULL},
    {"type", SCIM_T_STRING, SCIM_A_READONLY, NULL, "direct or indirect", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const struct scim_attr scim_user_attrs[] = {
    SCIM_COMMON_ATTRS,
    {"userName", SCIM_T_STRING, SCIM_A_REQUIRED | SCIM_A_UNIQUE, NULL,
     "Unique identifier for the user, typically the userPrincipalName", NULL, NULL},
    {"name", SCIM_T_COMPLEX, 0, scim_name_sub, "The components of the user's name", NULL, NULL},
    {"displayName", SCIM_T_STRING, 0, NULL, "The name displayed to end-users", NULL, NULL},
    {"nickName", SCIM_T_STRING, 0, NULL, "Casual name", NULL, NULL},
    {"profileUrl", SCIM_T_REFERENCE, 0, NULL, "URL of the user's profile", NULL, scim_ref_external},
    {"title", SCIM_T_STRING, 0, NULL, "Job title", NULL, NULL},
    {"userType", SCIM_T_STRING, 0, NULL, "Organisation-to-user relationship", NULL, NULL},
    {"preferredLanguage", SCIM_T_STRING, 0, NULL, "Preferred language (RFC 7231 tag)", NULL, NULL},
    {"locale", SCIM_T_STRING, 0, NULL, "Locale for localisation", NULL, NULL},
    {"timezone", SCIM_T_STRING, 0, NULL, "Time zone (IANA name)", NULL, NULL},
    {"active", SCIM_T_BOOLEAN, 0, NULL, "Administrative status (false: soft-deleted)", NULL, NULL},
    {"password", SCIM_T_STRING, SCIM_A_NEVER, NULL,
     "Never stored by gatehouse: accepted and dropped", NULL, NULL},
    {"emails", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_emails_sub, "Email addresses", NULL, NULL},
    {"phoneNumbers", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_phones_sub, "Phone numbers", NULL, NULL},
    {"ims", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_ims_sub, "Instant messaging addresses", NULL, NULL},
    {"photos", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_photos_sub, "Photo URLs", NULL, NULL},
    {"addresses", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_addr_sub, "Physical mailing addresses", NULL,
     NULL},
    {"groups", SCIM_T_COMPLEX, SCIM_A_MULTI | SCIM_A_READONLY, scim_user_groups_sub,
     "Groups the user belongs to (managed through Group members)", NULL, NULL},
    {"entitlements", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_ents_sub, "Entitlements", NULL, NULL},
    {"roles", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_roles_sub, "Roles", NULL, NULL},
    {"x509Certificates", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_certs_sub, "X.509 certificates", NULL,
     NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const struct scim_attr scim_manager_sub[] = {
    {"value", SCIM_T_STRING, 0, NULL, "The manager's id", NULL, NULL},
    {"$ref", SCIM_T_REFERENCE, 0, NULL, "The manager's URI", NULL, scim_ref_user},
    {"displayName", SCIM_T_STRING, SCIM_A_READONLY, NULL, "The manager's displayName", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const struct scim_attr scim_enterprise_attrs[] = {
    {"employeeNumber", SCIM_T_STRING, 0, NULL, "Employee number", NULL, NULL},
    {"costCenter", SCIM_T_STRING, 0, NULL, "Cost center", NULL, NULL},
    {"organization", SCIM_T_STRING, 0, NULL, "Organization", NULL, NULL},
    {"division", SCIM_T_STRING, 0, NULL, "Division", NULL, NULL},
    {"department", SCIM_T_STRING, 0, NULL, "Department", NULL, NULL},
    {"manager", SCIM_T_COMPLEX, 0, scim_manager_sub, "The user's manager", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const struct scim_attr scim_members_sub[] = {
    {"value", SCIM_T_STRING, SCIM_A_IMMUTABLE | SCIM_A_CASE_EXACT, NULL, "Member id", NULL, NULL},
    {"$ref", SCIM_T_REFERENCE, SCIM_A_IMMUTABLE, NULL, "Member URI", NULL, scim_ref_user_group},
    {"type", SCIM_T_STRING, SCIM_A_IMMUTABLE, NULL, "User or Group", scim_member_types, NULL},
    {"display", SCIM_T_STRING, SCIM_A_READONLY, NULL, "Member's display name", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const struct scim_attr scim_group_attrs[] = {
    SCIM_COMMON_ATTRS,
    {"displayName", SCIM_T_STRING, SCIM_A_REQUIRED | SCIM_A_UNIQUE, NULL,
     "Human-readable, unique name of the group", NULL, NULL},
    {"members", SCIM_T_COMPLEX, SCIM_A_MULTI, scim_members_sub, "Members of the group", NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

const struct scim_schema scim_schema_user = {SCIM_SCHEMA_USER, "User", "User Account",
                                             scim_user_attrs};
const struct scim_schema scim_schema_enterprise = {SCIM_SCHEMA_ENTERPRISE, "EnterpriseUser",
                                                   "Enterprise User", scim_enterprise_attrs};
const struct scim_schema scim_schema_group = {SCIM_SCHEMA_GROUP, "Group", "Group",
                                              scim_group_attrs};

static const struct scim_rtype scim_rtypes[] = {
    {SCIM_USER, "User", "/Users", "User Account", &scim_schema_user, &scim_schema_enterprise},
    {SCIM_GROUP, "Group", "/Groups", "Group", &scim_schema_group, NULL},
};

/* The resource type descriptor of kind (static). */
const struct scim_rtype *scim_rtype_get(enum store_kind kind)
{
    GH_ASSERT(kind == SCIM_USER || kind == SCIM_GROUP);
    return &scim_rtypes[kind];
}

/* See resource.h. */
size_t scim_rtype_exts(enum store_kind kind, const struct scim_schema **out, size_t cap)
{
    const struct scim_rtype *rt = scim_rtype_get(kind);
    size_t n = 0;

    if (rt->ext != NULL && cap > 0)
        out[n++] = rt->ext;
    return n + scim_ext_schemas(kind, out + n, cap - n);
}

/* True when the attribute should be listed in /Schemas (common attributes are not). */
bool scim_attr_is_listed(const struct scim_attr *a)
{
    return (a->flags & SCIM_A_COMMON) == 0;
}

/* Attribute lookup, case-insensitive as RFC 7643 §2.1 requires of attribute names. */
const struct scim_attr *scim_attr_find(const struct scim_attr *table, const char *name)
{
    if (table == NULL || name == NULL)
        return NULL;
    for (const struct scim_attr *a = table; a->name != NULL; a++)
        if (strcasecmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* ---- /Schemas (RFC 7643 §7) ---- */

static cJSON *scim_strs(const char *const *v)
{
    cJSON *a = cJSON_CreateArray();
    for (; v != NULL && *v != NULL; v++)
        cJSON_AddItemToArray(a, cJSON_CreateString(*v));
    return a;
}

static const char *scim_type_name(enum scim_type t)
{
    static const char *const names[] = {"string",   "boolean",   "decimal", "integer",
                                        "dateTime", "reference", "complex", "binary"};
    return names[t];
}

static cJSON *scim_attr_json(const struct scim_attr *a)
{
    cJSON *o = cJSON_CreateObject();
    unsigned f = a->flags;
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "type", scim_type_name(a->type));
    cJSON_AddBoolToObject(o, "multiValued", (f & SCIM_A_MULTI) != 0);
    cJSON_AddStringToObject(o, "description", a->description ? a->description : "");
    cJSON_AddBoolToObject(o, "required", (f & SCIM_A_REQUIRED) != 0);
    if (a->type == SCIM_T_STRING || a->type == SCIM_T_REFERENCE || a->type == SCIM_T_BINARY)
        cJSON_AddBoolToObject(o, "caseExact", (f & SCIM_A_CASE_EXACT) != 0);
    if (a->canonical != NULL)
        cJSON_AddItemToObject(o, "canonicalValues", scim_strs(a->canonical));
    if (a->ref_types != NULL)
        cJSON_AddItemToObject(o, "referenceTypes", scim_strs(a->ref_types));
    cJSON_AddStringToObject(o, "mutability",
                            (f & SCIM_A_READONLY)    ? "readOnly"
                            : (f & SCIM_A_IMMUTABLE) ? "immutable"
                            : (f & SCIM_A_NEVER)     ? "writeOnly"
                                                     : "readWrite");
    cJSON_AddStringToObject(o, "returned",
                            (f & SCIM_A_NEVER)    ? "never"
                            : (f & SCIM_A_ALWAYS) ? "always"
                                                  : "default");
    cJSON_AddStringToObject(o, "uniqueness", (f & SCIM_A_UNIQUE) ? "server" : "none");
    if (a->sub != NULL) {
        cJSON *subs = cJSON_AddArrayToObject(o, "subAttributes");
        for (const struct scim_attr *s = a->sub; s->name != NULL; s++)
            cJSON_AddItemToArray(subs, scim_attr_json(s));
    }
    return o;
}

/* The RFC 7643 §7 Schema resource of s, without meta (see resource.h). Caller deletes. */
cJSON *scim_schema_to_json(const struct scim_schema *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *attrs;
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "schemas"),
                         cJSON_CreateString(SCIM_SCHEMA_SCHEMA));
    cJSON_AddStringToObject(o, "id", s->urn);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "description", s->description);
    attrs = cJSON_AddArrayToObject(o, "attributes");
    for (const struct scim_attr *a = s->attrs; a->name != NULL; a++)
        if (scim_attr_is_listed(a))
            cJSON_AddItemToArray(attrs, scim_attr_json(a));
    return o;
}

/* ---- attribute paths ---- */

/* What the schema says of attribute a, in the store's terms (0 when a is unknown). */
static unsigned scim_attr_store_flags(const struct scim_attr *a)
{
    unsigned f;

    if (a == NULL)
        return 0;
    f = STORE_ATTR_KNOWN;
    if (a->flags & SCIM_A_MULTI)
        f |= STORE_ATTR_MULTI;
    if (a->flags & SCIM_A_CASE_EXACT)
        f |= STORE_ATTR_CASE_EXACT;
    if (a->type == SCIM_T_BOOLEAN)
        f |= STORE_ATTR_BOOLEAN;
    return f;
}

/*
 * Copy a resolved path into the store's form (see resource.h). elem_flags describe the
 * sub-attribute an element of a multi-valued attribute is compared on: sub, else the implicit
 * "value" (RFC 7644 §3.4.2.2).
 */
void scim_path_to_store(const struct scim_path *in, struct store_path *out)
{
    memset(out, 0, sizeof(*out));
    out->urn = in->urn;
    out->attr = in->attr;
    out->sub = in->sub;
    out->vfilter = in->vfilter;
    out->attr_flags = scim_attr_store_flags(in->a);
    out->sub_flags = scim_attr_store_flags(in->s);
    out->elem_flags = scim_attr_store_flags(
        in->a ? scim_attr_find(in->a->sub, in->sub ? in->sub : "value") : NULL);
}

/* ATTRNAME = ALPHA *(nameChar); "$ref" is the one sub-attribute allowed to start with '$'. */
static bool scim_name_ok(const char *s, size_t n, bool is_sub)
{
    if (n == 0)
        return false;
    if (is_sub && n == 4 && memcmp(s, "$ref", 4) == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (i == 0 ? !alpha : !(alpha || digit || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool scim_prefix_ci(const char *s, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && strncasecmp(s, prefix, pl) == 0;
}

/*
 * Resolve an attribute path. The URN, when present, is matched case-insensitively against the
 * kind's core and extension schemas; an unknown URN is a custom extension: "<urn>:<attr>", or
 * the URN alone when its last segment is the resource type's name (":User"), which is how Entra
 * names custom extension schemas (urn:ietf:params:scim:schemas:extension:<Name>:2.0:User).
 */
enum gh_status scim_path_resolve(struct gh_arena *a, enum store_kind kind, const char *text,
                                 size_t len, struct scim_path *out, struct gh_err *err)
{
    const struct scim_rtype *rt = scim_rtype_get(kind);
    const struct scim_schema *schema = rt->core;
    const char *rest = text;
    size_t rest_len = len;
    const char *dot;

    memset(out, 0, sizeof(*out));
    if (scim_prefix_ci(text, len, SCIM_URN_PREFIX)) {
        const struct scim_schema *cands[1 + SCIM_EXTS_MAX] = {rt->core};
        size_t ncand = 1 + scim_rtype_exts(kind, cands + 1, SCIM_EXTS_MAX);
        const struct scim_schema *hit = NULL;
        /* declared URNs are never each other's prefix (extension.c), so one schema matches */
        for (size_t i = 0; i < ncand && hit == NULL; i++) {
            size_t ul = strlen(cands[i]->urn);
            if (len == ul && strncasecmp(text, cands[i]->urn, ul) == 0) {
                out->urn = cands[i] == rt->core ? NULL : cands[i]->urn;
                return GH_OK; /* the schema itself, no attribute */
            }
            if (len > ul + 1 && strncasecmp(text, cands[i]->urn, ul) == 0 && text[ul] == ':') {
                hit = cands[i];
                rest = text + ul + 1;
                rest_len = len - ul - 1;
            }
        }
        if (hit != NULL) {
            schema = hit;
            out->urn = hit == rt->core ? NULL : hit->urn;
        } else {
            const char *colon = NULL;
            for (size_t i = len; i > 0; i--)
                if (text[i - 1] == ':') {
                    colon = text + i - 1;
                    break;
                }
            if (colon == NULL)
                goto bad;
            size_t tail = (size_t)(text + len - colon - 1);
            if (tail == 0)
                goto bad;
            if (tail == strlen(rt->name) && strncasecmp(colon + 1, rt->name, tail) == 0) {
                out->urn = gh_arena_strndup(a, text, len);
                return GH_OK;
            }
            out->urn = gh_arena_strndup(a, text, (size_t)(colon - text));
            schema = NULL;
            rest = colon + 1;
            rest_len = tail;
        }
    }
    dot = memchr(rest, '.', rest_len);
    size_t alen = dot ? (size_t)(dot - rest) : rest_len;
    if (!scim_name_ok(rest, alen, false))
        goto bad;
    if (dot != NULL && !scim_name_ok(dot + 1, rest_len - alen - 1, true))
        goto bad;
    {
        char *aname = gh_arena_strndup(a, rest, alen);
        out->a = schema ? scim_attr_find(schema->attrs, aname) : NULL;
        if (out->a == NULL && schema == rt->core && rt->ext != NULL) {
            /* an unqualified extension attribute: Entra's older "manager" path and reference
             * filter (ENTRA.md §1.15, §1.23) */
            out->a = scim_attr_find(rt->ext->attrs, aname);
            if (out->a != NULL)
                out->urn = rt->ext->urn;
        }
        out->attr = out->a ? out->a->name : aname;
    }
    if (dot != NULL) {
        char *sname = gh_arena_strndup(a, dot + 1, rest_len - alen - 1);
        out->s = out->a ? scim_attr_find(out->a->sub, sname) : NULL;
        out->sub = out->s ? out->s->name : sname;
    }
    return GH_OK;
bad:
    GH_ERR(err, GH_E_INVALID, "invalid attribute path \"%.*s\"", (int)(len > 80 ? 80 : len), text);
    gh_err_set_scim_type(err, SCIM_ST_INVALID_PATH);
    return GH_E_INVALID;
}

/* ---- JSON helpers ---- */

/* The container object of p's attribute (obj, or obj[urn] for extensions); NULL when absent. */
cJSON *scim_json_container(cJSON *obj, const struct scim_path *p, bool create)
{
    cJSON *c;

    if (p->urn == NULL)
        return obj;
    c = cJSON_GetObjectItem(obj, p->urn); /* case-insensitive, as URNs are */
    if (c != NULL && !cJSON_IsObject(c)) {
        if (!create)
            return NULL;
        cJSON_DeleteItemFromObject(obj, p->urn);
        c = NULL;
    }
    if (c == NULL && create) {
        c = cJSON_CreateObject();
        cJSON_AddItemToObject(obj, p->urn, c);
    }
    return c;
}

/* obj's member for p's top-level attribute (borrowed), NULL when absent. */
cJSON *scim_json_attr(const cJSON *obj, const struct scim_path *p)
{
    cJSON *c = scim_json_container((cJSON *)obj, p, false);
    return c && p->attr ? cJSON_GetObjectItem(c, p->attr) : NULL;
}

/* Booleans, and the strings "True"/"False" Entra's default dialect sends (ENTRA.md §1.6). */
bool scim_json_bool(const cJSON *v, bool *out)
{
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return true;
    }
    if (cJSON_IsString(v) && strcasecmp(v->valuestring, "true") == 0) {
        *out = true;
        return true;
    }
    if (cJSON_IsString(v) && strcasecmp(v->valuestring, "false") == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* A deep copy; cJSON returns NULL only on OOM, which the tree treats as fatal. */
cJSON *scim_json_dup(const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, true);
    if (c == NULL)
        gh_assert_fail("cJSON_Duplicate (out of memory)", __FILE__, __LINE__);
    return c;
}

/* obj[name] = item (owned), replacing any member with that name in any case. */
void scim_json_set(cJSON *obj, const char *name, cJSON *item)
{
    cJSON_DeleteItemFromObject(obj, name);
    cJSON_AddItemToObject(obj, name, item);
}

/* ---- normalisation ---- */

static enum gh_status scim_norm_fail(struct gh_err *err, const char *what, const char *name)
{
    GH_ERR(err, GH_E_INVALID, "attribute \"%s\": %s", name, what);
    gh_err_set_scim_type(err, SCIM_ST_INVALID_VALUE);
    return GH_E_INVALID;
}

/* The same for an attribute of an extension schema (urn NULL: core), named as a PATCH path
 * would name it: "urn:...:UserAttribute:country". */
static enum gh_status scim_norm_fail_in(struct gh_err *err, const char *what, const char *urn,
                                        const char *name)
{
    if (urn == NULL)
        return scim_norm_fail(err, what, name);
    GH_ERR(err, GH_E_INVALID, "attribute \"%.200s:%s\": %s", urn, name, what);
    gh_err_set_scim_type(err, SCIM_ST_INVALID_VALUE);
    return GH_E_INVALID;
}

/* An xsd:dateTime (RFC 7643 §2.3.5): 2015-10-10T14:38:21.8617979-07:00 and the like. */
static bool scim_norm_datetime_ok(const char *s)
{
    struct gh_arena *a = gh_arena_new();
    bool ok = scim_filter_datetime_parse(a, s, NULL);
    gh_arena_free(a);
    return ok;
}

/* Rename item's key to canonical (same length check not needed: we own the key string). */
static void scim_json_rename(cJSON *item, const char *canonical)
{
    if (item->string != NULL && strcmp(item->string, canonical) == 0)
        return;
    if (!(item->type & cJSON_StringIsConst))
        cJSON_free(item->string);
    item->type &= ~cJSON_StringIsConst;
    item->string = gh_xstrdup(canonical);
}

/* Replace old (a member of parent) with item, keeping old's key (cJSON does not). */
static void scim_json_replace(cJSON *parent, cJSON *old, cJSON *item)
{
    if (old->string != NULL) {
        item->string = gh_xstrdup(old->string);
        item->type &= ~cJSON_StringIsConst;
    }
    cJSON_ReplaceItemViaPointer(parent, old, item);
}

/* Drop nulls anywhere below v (null means absent: ENTRA.md §1.21). */
static void scim_json_drop_nulls(cJSON *v)
{
    cJSON *c = v ? v->child : NULL;
    while (c != NULL) {
        cJSON *next = c->next;
        if (cJSON_IsNull(c))
            cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
        else
            scim_json_drop_nulls(c);
        c = next;
    }
}

static enum gh_status scim_norm_attrs(const struct scim_attr *table, cJSON *obj, bool top,
                                      const char *urn, struct gh_err *err);

/* Check and coerce one value against its attribute (not multi-valued here); urn names the
 * extension schema a top-level attribute belongs to, for the error (NULL: core). */
static enum gh_status scim_norm_value(const struct scim_attr *a, cJSON *parent, cJSON *v,
                                      const char *urn, struct gh_err *err)
{
    bool b;

    switch (a->type) {
    case SCIM_T_BOOLEAN:
        if (!scim_json_bool(v, &b))
            return scim_norm_fail_in(err, "expected a boolean", urn, a->name);
        if (!cJSON_IsBool(v))
            scim_json_replace(parent, v, cJSON_CreateBool(b));
        return GH_OK;
    case SCIM_T_INTEGER:
        /* a JSON number without a fraction, within the range a double holds exactly */
        if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
            v->valuedouble > 9007199254740992.0 || v->valuedouble < -9007199254740992.0)
            return scim_norm_fail_in(err, "expected an integer", urn, a->name);
        return GH_OK;
    case SCIM_T_DECIMAL:
        if (!cJSON_IsNumber(v))
            return scim_norm_fail_in(err, "expected a number", urn, a->name);
        return GH_OK;
    case SCIM_T_COMPLEX:
        if (!cJSON_IsObject(v))
            return scim_norm_fail_in(err, "expected an object", urn, a->name);
        return scim_norm_attrs(a->sub, v, false, NULL, err);
    case SCIM_T_DATETIME:
        if (!cJSON_IsString(v) || !scim_norm_datetime_ok(v->valuestring))
            return scim_norm_fail_in(err, "expected a dateTime such as 2024-05-01T12:00:00Z", urn,
                                     a->name);
        return GH_OK;
    default:
        if (!cJSON_IsString(v))
            return scim_norm_fail_in(err, "expected a string", urn, a->name);
        return GH_OK;
    }
}

/* A complex attribute with a "value" sub-attribute may arrive as the bare value (Entra's manager,
 * ENTRA.md §1.15) or as a one-element list (the older form): store {"value": ...}. */
static cJSON *scim_norm_complex_shorthand(const struct scim_attr *a, cJSON *parent, cJSON *v)
{
    if (a->type != SCIM_T_COMPLEX || (a->flags & SCIM_A_MULTI) ||
        scim_attr_find(a->sub, "value") == NULL)
        return v;
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1 && cJSON_IsObject(v->child)) {
        cJSON *only = cJSON_DetachItemViaPointer(v, v->child);
        scim_json_replace(parent, v, only);
        return only;
    }
    if (cJSON_IsString(v)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "value", cJSON_CreateString(v->valuestring));
        scim_json_replace(parent, v, o);
        return o;
    }
    return v;
}

/*
 * Normalise the members of obj against table. Unknown members of a schema-described object are
 * dropped at the top level (RFC 7644 §3.3: unknown attributes are ignored) and kept below it
 * (unknown sub-attributes of complex values are the client's business).
 */
static enum gh_status scim_norm_attrs(const struct scim_attr *table, cJSON *obj, bool top,
                                      const char *urn, struct gh_err *err)
{
    cJSON *c = obj->child;
    enum gh_status st;

    while (c != NULL) {
        cJSON *next = c->next;
        const struct scim_attr *a = c->string ? scim_attr_find(table, c->string) : NULL;

        if (cJSON_IsNull(c) || a == NULL || (a->flags & (SCIM_A_READONLY | SCIM_A_NEVER))) {
            if (cJSON_IsNull(c) || a != NULL || top)
                cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
            else
                scim_json_drop_nulls(c);
            c = next;
            continue;
        }
        scim_json_rename(c, a->name);
        if (a->type == SCIM_T_COMPLEX && !(a->flags & SCIM_A_MULTI) && cJSON_IsString(c) &&
            c->valuestring[0] == '\0') {
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, c)); /* manager "" clears it */
            c = next;
            continue;
        }
        c = scim_norm_complex_shorthand(a, obj, c);
        if (a->flags & SCIM_A_MULTI) {
            if (cJSON_IsObject(c) || (a->type != SCIM_T_COMPLEX && !cJSON_IsArray(c))) {
                /* a single value where a list is due: wrap it */
                cJSON *arr = cJSON_CreateArray();
                cJSON *one = scim_json_dup(c);
                cJSON_free(one->string);
                one->string = NULL;
                cJSON_AddItemToArray(arr, one);
                scim_json_replace(obj, c, arr); /* frees c */
                c = arr;
            }
            if (!cJSON_IsArray(c))
                return scim_norm_fail_in(err, "expected a list", urn, a->name);
            cJSON *e = c->child;
            while (e != NULL) {
                cJSON *enext = e->next;
                if (cJSON_IsNull(e)) {
                    cJSON_Delete(cJSON_DetachItemViaPointer(c, e));
                } else {
                    st = scim_norm_value(a, c, e, urn, err);
                    if (st)
                        return st;
                }
                e = enext;
            }
        } else {
            st = scim_norm_value(a, obj, c, urn, err);
            if (st)
                return st;
        }
        c = next;
    }
    return GH_OK;
}

/* True when the array of strings arr holds s (case-insensitive: URNs). */
static bool scim_json_strs_has(const cJSON *arr, const char *s)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && strcasecmp(e->valuestring, s) == 0)
            return true;
    }
    return false;
}

/*
 * The schemas this server knows (the kind's core schema and extensions, the declared ones
 * included) in their canonical
 * spelling, each listed once: URNs compare case-insensitively, but what is stored and returned
 * must name the schema exactly as /Schemas and /ResourceTypes do. Other URNs stay as sent.
 * One pass, so a long list costs linear time.
 */
static void scim_norm_schemas(const struct scim_rtype *rt, cJSON *schemas)
{
    const struct scim_schema *exts[SCIM_EXTS_MAX];
    const char *known[1 + SCIM_EXTS_MAX] = {rt->core->urn};
    bool seen[1 + SCIM_EXTS_MAX] = {false};
    size_t nknown = 1 + scim_rtype_exts(rt->kind, exts, SCIM_EXTS_MAX);
    cJSON *e = schemas->child;

    for (size_t i = 1; i < nknown; i++)
        known[i] = exts[i - 1]->urn;
    while (e != NULL) {
        cJSON *next = e->next;
        for (size_t i = 0; i < nknown; i++) {
            if (strcasecmp(e->valuestring, known[i]) != 0)
                continue;
            if (seen[i])
                cJSON_Delete(cJSON_DetachItemViaPointer(schemas, e));
            else if (strcmp(e->valuestring, known[i]) != 0)
                cJSON_ReplaceItemViaPointer(schemas, e, cJSON_CreateString(known[i]));
            seen[i] = true;
            break;
        }
        e = next;
    }
}

/* The extension schema (enterprise or declared) of kind whose URN is name, in any case; NULL
 * when it is none of them. */
static const struct scim_schema *scim_norm_ext_find(enum store_kind kind, const char *name)
{
    const struct scim_schema *exts[SCIM_EXTS_MAX];
    size_t n = scim_rtype_exts(kind, exts, SCIM_EXTS_MAX);

    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, exts[i]->urn) == 0)
            return exts[i];
    return NULL;
}

/* Move a top-level "urn:...:attr" key into its extension container. Takes ownership of item.
 * Cannot fail: a key that does not resolve is dropped like any unknown attribute, so the path
 * error is not recorded anywhere. */
static void scim_norm_qualified(enum store_kind kind, cJSON *body, cJSON *item)
{
    struct gh_arena *a = gh_arena_new();
    struct scim_path p;
    enum gh_status st;

    st = scim_path_resolve(a, kind, item->string, strlen(item->string), &p, NULL);
    if (st || p.urn == NULL || p.attr == NULL || p.sub != NULL) {
        cJSON_Delete(item); /* core-qualified or odd: ignored like any unknown attribute */
        goto out;
    }
    cJSON *cont = scim_json_container(body, &p, true);
    cJSON_free(item->string);
    item->string = NULL;
    item->type &= ~cJSON_StringIsConst;
    scim_json_set(cont, p.attr, item);
out:
    gh_arena_free(a);
}

/*
 * Normalise a request body for storage (see resource.h). Ownership: body stays the caller's; on
 * success *out_members (groups) is a detached array the caller deletes, or NULL.
 */
enum gh_status scim_resource_normalize(enum store_kind kind, cJSON *body, cJSON **out_members,
                                       struct store_cols *out_cols, struct gh_err *err)
{
    const struct scim_rtype *rt = scim_rtype_get(kind);
    cJSON *schemas, *c, *members = NULL, *pending = NULL;
    enum gh_status st = GH_OK;
    const cJSON *v;

    if (out_members != NULL)
        *out_members = NULL;
    memset(out_cols, 0, sizeof(*out_cols));
    if (!cJSON_IsObject(body)) {
        st = GH_ERR(err, GH_E_INVALID, "the body must be a JSON object");
        gh_err_set_scim_type(err, SCIM_ST_INVALID_SYNTAX);
        goto out;
    }
    schemas = cJSON_DetachItemFromObject(body, "schemas");
    if (schemas != NULL && cJSON_IsNull(schemas)) {
        cJSON_Delete(schemas);
        schemas = NULL;
    }
    if (schemas != NULL && !cJSON_IsArray(schemas)) {
        cJSON_Delete(schemas);
        st = scim_norm_fail(err, "expected a list of schema URNs", "schemas");
        goto out;
    }
    if (schemas == NULL)
        schemas = cJSON_CreateArray();
    cJSON_ArrayForEach(v, schemas)
    {
        if (!cJSON_IsString(v)) {
            cJSON_Delete(schemas);
            st = scim_norm_fail(err, "expected a list of schema URNs", "schemas");
            goto out;
        }
    }
    scim_norm_schemas(rt, schemas);

    /* Extension objects: known ones (enterprise, declared) are normalised against their table,
     * undeclared ones are kept as sent (minus nulls). Qualified attributes at the top level move
     * into their container. */
    {
        size_t urns = 0;
        cJSON_ArrayForEach(v, body)
        {
            urns += v->string != NULL && strncasecmp(v->string, SCIM_URN_PREFIX, 4) == 0;
        }
        if (urns > GH_CAP_SCIM_URN_MEMBERS) {
            cJSON_Delete(schemas);
            st = GH_ERR(err, GH_E_INVALID,
                        "%zu extension members (\"urn:...\"); at most %d are accepted", urns,
                        GH_CAP_SCIM_URN_MEMBERS);
            gh_err_set_scim_type(err, SCIM_ST_INVALID_VALUE);
            goto out;
        }
    }
    pending = cJSON_CreateArray();
    c = body->child;
    while (c != NULL) {
        cJSON *next = c->next;
        if (c->string != NULL && strncasecmp(c->string, SCIM_URN_PREFIX, 4) == 0) {
            const struct scim_schema *ext = scim_norm_ext_find(kind, c->string);
            if (ext != NULL) {
                if (!cJSON_IsObject(c)) {
                    if (!cJSON_IsNull(c)) {
                        cJSON_Delete(schemas);
                        st = scim_norm_fail(err, "expected an object", ext->urn);
                        goto out;
                    }
                } else {
                    scim_json_rename(c, ext->urn);
                }
            } else if (strcasecmp(c->string, rt->core->urn) == 0) {
                cJSON_Delete(cJSON_DetachItemViaPointer(body, c));
            } else if (!cJSON_IsObject(c)) {
                /* moved after the walk: creating a container may delete a member */
                cJSON_AddItemToArray(pending, cJSON_DetachItemViaPointer(body, c));
            }
        }
        c = next;
    }
    while (pending->child != NULL) {
        c = cJSON_DetachItemViaPointer(pending, pending->child);
        if (cJSON_IsNull(c))
            cJSON_Delete(c);
        else
            scim_norm_qualified(kind, body, c);
    }
    c = body->child;
    while (c != NULL) {
        cJSON *next = c->next;
        if (c->string != NULL && strncasecmp(c->string, SCIM_URN_PREFIX, 4) == 0) {
            const struct scim_schema *ext = scim_norm_ext_find(kind, c->string);
            /* a known schema's object holds its attributes only (unknown ones are dropped like
             * unknown core attributes), so what is stored is what /Schemas describes */
            if (ext != NULL && cJSON_IsObject(c))
                st = scim_norm_attrs(ext->attrs, c, true, ext->urn, err);
            else
                scim_json_drop_nulls(c);
            if (st) {
                cJSON_Delete(schemas);
                goto out;
            }
            if (c->child == NULL) /* an empty extension says nothing: drop it */
                cJSON_Delete(cJSON_DetachItemViaPointer(body, c));
            else if (!scim_json_strs_has(schemas, c->string))
                cJSON_AddItemToArray(schemas, cJSON_CreateString(c->string));
        }
        c = next;
    }
    if (kind == SCIM_GROUP) {
        members = cJSON_DetachItemFromObject(body, "members");
        if (cJSON_IsNull(members)) {
            cJSON_Delete(members);
            members = NULL;
        }
    }
    /* the core attributes: everything that is not an extension. The body is rebuilt as
     * schemas, core attributes (in the order sent), extensions. */
    {
        cJSON *core = cJSON_CreateObject();
        cJSON *exts = cJSON_CreateObject();
        while (body->child != NULL) {
            bool ext = body->child->string != NULL &&
                       strncasecmp(body->child->string, SCIM_URN_PREFIX, 4) == 0;
            cJSON_AddItemToArray(ext ? exts : core, cJSON_DetachItemViaPointer(body, body->child));
        }
        st = scim_norm_attrs(rt->core->attrs, core, true, NULL, err);
        if (!scim_json_strs_has(schemas, rt->core->urn))
            cJSON_InsertItemInArray(schemas, 0, cJSON_CreateString(rt->core->urn));
        cJSON_AddItemToObject(body, "schemas", schemas);
        while (core->child != NULL)
            cJSON_AddItemToArray(body, cJSON_DetachItemViaPointer(core, core->child));
        while (exts->child != NULL)
            cJSON_AddItemToArray(body, cJSON_DetachItemViaPointer(exts, exts->child));
        cJSON_Delete(core);
        cJSON_Delete(exts);
    }
    if (st)
        goto out;

    if (members != NULL) {
        st = scim_members_check(members, err);
        if (st)
            goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(body, kind == SCIM_USER ? "userName" : "displayName");
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        st = scim_norm_fail(err, "required", kind == SCIM_USER ? "userName" : "displayName");
        goto out;
    }
    out_cols->name = v->valuestring;
    v = cJSON_GetObjectItemCaseSensitive(body, "externalId");
    out_cols->external_id = cJSON_IsString(v) ? v->valuestring : NULL;
    out_cols->active = true;
    if (kind == SCIM_USER) {
        v = cJSON_GetObjectItemCaseSensitive(body, "displayName");
        out_cols->display = cJSON_IsString(v) ? v->valuestring : NULL;
        v = cJSON_GetObjectItemCaseSensitive(body, "active");
        out_cols->active = !cJSON_IsFalse(v);
    }
out:
    cJSON_Delete(pending);
    if (st) {
        cJSON_Delete(members);
        members = NULL;
    }
    if (out_members != NULL)
        *out_members = members;
    else
        cJSON_Delete(members);
    return st;
}

/*
 * Bring a stored body in line with the declared extensions (see resource.h): in each declared
 * extension object, drop the members the declaration does not name or whose value it refuses.
 * Such values were stored before the declaration (or before it changed); without this, every
 * later PATCH of the resource, an Entra soft delete included, would be refused for a value the
 * PATCH does not touch.
 */
void scim_resource_conform(enum store_kind kind, cJSON *body)
{
    const struct scim_schema *ext[GH_CAP_SCIM_EXT_SCHEMAS];
    size_t n = scim_ext_schemas(kind, ext, GH_CAP_SCIM_EXT_SCHEMAS);

    for (size_t i = 0; i < n && cJSON_IsObject(body); i++) {
        cJSON *obj = cJSON_GetObjectItem(body, ext[i]->urn); /* any case, as URNs compare */
        cJSON *c = cJSON_IsObject(obj) ? obj->child : NULL;
        while (c != NULL) {
            cJSON *next = c->next;
            cJSON *one = cJSON_CreateObject();
            cJSON_AddItemToObject(one, c->string ? c->string : "", scim_json_dup(c));
            if (c->string == NULL || scim_attr_find(ext[i]->attrs, c->string) == NULL ||
                scim_norm_attrs(ext[i]->attrs, one, true, ext[i]->urn, NULL) != GH_OK)
                cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
            cJSON_Delete(one);
            c = next;
        }
    }
}

/* Members must be objects with a non-empty string value (the member's id). */
enum gh_status scim_members_check(const cJSON *members, struct gh_err *err)
{
    const cJSON *m;

    if (!cJSON_IsArray(members))
        return scim_norm_fail(err, "expected a list", "members");
    cJSON_ArrayForEach(m, members)
    {
        const cJSON *v = cJSON_GetObjectItem(m, "value");
        if (!cJSON_IsObject(m) || !cJSON_IsString(v) || v->valuestring[0] == '\0')
            return scim_norm_fail(err, "each member needs a string \"value\"", "members");
    }
    return GH_OK;
}

/* ---- projection ---- */

static char *scim_proj_name(struct gh_arena *a, const char *s, size_t n)
{
    char *out;
    size_t core_len;
    const char *cores[] = {SCIM_SCHEMA_USER ":", SCIM_SCHEMA_GROUP ":"};

    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < 2; i++) {
        core_len = strlen(cores[i]);
        if (n > core_len && strncasecmp(s, cores[i], core_len) == 0) {
            s += core_len;
            n -= core_len;
        }
    }
    out = gh_arena_strndup(a, s, n);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

/* The lower-case qualified name of a value-filter entry's attribute, as scim_proj_walk builds
 * it: "emails", or "urn:...:user:attr" for an extension attribute. */
static const char *scim_proj_vf_full(struct gh_arena *a, const struct scim_path *path)
{
    char *full = path->urn ? gh_arena_printf(a, "%s:%s", path->urn, path->attr)
                           : gh_arena_strdup(a, path->attr);
    for (char *q = full; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    return full;
}

/* One attr[filter][.sub] entry into out->vfs. */
static enum gh_status scim_proj_vf_parse(struct gh_arena *a, enum store_kind kind,
                                         const char *param, const char *text,
                                         struct scim_projection *out, struct gh_err *err)
{
    struct scim_path path;
    struct scim_proj_vf *v;

    if (scim_filter_path_parse(a, kind, text, &path, NULL) != GH_OK || path.attr == NULL ||
        path.vfilter == NULL) {
        GH_ERR(err, GH_E_INVALID, "%s: \"%.80s\" is neither an attribute nor attr[filter]", param,
               text);
        gh_err_set_scim_type(err, SCIM_ST_INVALID_FILTER);
        return GH_E_INVALID;
    }
    if (path.a != NULL && !(path.a->flags & SCIM_A_MULTI)) {
        GH_ERR(err, GH_E_INVALID,
               "%s: \"%.80s\": a value filter applies to a multi-valued attribute", param, text);
        gh_err_set_scim_type(err, SCIM_ST_INVALID_FILTER);
        return GH_E_INVALID;
    }
    if (out->vf_count >= GH_CAP_SCIM_PROJ_FILTERS) {
        GH_ERR(err, GH_E_INVALID, "%s: more than %d value filters", param,
               GH_CAP_SCIM_PROJ_FILTERS);
        gh_err_set_scim_type(err, SCIM_ST_INVALID_FILTER);
        return GH_E_INVALID;
    }
    v = &out->vfs[out->vf_count++];
    v->full = scim_proj_vf_full(a, &path);
    v->sub = path.sub;
    v->vf = path.vfilter;
    return GH_OK;
}

/*
 * Parse attributes/excludedAttributes (either may be NULL or empty; attributes wins when both are
 * given, RFC 7644 §3.9). Names are lower-cased, core-URN prefixes stripped. The list splits at
 * commas outside brackets and quoted strings, so emails[value eq "a,b"] is one entry. Entries
 * with '[' or ']' must be attr[filter] or attr[filter].sub on a multi-valued attribute (else
 * invalidFilter); plain names are taken as given, as before. Arena-owned.
 */
enum gh_status scim_projection_parse(struct gh_arena *a, enum store_kind kind,
                                     const char *attributes, const char *excluded,
                                     struct scim_projection *out, struct gh_err *err)
{
    const char *list = attributes && *attributes ? attributes : excluded;
    const char *param = list == attributes ? "attributes" : "excludedAttributes";
    size_t n = 1;
    enum gh_status st;

    memset(out, 0, sizeof(*out));
    if (list == NULL || *list == '\0')
        return GH_OK;
    out->include = list == attributes;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    out->names = gh_arena_alloc(a, n * sizeof(*out->names));
    out->vfs = gh_arena_alloc(a, n * sizeof(*out->vfs));
    for (const char *p = list;;) {
        const char *q = p;
        bool quoted = false, bracketed = false;
        int depth = 0;
        for (; *q != '\0' && (quoted || depth > 0 || *q != ','); q++) {
            if (quoted && *q == '\\' && q[1] != '\0')
                q++;
            else if (*q == '"')
                quoted = !quoted;
            else if (!quoted && (*q == '[' || *q == ']')) {
                depth += *q == '[' ? 1 : -1;
                bracketed = true;
            }
        }
        if (bracketed) {
            /* the filter keeps its own case: values in it compare per the attribute */
            const char *t = p;
            size_t tl = (size_t)(q - p);
            while (tl > 0 && (*t == ' ' || *t == '\t'))
                t++, tl--;
            while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
                tl--;
            st = scim_proj_vf_parse(a, kind, param, gh_arena_strndup(a, t, tl), out, err);
            if (st)
                return st;
        } else {
            char *name = scim_proj_name(a, p, (size_t)(q - p));
            if (*name != '\0')
                out->names[out->count++] = name;
        }
        if (*q == '\0')
            break;
        p = q + 1;
    }
    return GH_OK;
}

#define SCIM_PROJ_NONE  0 /* not named */
#define SCIM_PROJ_SELF  1 /* named exactly */
#define SCIM_PROJ_BELOW 2 /* a descendant is named */
#define SCIM_PROJ_ELEMS 3 /* named with a value filter: decided element by element */

/* full: the lower-case qualified name of a node. */
static int scim_proj_hit(const struct scim_projection *p, const char *full)
{
    size_t fl = strlen(full);
    int hit = SCIM_PROJ_NONE;
    bool self = false, elems = false;
    for (size_t i = 0; i < p->count; i++) {
        const char *n = p->names[i];
        if (strcmp(n, full) == 0)
            self = true;
        else if (strncmp(n, full, fl) == 0 && (n[fl] == '.' || n[fl] == ':'))
            hit = SCIM_PROJ_BELOW;
    }
    for (size_t i = 0; i < p->vf_count; i++) {
        const char *n = p->vfs[i].full;
        if (strcmp(n, full) == 0)
            elems = true;
        else if (strncmp(n, full, fl) == 0 && n[fl] == ':')
            hit = SCIM_PROJ_BELOW; /* an extension object holding a filtered attribute */
    }
    if (self && (!p->include || !elems))
        return SCIM_PROJ_SELF; /* excludedAttributes=emails drops emails whatever else is said */
    return elems ? SCIM_PROJ_ELEMS : hit;
}

/* Is sub-attribute key of one element of full named, by a plain "full.key" or by a value-filter
 * entry whose filter selected the element (matched[i])? */
static bool scim_proj_sub_named(const struct scim_projection *p, const char *full,
                                const bool *matched, const char *key)
{
    size_t fl = strlen(full);
    for (size_t i = 0; i < p->count; i++) {
        const char *n = p->names[i];
        if (strncmp(n, full, fl) == 0 && n[fl] == '.' && strcasecmp(n + fl + 1, key) == 0)
            return true;
    }
    for (size_t i = 0; i < p->vf_count; i++)
        if (matched[i] && p->vfs[i].sub != NULL && strcasecmp(p->vfs[i].sub, key) == 0)
            return true;
    return false;
}

/*
 * The elements of multi-valued attribute arr (named full, a member of obj) under value-filter
 * entries. attributes: an element stays when an entry without a sub (or the plain name) selects
 * it, keeping only the named subs when only "attr[filter].sub" entries select it.
 * excludedAttributes: an element goes when an entry without a sub selects it, else loses the
 * named subs. An attribute left with no element is removed rather than returned as [].
 */
static void scim_proj_elems(const struct scim_projection *p, cJSON *obj, cJSON *arr,
                            const char *full)
{
    size_t fl = strlen(full);
    bool *matched = gh_xcalloc(p->vf_count ? p->vf_count : 1, sizeof(*matched));
    cJSON *e = arr->child;

    while (e != NULL) {
        cJSON *next = e->next;
        bool whole = false, some = false, drop;
        /* every filter sees the element as stored, before any sub-attribute is removed */
        for (size_t i = 0; i < p->vf_count; i++) {
            matched[i] = strcmp(p->vfs[i].full, full) == 0 && scim_filter_match(p->vfs[i].vf, e);
            whole = whole || (matched[i] && p->vfs[i].sub == NULL);
            some = some || (matched[i] && p->vfs[i].sub != NULL);
        }
        for (size_t i = 0; i < p->count; i++) {
            const char *n = p->names[i];
            whole = whole || strcmp(n, full) == 0;
            some = some || (strncmp(n, full, fl) == 0 && n[fl] == '.');
        }
        if (whole)
            drop = !p->include;
        else if (!some || !cJSON_IsObject(e))
            drop = p->include; /* nothing selected (a primitive element has no sub-attributes) */
        else {
            cJSON *c = e->child;
            while (c != NULL) {
                cJSON *cn = c->next;
                bool named = c->string != NULL && scim_proj_sub_named(p, full, matched, c->string);
                if (named != p->include)
                    cJSON_Delete(cJSON_DetachItemViaPointer(e, c));
                c = cn;
            }
            drop = e->child == NULL;
        }
        if (drop)
            cJSON_Delete(cJSON_DetachItemViaPointer(arr, e));
        e = next;
    }
    free(matched);
    if (arr->child == NULL)
        cJSON_Delete(cJSON_DetachItemViaPointer(obj, arr));
}

static char *scim_proj_full(char *buf, size_t cap, const char *prefix, char sep, const char *key)
{
    if (prefix == NULL)
        snprintf(buf, cap, "%s", key);
    else
        snprintf(buf, cap, "%s%c%s", prefix, sep, key);
    for (char *q = buf; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    return buf;
}

static void scim_proj_walk(const struct scim_projection *p, cJSON *obj, const char *prefix,
                           char sep)
{
    cJSON *c = obj->child;
    char full[512];

    while (c != NULL) {
        cJSON *next = c->next;
        if (c->string == NULL) {
            c = next;
            continue;
        }
        if (prefix == NULL && (strcmp(c->string, "id") == 0 || strcmp(c->string, "schemas") == 0)) {
            c = next; /* returned "always" (RFC 7643 §2.4) */
            continue;
        }
        bool is_ext = prefix == NULL && strncasecmp(c->string, SCIM_URN_PREFIX, 4) == 0;
        int hit = scim_proj_hit(p, scim_proj_full(full, sizeof(full), prefix, sep, c->string));
        bool drop = p->include ? hit == SCIM_PROJ_NONE : hit == SCIM_PROJ_SELF;
        if (hit == SCIM_PROJ_ELEMS && cJSON_IsArray(c)) {
            scim_proj_elems(p, obj, c, full);
        } else if (hit == SCIM_PROJ_ELEMS) {
            /* not multi-valued after all (an unknown attribute): no element to select */
            if (p->include)
                cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
        } else if (drop) {
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
        } else if (hit == SCIM_PROJ_BELOW) {
            char sub_sep = is_ext ? ':' : '.';
            if (cJSON_IsObject(c)) {
                scim_proj_walk(p, c, full, sub_sep);
                if (p->include && c->child == NULL)
                    cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
            } else if (cJSON_IsArray(c)) {
                cJSON *e;
                cJSON_ArrayForEach(e, c)
                {
                    if (cJSON_IsObject(e))
                        scim_proj_walk(p, e, full, sub_sep);
                }
            }
        }
        c = next;
    }
}

/* True when the top-level attribute attr (under urn, NULL = core) is to be returned at all. */
bool scim_projection_wants(const struct scim_projection *p, const char *urn, const char *attr)
{
    char full[512];
    int hit;

    if (p->count == 0 && p->vf_count == 0)
        return true;
    if (urn != NULL)
        snprintf(full, sizeof(full), "%s:%s", urn, attr);
    else
        snprintf(full, sizeof(full), "%s", attr);
    for (char *q = full; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    hit = scim_proj_hit(p, full);
    return p->include ? hit != SCIM_PROJ_NONE : hit != SCIM_PROJ_SELF;
}

/* Apply attributes/excludedAttributes to a rendered resource (id and schemas always stay). */
void scim_projection_apply(const struct scim_projection *p, cJSON *res)
{
    if (p->count == 0 && p->vf_count == 0)
        return;
    scim_proj_walk(p, res, NULL, '.');
}

/* ---- ETags ---- */

/* The weak ETag of a resource version (RFC 7644 §3.14): W/"3". */
void scim_etag_format(int64_t version, char *buf, size_t cap)
{
    snprintf(buf, cap, "W/\"%" PRId64 "\"", version);
}

/* Parse one entity tag from If-Match; weak and strong forms of the same version are equal. */
bool scim_etag_parse(const char *s, bool *out_any, int64_t *out_version)
{
    char *end;
    long long v;

    *out_any = false;
    while (*s == ' ')
        s++;
    if (s[0] == '*' && (s[1] == '\0' || s[1] == ' ')) {
        *out_any = true;
        return true;
    }
    if (s[0] == 'W' && s[1] == '/')
        s += 2;
    if (*s != '"' || s[1] < '0' || s[1] > '9')
        return false;
    v = strtoll(s + 1, &end, 10);
    if (*end != '"' || v < 0)
        return false;
    *out_version = (int64_t)v;
    return true;
}
