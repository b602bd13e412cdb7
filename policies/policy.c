/*
 * policy.c - the policy file: parsing with precise, located errors, grant evaluation, route
 * rules for ext_authz, and the two name keys that decide which IdP group links to which access
 * group (exact key) and which are only near matches (skeleton).
 *
 * Parsing is strict: unknown members are errors (a typo such as "grant" must not silently grant
 * nothing, or worse, be ignored in a deny rule later), actions other than protect/unprotect are
 * errors, duplicate access-group names (by link key) are errors.
 */
#include "policies/policy.h"
#include "core/core.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- actions ---- */

/* Parse "protect" / "unprotect" (exact, lower case as documented). */
enum gh_status policy_action_parse(const char *s, enum policy_action *out_action,
                                   struct gh_err *err)
{
    char q[80];
    if (s != NULL && strcmp(s, "protect") == 0) {
        *out_action = POLICY_ACTION_PROTECT;
        return GH_OK;
    }
    if (s != NULL && strcmp(s, "unprotect") == 0) {
        *out_action = POLICY_ACTION_UNPROTECT;
        return GH_OK;
    }
    return GH_ERR(err, GH_E_INVALID, "action %s is not protect or unprotect",
                  gh_log_q(q, sizeof(q), s != NULL ? s : "(missing)"));
}

/* "protect" or "unprotect". */
const char *policy_action_name(enum policy_action action)
{
    return action == POLICY_ACTION_UNPROTECT ? "unprotect" : "protect";
}

/* ---- names ---- */

/* See policy.h. */
size_t policy_name_key(const char *name, char *out, size_t cap)
{
    return store_name_key(name, out, cap);
}

/* Decode one UTF-8 sequence; invalid bytes decode as themselves (U+0080..U+00FF never
 * collide with a valid two-byte decode here because callers only compare skeletons). */
static unsigned policy_utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned c = s[0];
    if (c >= 0xC2 && c <= 0xDF && (s[1] & 0xC0) == 0x80) {
        *p += 2;
        return ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    }
    if (c >= 0xE0 && c <= 0xEF && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        *p += 3;
        return ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    }
    *p += 1;
    return c;
}

/* Base letter of a precomposed Latin-1 Supplement letter (U+00C0..U+00FF), or 0. */
static char policy_latin1_base(unsigned cp)
{
    static const char map[] = "aaaaaaaceeeeiiiidnooooo\0ouuuuyts"  /* U+00C0..U+00DF */
                              "aaaaaaaceeeeiiiidnooooo\0ouuuuyty"; /* U+00E0..U+00FF */
    if (cp < 0xC0 || cp > 0xFF)
        return 0;
    return map[cp - 0xC0];
}

