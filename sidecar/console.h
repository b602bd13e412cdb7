/*
 * console.h - the admin page's read endpoints that combine every module's facts (console.c):
 * GET /admin/v1/status (provisioning, directory, policy, decisions, token validation) and
 * GET /admin/v1/settings (what an administrator copies into Entra ID: the Tenant URL, the SCIM
 * secret's form and how to rotate it, the token rules in use; never a secret). The page's own
 * files are page.h's.
 */
#ifndef GH_CONSOLE_H
#define GH_CONSOLE_H

#include "core/core.h"
#include "policies/policies.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct gh_config;
struct jwks_cache;
struct store;

/* What the two handlers read (their routes' gh_req_ctx). Built by the daemon; every pointer
 * borrowed for the server's life. */
struct gh_console_ctx {
    struct policy_admin_ctx admin; /* must stay first: policy_admin_auth reads the context */
    const struct gh_config *cfg;
    struct jwks_cache *jwks; /* NULL when no token validation is configured */
    const char *tenant;      /* the tenant the SCIM data comes from ("" when unknown) */
    int64_t started;         /* unix time the daemon started */
    /* Sign-in with Entra ID (GATEHOUSE_ADMIN_CLIENT_ID, GATEHOUSE_ADMIN_GROUP; borrowed from the
     * config, NULL when unset) and whether GATEHOUSE_ADMIN_CLIENT_SECRET is set (never its
     * value). */
    const char *signin_client_id;
    const char *signin_group;
    bool signin_client_secret;
    /* The port the listener got (GATEHOUSE_LISTEN may say 0): set once the server listens,
     * read by /settings for the Tenant URL when GATEHOUSE_PUBLIC_URL is unset. */
    _Atomic int port;
};

/* GET /admin/v1/status and GET /admin/v1/settings (behind policy_admin_auth). */
enum gh_status gh_console_handle_status(struct gh_req *r, struct gh_err *err);
enum gh_status gh_console_handle_settings(struct gh_req *r, struct gh_err *err);

/* The SCIM Tenant URL Entra ID is given: base (scheme://host[:port], no trailing '/') +
 * "/scim/v2?aadOptscim062020" (Entra's SCIM 2.0 compliant behaviour flag; docs/entra-scim.md),
 * into out (cap bytes; cut to fit). */
void gh_console_tenant_url(const char *base, char *out, size_t cap);

#endif
