/*
 * resource.h - the SCIM resource model: schema tables (RFC 7643 §4, §8.7), attribute paths,
 * and the conversions between request JSON, the stored body and response JSON.
 *
 * The schema tables are the single source of truth for attribute names (canonical case), types,
 * case-exactness and mutability: normalisation, filters, PATCH paths and /Schemas all read them.
 */
#ifndef SCIM_RESOURCE_H
#define SCIM_RESOURCE_H

#include "core/core.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- protocol strings (named after RFC 7643/7644) ---- */
#define SCIM_SCHEMA_USER       "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_SCHEMA_GROUP      "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_SCHEMA_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_SCHEMA_SPC        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCIM_SCHEMA_RTYPE      "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define SCIM_SCHEMA_SCHEMA     "urn:ietf:params:scim:schemas:core:2.0:Schema"
#define SCIM_MSG_LIST          "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_MSG_PATCH         "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_MSG_ERROR         "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_URN_PREFIX        "urn:"
#define SCIM_CONTENT_TYPE      "application/scim+json"

/* scimType values (RFC 7644 §3.12) */
#define SCIM_ST_INVALID_FILTER "invalidFilter"
#define SCIM_ST_UNIQUENESS     "uniqueness"
#define SCIM_ST_MUTABILITY     "mutability"
#define SCIM_ST_INVALID_SYNTAX "invalidSyntax"
#define SCIM_ST_INVALID_PATH   "invalidPath"
#define SCIM_ST_NO_TARGET      "noTarget"
#define SCIM_ST_INVALID_VALUE  "invalidValue"
#define SCIM_ST_TOO_MANY       "tooMany"

/* ---- schema tables ---- */
/* The resource types are the store's two kinds (enum store_kind), under their SCIM names. */
#define SCIM_USER  STORE_USER
#define SCIM_GROUP STORE_GROUP

enum scim_type {
    SCIM_T_STRING,
    SCIM_T_BOOLEAN,
    SCIM_T_DECIMAL,
    SCIM_T_INTEGER,
    SCIM_T_DATETIME,
    SCIM_T_REFERENCE,
    SCIM_T_COMPLEX,
    SCIM_T_BINARY,
};

/* attribute flags */
#define SCIM_A_MULTI      0x01u /* multiValued */
#define SCIM_A_CASE_EXACT 0x02u
#define SCIM_A_REQUIRED   0x04u
#define SCIM_A_READONLY   0x08u /* mutability readOnly: ignored on input */
#define SCIM_A_UNIQUE     0x10u /* uniqueness server */
#define SCIM_A_ALWAYS     0x20u /* returned always */
#define SCIM_A_IMMUTABLE  0x40u
#define SCIM_A_NEVER      0x80u /* returned never (writeOnly) */

struct scim_attr {
    const char *name; /* canonical case; NULL ends a table */
    enum scim_type type;
    unsigned flags;
    const struct scim_attr *sub; /* sub-attributes of a complex attribute, or NULL */
    const char *description;
    const char *const *canonical; /* canonicalValues (NULL-terminated) or NULL */
    const char *const *ref_types; /* referenceTypes (NULL-terminated) or NULL */
};

struct scim_schema {
    const char *urn;
    const char *name;
    const char *description;
    const struct scim_attr *attrs; /* NULL-name terminated */
};

extern const struct scim_schema scim_schema_user;
extern const struct scim_schema scim_schema_enterprise;
extern const struct scim_schema scim_schema_group;

/* The resource types served: name, endpoint, core schema, extensions. */
struct scim_rtype {
    enum store_kind kind;
    const char *name;     /* "User" */
    const char *endpoint; /* "/Users" */
    const char *description;
    const struct scim_schema *core;
    const struct scim_schema *ext; /* the one known extension or NULL */
};
const struct scim_rtype *scim_rtype_get(enum store_kind kind);

/* The extension schemas of kind, into out (at most cap): the enterprise extension (User), then
 * the declared ones (scim_ext_install) in declaration order. Borrowed; returns the count. */
size_t scim_rtype_exts(enum store_kind kind, const struct scim_schema **out, size_t cap);
/* The declared extension schemas alone (scim/extension.c), same contract. */
size_t scim_ext_schemas(enum store_kind kind, const struct scim_schema **out, size_t cap);
/* Room for every extension schema of a kind. */
#define SCIM_EXTS_MAX (1 + GH_CAP_SCIM_EXT_SCHEMAS)
/* The RFC 7643 §7 representation of a schema (no meta; caller deletes). */
cJSON *scim_schema_to_json(const struct scim_schema *s);

/* True when /Schemas lists the attribute (the common id, externalId, meta are not listed). */
bool scim_attr_is_listed(const struct scim_attr *a);
/* Find an attribute by name (case-insensitive) in a NULL-terminated table; NULL when absent. */
const struct scim_attr *scim_attr_find(const struct scim_attr *table, const char *name);

/* ---- attribute paths (RFC 7644 §3.10: [URN ":"] attr ["." sub]) ---- */

/*
 * A resolved attribute reference. Names are canonical when the schema knows them and as written
 * otherwise (custom extensions). Strings live in the arena the path was parsed into.
 */
