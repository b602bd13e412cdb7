/*
 * admin_int.h - what the admin API's files share (admin.c: auth, access groups, reload;
 * admin_links.c: link states; admin_directory.c: identities and IdP groups). Private to
 * policies/.
 */
#ifndef POLICY_ADMIN_INT_H
#define POLICY_ADMIN_INT_H

#include "core/core.h"
#include "policies/policy.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- IdP groups as links see them (admin_links.c) ---- */
/* One IdP group with its link key and near-match skeleton (all owned by the list). */
struct policy_admin_group_name {
    char *id, *name, *key, *skel;
    bool named; /* an access group's entry names it (link or candidate); see policy_admin_links */
};
struct policy_admin_names {
    struct policy_admin_group_name *v;
    size_t n, cap;
};
/* Every IdP group of the store (zeroed *out first; caller frees with policy_admin_names_free,
 * also after a failure). */
enum gh_status policy_admin_names_load(struct store *s, struct policy_admin_names *out,
                                       struct gh_err *err);
/* Add one IdP group (store_group_name_fn; ctx is the list). */
void policy_admin_names_add(void *ctx, const char *id, const char *display_name);
void policy_admin_names_free(struct policy_admin_names *ns);

/* The state of a link, from the access group's side or (unlinked_idp_group) the IdP group's. */
enum policy_link_state {
    POLICY_LINK_LINKED,      /* pinned to an IdP group that still has the access group's key */
    POLICY_LINK_RENAMED,     /* pinned to an IdP group whose name now has another key */
    POLICY_LINK_AMBIGUOUS,   /* not linked: several IdP groups have its key */
    POLICY_LINK_NEAR_MATCH,  /* not linked: IdP groups with the same skeleton, none with the key */
    POLICY_LINK_UNLINKED_AG, /* not linked, nothing close */
    POLICY_LINK_UNLINKED_IDP /* an IdP group no access group links or names */
};
/* "linked", "renamed", "ambiguous", "near_match", "unlinked_access_group",
 * "unlinked_idp_group" (static storage). */
const char *policy_link_state_name(enum policy_link_state s);

/*
 * The state of one access group's link against the IdP groups ns: key is the access group's
 * link key, name its name (for the skeleton), group_id/group_name its pinned IdP group (NULL:
 * none). Every IdP group other than the pinned one with the same key goes to *amb (its index in
 * ns), every one with the same skeleton but another key to *near; both arrays are caller-sized
 * (ns->n entries each) and their lengths returned in *out_namb / *out_nnear. Pure.
 */
enum policy_link_state policy_admin_link_state(const struct policy_admin_names *ns, const char *key,
                                               const char *name, const char *group_id,
                                               const char *group_name, size_t *amb,
                                               size_t *out_namb, size_t *near, size_t *out_nnear);

/* One access group as the admin API shows it (grants, source, link, state, candidates); marks
 * the IdP groups it names in ns. Caller owns the result. */
cJSON *policy_admin_access_group_json(const struct store_access_group *ag,
                                      struct policy_admin_names *ns);
/* {"id","displayName"} (caller owns). */
cJSON *policy_admin_ref(const char *id, const char *name);

/* ---- paging (admin_directory.c) ---- */
#define POLICY_ADMIN_DEFAULT_COUNT 100 /* a list page without count= */

/* startIndex (1-based, < 1 means 1) and count (0..GH_CAP_SCIM_COUNT, default
 * POLICY_ADMIN_DEFAULT_COUNT) from their query texts (NULL: absent). GH_E_INVALID when one is
 * not an integer. Pure. */
enum gh_status policy_admin_paging_parse(const char *start_text, const char *count_text,
                                         int64_t *out_start, int64_t *out_count,
                                         struct gh_err *err);

#endif