/* See policy.h. */
size_t policy_name_skeleton(const char *name, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t n = 0;

    GH_ASSERT(cap > 0);
    while (*p != '\0' && n + 4 < cap) {
        unsigned cp = policy_utf8_next(&p);
        char base;
        if (cp >= 0xFF01 && cp <= 0xFF5E) /* fullwidth ASCII (NFKC folds these) */
            cp -= 0xFEE0;
        if (cp >= 0x300 && cp <= 0x36F) /* combining diacritical marks (NFD) */
            continue;
        if (cp < 0x80) {
            if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
                out[n++] = (char)cp;
            else if (cp >= 'A' && cp <= 'Z')
                out[n++] = (char)(cp + 32);
            /* whitespace, punctuation and controls are dropped */
            continue;
        }
        if (cp == 0xA0 || cp == 0x2007 || cp == 0x202F || (cp >= 0x2000 && cp <= 0x200D) ||
            cp == 0x3000 || cp == 0xFEFF) /* Unicode spaces and zero-width characters */
            continue;
        base = policy_latin1_base(cp);
        if (base != 0) {
            out[n++] = base;
            continue;
        }
        /* anything else: keep the code point, encoded as UTF-8 */
        if (cp < 0x800) {
            out[n++] = (char)(0xC0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[n++] = (char)(0xE0 | (cp >> 12));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[n] = '\0';
    return n;
}

/* See policy.h. */
enum gh_status policy_name_check(const char *name, const char *where, struct gh_err *err)
{
    char key[POLICY_NAME_MAX + 1];

    if (name == NULL)
        return GH_ERR(err, GH_E_INVALID, "%s: name must be a string", where);
    if (strlen(name) > POLICY_NAME_MAX)
        return GH_ERR(err, GH_E_INVALID, "%s: name longer than %d bytes", where, POLICY_NAME_MAX);
    if (policy_name_key(name, key, sizeof(key)) == 0)
        return GH_ERR(err, GH_E_INVALID, "%s: name is empty", where);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return GH_ERR(err, GH_E_INVALID, "%s: name contains a control character", where);
    return GH_OK;
}

/* ---- grants ---- */

/* Free grants from policy_grants_parse. */
void policy_grants_free(struct policy_grant *grants, size_t n)
{
    for (size_t i = 0; i < n && grants != NULL; i++)
        free(grants[i].dataset);
    free(grants);
}

static enum gh_status policy_only_members(const cJSON *obj, const char *const *allowed,
                                          const char *where, struct gh_err *err)
{
    char q[80];
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++)
            ok = ok || strcmp(m->string, allowed[i]) == 0;
        if (!ok)
            return GH_ERR(err, GH_E_INVALID, "%s: unknown member %s", where,
                          gh_log_q(q, sizeof(q), m->string));
    }
    return GH_OK;
}

static enum gh_status policy_string_member(const cJSON *obj, const char *name, const char *where,
                                           bool required, const char **out, struct gh_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        if (required)
            return GH_ERR(err, GH_E_INVALID, "%s: %s is required", where, name);
        return GH_OK;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return GH_ERR(err, GH_E_INVALID, "%s: %s must be a non-empty string", where, name);
    if (strlen(v->valuestring) > POLICY_NAME_MAX)
        return GH_ERR(err, GH_E_INVALID, "%s: %s longer than %d bytes", where, name,
                      POLICY_NAME_MAX);
    *out = v->valuestring;
    return GH_OK;
}

/* See policy.h. */
enum gh_status policy_grants_parse(const cJSON *arr, const char *where,
                                   struct policy_grant **out_grants, size_t *out_n,
                                   struct gh_err *err)
{
    static const char *const members[] = {"dataset", "actions", "description", NULL};
    struct policy_grant *g = NULL;
    size_t n = 0, cap;
    enum gh_status st = GH_OK;
    char at[160];

    if (!cJSON_IsArray(arr))
        return GH_ERR(err, GH_E_INVALID, "%s must be an array", where);
    cap = (size_t)cJSON_GetArraySize(arr);
    g = gh_xcalloc(cap ? cap : 1, sizeof(*g));
    for (const cJSON *e = arr->child; e != NULL; e = e->next) {
        const char *dataset = NULL;
        const cJSON *acts;
        snprintf(at, sizeof(at), "%s[%zu]", where, n);
        if (!cJSON_IsObject(e)) {
            st = GH_ERR(err, GH_E_INVALID, "%s must be an object", at);
            goto out;
        }
        st = policy_only_members(e, members, at, err);
        if (st == GH_OK)
            st = policy_string_member(e, "dataset", at, true, &dataset, err);
        if (st || dataset == NULL)
            goto out;
        acts = cJSON_GetObjectItemCaseSensitive(e, "actions");
        if (!cJSON_IsArray(acts) || cJSON_GetArraySize(acts) == 0) {
            st = GH_ERR(err, GH_E_INVALID, "%s: actions must be a non-empty array", at);
            goto out;
        }
        g[n].dataset = gh_xstrdup(dataset);
        n++;
        for (const cJSON *a = acts->child; a != NULL; a = a->next) {
            enum policy_action act = 0;
            struct gh_err aerr = {0};
            if (policy_action_parse(cJSON_IsString(a) ? a->valuestring : NULL, &act, &aerr) ||
                act == 0) {
                st = GH_ERR(err, GH_E_INVALID, "%s.actions: %s", at, aerr.msg);
                goto out;
            }
            g[n - 1].actions |= (unsigned)act;
        }
    }
out:
    if (st) {
        policy_grants_free(g, n);
        return st;
    }
    *out_grants = g;
    *out_n = n;
    return GH_OK;
}

/* The grants as the JSON array they were parsed from (actions normalised). Caller owns. */
cJSON *policy_grants_json(const struct policy_grant *grants, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *g = cJSON_CreateObject();
        cJSON *acts = cJSON_CreateArray();
        cJSON_AddStringToObject(g, "dataset", grants[i].dataset);
        if (grants[i].actions & POLICY_ACTION_PROTECT)
            cJSON_AddItemToArray(acts, cJSON_CreateString("protect"));
        if (grants[i].actions & POLICY_ACTION_UNPROTECT)
            cJSON_AddItemToArray(acts, cJSON_CreateString("unprotect"));
        cJSON_AddItemToObject(g, "actions", acts);
        cJSON_AddItemToArray(arr, g);
    }
    return arr;
}

/* True when a grant covers (dataset, action). Datasets compare exactly. */
bool policy_grants_allow(const struct policy_grant *grants, size_t n, const char *dataset,
                         enum policy_action action)
{
    for (size_t i = 0; i < n; i++)
        if ((grants[i].actions & (unsigned)action) && strcmp(grants[i].dataset, dataset) == 0)
            return true;
    return false;
}

