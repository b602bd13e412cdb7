/*
 * devissuer.h - the development token issuer of `gatehouse demo`: NOT FOR PRODUCTION.
 *
 * A minimal OpenID provider on loopback (libmicrohttpd) laid out like Entra ID's v2 endpoint:
 *   GET /<tid>/v2.0/.well-known/openid-configuration   the discovery document
 *   GET /<tid>/discovery/v2.0/keys                     the JWKS (one RSA-2048 key)
 * and an RS256 signer for access tokens with Entra's claims, so a decision can be tried
 * without a tenant. With sign-in configured (gh_devissuer_signin) it also serves
 *   GET|POST /<tid>/oauth2/v2.0/authorize   a page of "Sign in as <upn>" buttons (no passwords);
 *                                           a choice (upn=) issues a one-time code bound to
 *                                           client_id, redirect_uri, nonce and code_challenge
 *   POST /<tid>/oauth2/v2.0/token           code (single use) + PKCE S256 + client id/secret ->
 *                                           an RS256 ID token with the nonce, and an access token
 * so the admin page's sign-in can be tried too. Its "login" is a button: whoever can reach it
 * or read its key file is anyone they like. That is why it binds loopback addresses only, writes
 * its key 0600, says what it is in both documents and logs a warning when it starts.
 *
 * Ownership: every _new/_create/_load/_start result is owned by the caller and freed by its
 * _free/_stop; strings returned by accessors are borrowed from their object. Keys are immutable
 * once made, so a key may be shared by the issuer's thread and signers.
 */
#ifndef GH_DEVISSUER_H
#define GH_DEVISSUER_H

#include "core/core.h"

#include <stdbool.h>

/* Said by the discovery document, the JWKS, the demo's state file and the log. */
#define GH_DEVISSUER_NOTE                                                                          \
    "development issuer of `gatehouse demo`: NOT FOR PRODUCTION (no passwords: its sign-in page "  \
    "signs anyone in as any listed user, and anyone who can read its key file can mint any "       \
    "identity)"
/* The RSA modulus size of the development key. */
#define GH_DEVISSUER_RSA_BITS 2048
/* Longest token lifetime mint accepts, seconds (a day; Entra's are 60-90 minutes). */
#define GH_DEVISSUER_TTL_MAX 86400

/* ---- the signing key ---- */
struct gh_devissuer_key;
/* Generate an RSA key and write it as PEM to path, mode 0600 (an existing file is replaced).
 * The kid is the key's RFC 7638 thumbprint. */
enum gh_status gh_devissuer_key_create(const char *path, struct gh_devissuer_key **out_key,
                                       struct gh_err *err);
/* Read a key written by gh_devissuer_key_create (RSA only). */
enum gh_status gh_devissuer_key_load(const char *path, struct gh_devissuer_key **out_key,
                                     struct gh_err *err);
void gh_devissuer_key_free(struct gh_devissuer_key *k); /* NULL is a no-op */
const char *gh_devissuer_key_kid(const struct gh_devissuer_key *k);

/* ---- tokens ---- */
/* What a minted access token says (strings borrowed for the call). sub and upn are required;
 * oid may be NULL (the token then has none); ttl_s is 1..GH_DEVISSUER_TTL_MAX. */
struct gh_devissuer_claims {
    const char *iss, *aud, *tid; /* the issuer, audience and tenant the daemon was given */
    const char *sub, *upn, *oid;
    long ttl_s;
};
/* An RS256 compact JWS with Entra v2 access-token claims (iat = nbf = now, exp = now + ttl_s,
 * ver, scp, a random uti). *out_token is owned by the caller (free()). */
enum gh_status gh_devissuer_mint(const struct gh_devissuer_key *k,
                                 const struct gh_devissuer_claims *c, char **out_token,
                                 struct gh_err *err);

/* ---- the HTTP endpoint ---- */
struct gh_devissuer;
/* A user the sign-in page offers (strings borrowed for gh_devissuer_start, which copies them). */
struct gh_devissuer_user {
    const char *upn;  /* preferred_username */
    const char *sub;  /* sub and oid */
    const char *name; /* display name */
};
/* The sign-in endpoints' client and users (borrowed for gh_devissuer_start, copied). */
#define GH_DEVISSUER_USERS_MAX 8
struct gh_devissuer_signin {
    const char *client_id;     /* the only client the authorization endpoint serves */
    const char *client_secret; /* required at the token endpoint, or NULL */
    const char *api_audience;  /* aud of the access token the token endpoint also returns */
    const struct gh_devissuer_user *users;
    size_t nusers; /* at most GH_DEVISSUER_USERS_MAX */
};
/* True when host is a numeric loopback address (127.0.0.0/8 or ::1). */
bool gh_devissuer_is_loopback(const char *host);
/* Serve discovery and JWKS for tenant tid (a GUID) on host:port (port 0: a free one), signed
 * with k (borrowed until gh_devissuer_stop), and the sign-in endpoints when signin is not NULL.
 * Refuses (GH_E_INVALID) a host that is not a loopback address. Logs the not-for-production
 * warning. */
enum gh_status gh_devissuer_start(const char *host, int port, const char *tid,
                                  const struct gh_devissuer_key *k,
                                  const struct gh_devissuer_signin *signin,
                                  struct gh_devissuer **out, struct gh_err *err);
void gh_devissuer_stop(struct gh_devissuer *d);                       /* NULL is a no-op */
const char *gh_devissuer_issuer(const struct gh_devissuer *d);        /* http://h:p/<tid>/v2.0 */
const char *gh_devissuer_discovery_url(const struct gh_devissuer *d); /* its discovery URL */

#endif
