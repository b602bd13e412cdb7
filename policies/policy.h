/*
 * policy.h - access groups and what they grant: the policy file (GATEHOUSE_POLICY) and the
 * pieces the admin API shares with it.
 *
 *   {"access_groups":[{"name":"Payroll Analysts",
 *                      "grants":[{"dataset":"payroll","actions":["protect","unprotect"]}]}],
 *    "default_grants":[{"dataset":"directory","actions":["protect"]}],
 *    "routes":[{"method":"GET","path_prefix":"/payroll/","dataset":"payroll",
 *               "action":"unprotect"}]}
 *
 * A parsed document is immutable; callers share it read-only between threads.
 */
#ifndef POLICY_POLICY_H
#define POLICY_POLICY_H

#include "core/core.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

enum policy_action {
    POLICY_ACTION_PROTECT = 1u << 0,
    POLICY_ACTION_UNPROTECT = 1u << 1,
};

enum policy_source { POLICY_SOURCE_FILE, POLICY_SOURCE_ADMIN };

#define POLICY_NAME_MAX   256 /* access-group names and datasets, bytes */
#define POLICY_GROUPS_MAX 100000

struct policy_grant {
    char *dataset;    /* owned by the document */
    unsigned actions; /* enum policy_action bits */
};

struct policy_group {
    char *name; /* as written */
    char *key;  /* match key: policy_name_key(name) */
    struct policy_grant *grants;
    size_t ngrants;
    enum policy_source source;
};

struct policy_route {
    char *method;      /* NULL: any method */
    char *path_prefix; /* matched on whole segments: "/a" matches "/a" and "/a/b", not "/ab" */
    char *dataset;
    enum policy_action action;
};

struct policy_doc {
    struct policy_group *groups;
    size_t ngroups;
    struct policy_grant *defaults;
    size_t ndefaults;
    struct policy_route *routes;
    size_t nroutes;
};

/* ---- documents ---- */
/* Parse a policy document. Every error names where it is ("access_groups[2].grants[0]: ...").
 * Caller frees the result with policy_doc_free. */
enum gh_status policy_doc_parse(const char *text, size_t len, struct policy_doc **out_doc,
                                struct gh_err *err);
/* Read (capped at GH_CAP_POLICY) and parse a policy file. */
enum gh_status policy_doc_load(const char *path, struct policy_doc **out_doc, struct gh_err *err);
void policy_doc_free(struct policy_doc *doc); /* NULL is a no-op */
const struct policy_group *policy_doc_group_find(const struct policy_doc *doc, const char *name);
/* The route rule for an original request (longest matching prefix; a rule naming the method
 * beats one for any method), or NULL. */
const struct policy_route *policy_doc_route_match(const struct policy_doc *doc, const char *method,
                                                  const char *path);

/* ---- pieces shared with the admin API ---- */
/* Parse a JSON array of grants; `where` prefixes error messages. On success *out_grants (owned,
 * free with policy_grants_free) holds *out_n entries. */
enum gh_status policy_grants_parse(const cJSON *arr, const char *where,
                                   struct policy_grant **out_grants, size_t *out_n,
                                   struct gh_err *err);
void policy_grants_free(struct policy_grant *grants, size_t n);
cJSON *policy_grants_json(const struct policy_grant *grants, size_t n); /* caller owns */
bool policy_grants_allow(const struct policy_grant *grants, size_t n, const char *dataset,
                         enum policy_action action);
/* Validate an access-group name (non-empty after trimming, <= POLICY_NAME_MAX, no controls). */
enum gh_status policy_name_check(const char *name, const char *where, struct gh_err *err);

/* ---- actions ---- */
enum gh_status policy_action_parse(const char *s, enum policy_action *out_action,
                                   struct gh_err *err);
const char *policy_action_name(enum policy_action action);

/* ---- names ---- */
/* The link key: store_name_key (store/store.h), the one definition the store's link triggers
 * compare too. Two names link when their keys are equal. Writes at most cap bytes (NUL
 * included); returns the length. */
size_t policy_name_key(const char *name, char *out, size_t cap);
/* The near-match skeleton: the key with whitespace and punctuation removed, Latin letters with
 * diacritics (precomposed or combining) reduced to their base letter and fullwidth ASCII folded.
 * Names with equal skeletons but different keys are near matches: listed, never linked. */
size_t policy_name_skeleton(const char *name, char *out, size_t cap);

#endif