/* ---- documents ---- */

/* Free a document. */
void policy_doc_free(struct policy_doc *doc)
{
    if (doc == NULL)
        return;
    for (size_t i = 0; i < doc->ngroups; i++) {
        free(doc->groups[i].name);
        free(doc->groups[i].key);
        policy_grants_free(doc->groups[i].grants, doc->groups[i].ngrants);
    }
    free(doc->groups);
    policy_grants_free(doc->defaults, doc->ndefaults);
    for (size_t i = 0; i < doc->nroutes; i++) {
        free(doc->routes[i].method);
        free(doc->routes[i].path_prefix);
        free(doc->routes[i].dataset);
    }
    free(doc->routes);
    free(doc);
}

static enum gh_status policy_parse_groups(const cJSON *arr, struct policy_doc *doc,
                                          struct gh_err *err)
{
    static const char *const members[] = {"name", "grants", "description", NULL};
    size_t cap;
    char at[96], key[POLICY_NAME_MAX + 1];
    enum gh_status st;

    if (arr == NULL)
        return GH_OK;
    if (!cJSON_IsArray(arr))
        return GH_ERR(err, GH_E_INVALID, "access_groups must be an array");
    cap = (size_t)cJSON_GetArraySize(arr);
    if (cap > POLICY_GROUPS_MAX)
        return GH_ERR(err, GH_E_INVALID, "more than %d access groups", POLICY_GROUPS_MAX);
    doc->groups = gh_xcalloc(cap ? cap : 1, sizeof(*doc->groups));
    for (const cJSON *e = arr->child; e != NULL; e = e->next) {
        struct policy_group *g = &doc->groups[doc->ngroups];
        const char *name = NULL;
        char gat[128];
        snprintf(at, sizeof(at), "access_groups[%zu]", doc->ngroups);
        if (!cJSON_IsObject(e))
            return GH_ERR(err, GH_E_INVALID, "%s must be an object", at);
        st = policy_only_members(e, members, at, err);
        if (st == GH_OK)
            st = policy_string_member(e, "name", at, true, &name, err);
        if (st == GH_OK)
            st = policy_name_check(name, at, err);
        if (st || name == NULL)
            return st ? st : GH_ERR(err, GH_E_INVALID, "%s: name is required", at);
        policy_name_key(name, key, sizeof(key));
        if (policy_doc_group_find(doc, name) != NULL)
            return GH_ERR(err, GH_E_INVALID, "%s: access group \"%s\" is declared twice", at, key);
        snprintf(gat, sizeof(gat), "%s.grants", at);
        st = policy_grants_parse(cJSON_GetObjectItemCaseSensitive(e, "grants"), gat, &g->grants,
                                 &g->ngrants, err);
        if (st)
            return st;
        g->name = gh_xstrdup(name);
        g->key = gh_xstrdup(key);
        g->source = POLICY_SOURCE_FILE;
        doc->ngroups++;
    }
    return GH_OK;
}

static enum gh_status policy_parse_routes(const cJSON *arr, struct policy_doc *doc,
                                          struct gh_err *err)
{
    static const char *const members[] = {"method", "path_prefix", "dataset",
                                          "action", "description", NULL};
    size_t cap;
    char at[64];
    enum gh_status st;

    if (arr == NULL)
        return GH_OK;
    if (!cJSON_IsArray(arr))
        return GH_ERR(err, GH_E_INVALID, "routes must be an array");
    cap = (size_t)cJSON_GetArraySize(arr);
    doc->routes = gh_xcalloc(cap ? cap : 1, sizeof(*doc->routes));
    for (const cJSON *e = arr->child; e != NULL; e = e->next) {
        struct policy_route *rt = &doc->routes[doc->nroutes];
        const char *method = NULL, *prefix = NULL, *dataset = NULL, *action = NULL;
        struct gh_err aerr = {0};
        snprintf(at, sizeof(at), "routes[%zu]", doc->nroutes);
        if (!cJSON_IsObject(e))
            return GH_ERR(err, GH_E_INVALID, "%s must be an object", at);
        st = policy_only_members(e, members, at, err);
        if (st == GH_OK)
            st = policy_string_member(e, "method", at, false, &method, err);
        if (st == GH_OK)
            st = policy_string_member(e, "path_prefix", at, true, &prefix, err);
        if (st == GH_OK)
            st = policy_string_member(e, "dataset", at, true, &dataset, err);
        if (st == GH_OK)
            st = policy_string_member(e, "action", at, true, &action, err);
        if (st || prefix == NULL || dataset == NULL || action == NULL)
            return st ? st : GH_ERR(err, GH_E_INVALID, "%s: incomplete route", at);
        if (prefix[0] != '/')
            return GH_ERR(err, GH_E_INVALID, "%s: path_prefix must start with /", at);
        if (policy_action_parse(action, &rt->action, &aerr))
            return GH_ERR(err, GH_E_INVALID, "%s: %s", at, aerr.msg);
        rt->method = method != NULL && strcmp(method, "*") != 0 ? gh_xstrdup(method) : NULL;
        rt->path_prefix = gh_xstrdup(prefix);
        rt->dataset = gh_xstrdup(dataset);
        doc->nroutes++;
    }
    return GH_OK;
}