struct scim_path {
    const char *urn;  /* extension URN the attribute lives under, or NULL for the core schema */
    const char *attr; /* top-level attribute name (within urn when set) */
    const char *sub;  /* sub-attribute, or NULL */
    const struct scim_attr *a; /* schema entry of attr, NULL when unknown */
    const struct scim_attr *s; /* schema entry of sub, NULL when unknown or absent */
    struct store_filter
        *vfilter; /* value filter "attr[...]" of a multi-valued attribute, or NULL */
};

/*
 * Resolve "urn:...:attr.sub" / "attr.sub" / "attr" (already split from any value filter) for
 * a resource kind. GH_E_INVALID (scimType invalidPath) when malformed. Strings are copied into a.
 */
enum gh_status scim_path_resolve(struct gh_arena *a, enum store_kind kind, const char *text,
                                 size_t len, struct scim_path *out, struct gh_err *err);

/* ---- JSON helpers ---- */
/* Detach-free lookups: the member of obj named by p (attr level; urn honoured); borrowed. */
cJSON *scim_json_attr(const cJSON *obj, const struct scim_path *p);
/* The container object holding p's attribute: obj itself, or obj[urn] (created when create). */
cJSON *scim_json_container(cJSON *obj, const struct scim_path *p, bool create);
/* "True"/"False" strings (any case) and JSON booleans as a boolean; false when neither. */
bool scim_json_bool(const cJSON *v, bool *out);
/* Deep copy (aborts on OOM). */
cJSON *scim_json_dup(const cJSON *v);
/* Replace (or add) obj[name] with item, taking ownership of item. */
void scim_json_set(cJSON *obj, const char *name, cJSON *item);

/* The same path as the store's query tree takes it, with what the schema says of its
 * attributes; strings stay borrowed from in (and its arena). */
void scim_path_to_store(const struct scim_path *in, struct store_path *out);

/* ---- request body -> stored body ---- */

/*
 * Normalise a resource body in place for storage: drop nulls, id, meta, readOnly and unknown
 * core attributes; canonicalise attribute-name case; coerce "True"/"False" to booleans on
 * boolean attributes; keep extension objects ("urn:..." keys) as sent; list the extension URNs in
 * `schemas`; check types and required attributes (GH_E_INVALID, scimType invalidValue). For
 * groups, `members` is detached and returned in *out_members (caller owns; may be NULL).
 * Fills *out_cols, the store's indexed columns, from the body (borrowed pointers into body).
 */
enum gh_status scim_resource_normalize(enum store_kind kind, cJSON *body, cJSON **out_members,
                                       struct store_cols *out_cols, struct gh_err *err);

/* Drop, from the declared extension objects of a stored body, members the declaration in force
 * does not name or whose type it refuses (stored before it was declared), so that a PATCH is
 * judged on what it changes. Without declarations, a no-op. */
void scim_resource_conform(enum store_kind kind, cJSON *body);

/* Validate a group's member list ([{value, display?, type?, $ref?}]): each needs a string value. */
enum gh_status scim_members_check(const cJSON *members, struct gh_err *err);

/* ---- stored body -> response ---- */
/*
 * Projection of RFC 7644 §3.4.2.5: attributes / excludedAttributes (comma-separated, names
 * possibly URN-qualified and dotted). `id` and `schemas` are always returned. Beyond the RFC,
 * an entry may carry a value filter, attr[filter] or attr[filter].sub (Microsoft's validator
 * sends attributes=emails[type eq "work"]): with attributes it returns only the elements the
 * filter selects (or their sub), with excludedAttributes it removes them (or their sub).
 */
struct scim_proj_vf {
    const char *full; /* lower-case "attr" or "urn:attr" of the multi-valued attribute */
    const char *sub;  /* sub-attribute, or NULL for the whole element */
    const struct store_filter *vf; /* the value filter, evaluated on each element */
};
struct scim_projection {
    const char **names; /* arena-owned canonical "urn:attr.sub"-style names (lower case) */
    size_t count;
    struct scim_proj_vf *vfs; /* entries with a value filter, arena-owned */
    size_t vf_count;
    bool include; /* true: only names; false: all but names */
};
/* Parse the two lists (see resource.c). A malformed value-filter entry, or one on a
 * single-valued attribute, is GH_E_INVALID with scimType invalidFilter; plain names never fail. */
enum gh_status scim_projection_parse(struct gh_arena *a, enum store_kind kind,
                                     const char *attributes, const char *excluded,
                                     struct scim_projection *out, struct gh_err *err);
/* True when the top-level attribute (urn NULL for core) / sub-attribute is to be returned. */
bool scim_projection_wants(const struct scim_projection *p, const char *urn, const char *attr);
/* Apply a projection to a rendered resource in place. */
void scim_projection_apply(const struct scim_projection *p, cJSON *res);

/* ETag of a version: W/"<version>" into buf. */
void scim_etag_format(int64_t version, char *buf, size_t cap);
/* Parse an If-Match value: true and *out_any when "*", true and *out_version for W/"n" or "n". */
bool scim_etag_parse(const char *s, bool *out_any, int64_t *out_version);

#endif
