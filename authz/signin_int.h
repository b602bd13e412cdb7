/*
 * signin_int.h - private to authz/: the pure pieces of the admin page's sign-in (signin.c) that
 * are unit-tested on their own: PKCE (RFC 7636), base64url, cookies, the return path, the
 * redirect URI and origin, and the administrator rule.
 */
#ifndef AUTHZ_SIGNIN_INT_H
#define AUTHZ_SIGNIN_INT_H

#include "authz/authz.h"
#include "authz/request_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Random values (state, nonce, PKCE verifier, session id, CSRF token, login binding): 32 bytes
 * from RAND_bytes, 43 base64url characters. */
#define AUTHZ_SIGNIN_RAND_BYTES 32
#define AUTHZ_SIGNIN_RAND_LEN   43
/* Longest return path kept (GET /admin/login?return=). */
#define AUTHZ_SIGNIN_RETURN_MAX 256
/* Longest redirect URI / origin built. */
#define AUTHZ_SIGNIN_URL_MAX 512

/* The cookies: the session, and the pending login's binding to the browser that started it. On
 * HTTPS both carry the __Host- prefix (RFC 6265bis §4.1.3.2: Secure, no Domain, Path=/, which
 * the browser enforces); on plain HTTP (loopback) they are scoped to /admin. */
#define AUTHZ_SIGNIN_COOKIE_SESSION "gh_admin_session"
#define AUTHZ_SIGNIN_COOKIE_LOGIN   "gh_admin_login"

/* base64url without padding of n bytes into out (at least 4 * ((n + 2) / 3) + 1 bytes). */
void authz_signin_b64url(const unsigned char *p, size_t n, char *out);
/* RFC 7636 §4.2 S256: BASE64URL(SHA256(ASCII(verifier))) into out (44 bytes with the NUL). */
void authz_pkce_s256(const char *verifier, char out[AUTHZ_SIGNIN_RAND_LEN + 1]);
/* May the sign-in send the browser to path afterwards? Only a same-origin path under /admin/
 * ("/admin/" itself included): no scheme or authority ("//host", "/\\host"), no backslash, no
 * dot segments, no control, space or non-ASCII bytes, at most AUTHZ_SIGNIN_RETURN_MAX bytes. */
bool authz_signin_return_ok(const char *path);
/* Do the cookies get Secure (and the __Host- prefix)? When the listener speaks TLS or the public
 * URL (GATEHOUSE_PUBLIC_URL, may be NULL) is https: a TLS-terminating proxy in front of a plain
 * listener still has browsers on HTTPS. */
bool authz_signin_is_secure(bool tls, const char *public_url);
/* The cookie's name for a secure (HTTPS) or plain origin: "__Host-" + base when secure. Writes
 * into out (cap bytes). */
const char *authz_signin_cookie_name(const char *base, bool secure, char *out, size_t cap);
/* A Set-Cookie value: name=value; Path=/admin (/ when secure); Max-Age=max_age; HttpOnly;
 * SameSite=Lax; Secure when secure. max_age 0 deletes the cookie. */
void authz_signin_set_cookie(char *out, size_t cap, const char *name, const char *value,
                             long max_age, bool secure);
/* Is host (a Host header value: name or address, optional :port, [v6]) a loopback host:
 * localhost, 127.0.0.0/8 or [::1]? */
bool authz_signin_host_loopback(const char *host);
/* The origin the browser sees (scheme://host[:port]): public_url when set, else built from the
 * request's Host -- only for a loopback Host (GH_E_UNAVAILABLE otherwise: set
 * GATEHOUSE_PUBLIC_URL). tls: the listener speaks HTTPS. */
enum gh_status authz_signin_origin(const char *public_url, const char *host, bool tls, char *out,
                                   size_t cap, struct gh_err *err);
/* Is raw (the store's index answer for the signed-in user) an administrator: provisioned,
 * active, not cut off since `since` (its user cut-off is not after it), and reaching the access
 * group whose link key is admin_key through a linked IdP group whose membership cut-off is not
 * after `since`? When not, *out_why says why in words (static storage or raw's arena). */
bool authz_signin_is_admin(const struct authz_raw *raw, const char *admin_key, int64_t since,
                           const char **out_why);
/* Verify an ID token for s: signature, issuer and lifetime as for access tokens, audience the
 * admin app's client id, then its nonce (equal to nonce). GH_OK: *out_claims, which the caller
 * releases (authz_claims_release). GH_E_UNAUTHORIZED with the reason (GH_E_UNAVAILABLE: no key
 * set). Thread-safe. */
enum gh_status authz_signin_id_token_check(struct authz_signin *s, const char *tok, size_t len,
                                           const char *nonce, struct authz_claims **out_claims,
                                           struct gh_err *err);

#endif