/* See policy.h. */
enum gh_status policy_doc_parse(const char *text, size_t len, struct policy_doc **out_doc,
                                struct gh_err *err)
{
    static const char *const members[] = {"access_groups", "default_grants", "routes",
                                          "description", NULL};
    struct policy_doc *doc = gh_xcalloc(1, sizeof(*doc));
    cJSON *root = NULL;
    enum gh_status st = GH_OK;
    const cJSON *defs;

    if (len > (size_t)GH_CAP_POLICY) {
        st = GH_ERR(err, GH_E_TOO_LARGE, "policy larger than %ld bytes", GH_CAP_POLICY);
        goto out;
    }
    st = gh_json_parse(text, len, 0, "policy", &root, err);
    if (st)
        goto out;
    if (!cJSON_IsObject(root)) {
        st = GH_ERR(err, GH_E_INVALID, "policy must be a JSON object");
        goto out;
    }
    st = policy_only_members(root, members, "policy", err);
    if (st == GH_OK)
        st = policy_parse_groups(cJSON_GetObjectItemCaseSensitive(root, "access_groups"), doc, err);
    if (st == GH_OK) {
        defs = cJSON_GetObjectItemCaseSensitive(root, "default_grants");
        if (defs != NULL)
            st = policy_grants_parse(defs, "default_grants", &doc->defaults, &doc->ndefaults, err);
    }
    if (st == GH_OK)
        st = policy_parse_routes(cJSON_GetObjectItemCaseSensitive(root, "routes"), doc, err);
out:
    cJSON_Delete(root);
    if (st) {
        policy_doc_free(doc);
        return st;
    }
    *out_doc = doc;
    return GH_OK;
}

/* See policy.h. */
enum gh_status policy_doc_load(const char *path, struct policy_doc **out_doc, struct gh_err *err)
{
    FILE *f = fopen(path, "rb");
    struct gh_buf b;
    char chunk[8192];
    size_t n;
    enum gh_status st = GH_OK;

    if (f == NULL)
        return GH_ERR(err, GH_E_INVALID, "%s: %s", path, strerror(errno));
    gh_buf_init(&b, (size_t)GH_CAP_POLICY);
    while (st == GH_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        st = gh_buf_append(&b, chunk, n, err);
    fclose(f);
    if (st == GH_OK)
        st = policy_doc_parse(gh_buf_str(&b), b.len, out_doc, err);
    gh_buf_free(&b);
    return st;
}

/* The access group whose link key equals name's, or NULL. */
const struct policy_group *policy_doc_group_find(const struct policy_doc *doc, const char *name)
{
    char key[POLICY_NAME_MAX + 1];
    policy_name_key(name, key, sizeof(key));
    for (size_t i = 0; i < doc->ngroups; i++)
        if (doc->groups[i].key != NULL && strcmp(doc->groups[i].key, key) == 0)
            return &doc->groups[i];
    return NULL;
}

/* See policy.h. Methods compare case-sensitively (HTTP methods are case-sensitive). The longest
 * matching prefix wins, so a broad rule listed first cannot hide a more specific one. */
const struct policy_route *policy_doc_route_match(const struct policy_doc *doc, const char *method,
                                                  const char *path)
{
    const struct policy_route *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < doc->nroutes; i++) {
        const struct policy_route *rt = &doc->routes[i];
        size_t n = strlen(rt->path_prefix);
        if (rt->method != NULL && strcmp(rt->method, method) != 0)
            continue;
        if (strncmp(path, rt->path_prefix, n) != 0)
            continue;
        /* whole segments only: "/pay" must not match "/payroll" */
        if (n > 0 && rt->path_prefix[n - 1] != '/' && path[n] != '\0' && path[n] != '/' &&
            path[n] != '?')
            continue;
        if (best == NULL || n > best_len ||
            (n == best_len && best->method == NULL && rt->method != NULL)) {
            best = rt;
            best_len = n;
        }
    }
    return best;
}
