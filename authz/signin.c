/*
 * signin.c - the admin page's sign-in with Entra ID (see authz.h): OpenID Connect authorization
 * code flow with PKCE (RFC 7636 S256), server-side sessions, CSRF.
 *
 *   GET /admin/login     a pending login (state, nonce, PKCE verifier, a browser binding; all
 *                        from RAND_bytes) in a bounded table for 10 minutes, the binding in a
 *                        short-lived HttpOnly cookie, and a 302 to authorization_endpoint
 *   GET /admin/callback  the pending login by state, taken out (single use) and checked against
 *                        the cookie (a login cannot be planted in another browser); the code is
 *                        exchanged at token_endpoint (jwks_post_form: capped, timed out, TLS
 *                        verified) with the verifier; the ID token goes through the access-token
 *                        validator with the admin app's audience, then its nonce; the user
 *                        through the decisions' identity claims to a provisioned user who must
 *                        be an administrator (authz_signin_is_admin); then a session
 *   admin requests       the cookie's id -> SHA-256 -> the session table; the admin rule again on
 *                        every request (removal in Entra revokes at the next one); unsafe methods
 *                        need X-CSRF-Token and a same-origin Origin when one is sent
 *
 * Nothing secret is logged or kept in clear: session ids only as SHA-256, codes and verifiers
 * only in memory for the exchange and wiped after, the client secret only in the token request.
 * The tables are small arrays under one mutex; no I/O is done while it is held.
 */
#include "authz/authz.h"
#include "authz/request_int.h"
#include "authz/signin_int.h"
#include "core/core.h"
#include "jwks/jwks.h"
#include "policies/policies.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Pending logins kept at once; the oldest is dropped for a new one when full (a flood of
 * /admin/login can only make other pending logins start again). */
#define AUTHZ_SIGNIN_PENDING_MAX 256
/* How long a pending login waits for its callback, seconds. */
#define AUTHZ_SIGNIN_PENDING_TTL 600
/* Sessions kept at once; the oldest is ended for a new one when full. */
#define AUTHZ_SIGNIN_SESSIONS_MAX 1024
/* Largest token endpoint reply read. */
#define AUTHZ_SIGNIN_TOKEN_REPLY_MAX ((size_t)64 * 1024)
/* How long the provider's endpoints are reused before discovery is read again, seconds. */
#define AUTHZ_SIGNIN_ENDPOINTS_TTL 3600
/* Longest name shown on a page or kept in a session. */
#define AUTHZ_SIGNIN_NAME_MAX    256
#define AUTHZ_SIGNIN_HEADER_CSRF "X-CSRF-Token"

struct authz_signin_pending {
    bool used;
    int64_t created;
    char state[AUTHZ_SIGNIN_RAND_LEN + 1];
    unsigned char binding[SHA256_DIGEST_LENGTH]; /* SHA-256 of the browser cookie's value */
    char nonce[AUTHZ_SIGNIN_RAND_LEN + 1];
    char verifier[AUTHZ_SIGNIN_RAND_LEN + 1];
    char redirect_uri[AUTHZ_SIGNIN_URL_MAX];
    char origin[AUTHZ_SIGNIN_URL_MAX];
    char ret[AUTHZ_SIGNIN_RETURN_MAX + 1];
};

struct authz_signin_session {
    bool used;
    unsigned char id_hash[SHA256_DIGEST_LENGTH];
    char csrf[AUTHZ_SIGNIN_RAND_LEN + 1];
    char user_id[STORE_ID_LEN + 1];
    char user_name[AUTHZ_SIGNIN_NAME_MAX + 1];
    char display_name[AUTHZ_SIGNIN_NAME_MAX + 1];
    char origin[AUTHZ_SIGNIN_URL_MAX];
    int64_t created, expires;
};

/* What a request's session check keeps for the handlers (gh_req_auth; malloc'd). */
struct authz_signin_view {
    char user_id[STORE_ID_LEN + 1];
    char user_name[AUTHZ_SIGNIN_NAME_MAX + 1];
    char display_name[AUTHZ_SIGNIN_NAME_MAX + 1];
    char csrf[AUTHZ_SIGNIN_RAND_LEN + 1];
    unsigned char id_hash[SHA256_DIGEST_LENGTH];
    int64_t expires;
};

struct authz_signin {
    const struct authz_signin_opts *opts;
    const struct authz_ctx *authz;
    struct authz_verifier_opts vopts; /* the ID token's rules (borrowed by verifier) */
    char *aud_items[2];               /* vopts.audiences: the client id */
    struct authz_verifier *verifier;
    char admin_key[POLICY_NAME_MAX + 1];
    pthread_mutex_t mu;
    struct authz_signin_pending pending[AUTHZ_SIGNIN_PENDING_MAX];
    struct authz_signin_session sessions[AUTHZ_SIGNIN_SESSIONS_MAX];
    char *authorization_endpoint, *token_endpoint; /* under mu; copied out */
    int64_t endpoints_at;
};

static int64_t authz_signin_now(void)
{
    return (int64_t)time(NULL);
}

/* ---- pure pieces (signin_int.h) ---- */

/* See signin_int.h. */
void authz_signin_b64url(const unsigned char *p, size_t n, char *out)
{
    int w = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    size_t len = w > 0 ? (size_t)w : 0;

    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
}

/* See signin_int.h. */
void authz_pkce_s256(const char *verifier, char out[AUTHZ_SIGNIN_RAND_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char b[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1]; /* EVP_EncodeBlock's padded form */

    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    authz_signin_b64url(md, sizeof(md), b);
    memcpy(out, b, AUTHZ_SIGNIN_RAND_LEN + 1);
}

/* A fresh random value as 43 base64url characters; false when OpenSSL has no randomness. */
static bool authz_signin_random(char out[AUTHZ_SIGNIN_RAND_LEN + 1])
{
    unsigned char b[AUTHZ_SIGNIN_RAND_BYTES];
    char t[4 * ((AUTHZ_SIGNIN_RAND_BYTES + 2) / 3) + 1]; /* EVP_EncodeBlock's padded form */

    if (RAND_bytes(b, (int)sizeof(b)) != 1)
        return false;
    authz_signin_b64url(b, sizeof(b), t);
    memcpy(out, t, AUTHZ_SIGNIN_RAND_LEN + 1);
    OPENSSL_cleanse(b, sizeof(b));
    OPENSSL_cleanse(t, sizeof(t));
    return true;
}

static void authz_signin_hash(const char *s, unsigned char out[SHA256_DIGEST_LENGTH])
{
    SHA256((const unsigned char *)s, strlen(s), out);
}

/* Constant-time equality of two NUL-terminated strings (their lengths are not secret). */
static bool authz_signin_streq(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* See signin_int.h. */
bool authz_signin_return_ok(const char *path)
{
    size_t n;

    if (path == NULL)
        return false;
    n = strlen(path);
    if (n > AUTHZ_SIGNIN_RETURN_MAX || strncmp(path, "/admin/", 7) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\')
            return false;
    }
    /* "//" would make the path an authority for some parsers; dot segments (also as %2e,
     * which browsers resolve) leave /admin/: no '%' at all, the page's paths need none */
    if (strchr(path, '%') != NULL || strstr(path, "//") != NULL || strstr(path, "/./") != NULL ||
        strstr(path, "/../") != NULL || strcmp(path + n - 2, "/.") == 0 ||
        strcmp(path + n - 3, "/..") == 0)
        return false;
    return true;
}

/* See signin_int.h. */
const char *authz_signin_cookie_name(const char *base, bool secure, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", secure ? "__Host-" : "", base);
    return out;
}

/* See signin_int.h. */
void authz_signin_set_cookie(char *out, size_t cap, const char *name, const char *value,
                             long max_age, bool secure)
{
    snprintf(out, cap, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name, value,
             secure ? "/" : "/admin", max_age, secure ? "; Secure" : "");
}

/* See signin_int.h. Names are compared as written: "localhost" is the name browsers and Entra
 * treat as loopback; any other name could resolve anywhere. */
bool authz_signin_host_loopback(const char *host)
{
    char h[64];
    size_t n;

    if (host == NULL)
        return false;
    if (host[0] == '[') {
        const char *rb = strchr(host, ']');
        if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
            return false;
        return (size_t)(rb - host) == 4 && strncmp(host, "[::1", 4) == 0 &&
               strspn(rb + 1 + (rb[1] == ':'), "0123456789") == strlen(rb + 1 + (rb[1] == ':'));
    }
    n = strcspn(host, ":");
    if (n == 0 || n >= sizeof(h))
        return false;
    if (host[n] == ':' && strspn(host + n + 1, "0123456789") != strlen(host + n + 1))
        return false;
    memcpy(h, host, n);
    h[n] = '\0';
    if (strcasecmp(h, "localhost") == 0)
        return true;
    if (strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n) {
        int dots = 0;
        for (size_t i = 0; i < n; i++)
            dots += h[i] == '.';
        return dots == 3;
    }
    return false;
}

/* See signin_int.h. */
enum gh_status authz_signin_origin(const char *public_url, const char *host, bool tls, char *out,
                                   size_t cap, struct gh_err *err)
{
    int w;

    if (public_url != NULL && public_url[0] != '\0')
        w = snprintf(out, cap, "%s", public_url);
    else if (authz_signin_host_loopback(host))
        w = snprintf(out, cap, "%s://%s", tls ? "https" : "http", host);
    else
        return GH_ERR(err, GH_E_UNAVAILABLE,
                      "sign-in from a non-loopback address needs GATEHOUSE_PUBLIC_URL (the "
                      "redirect URI registered in Entra is built from it)"),
               GH_E_UNAVAILABLE;
    if (w < 0 || (size_t)w >= cap)
        return GH_ERR(err, GH_E_INVALID, "origin too long"), GH_E_INVALID;
    /* GATEHOUSE_PUBLIC_URL is an origin (config.c refuses a path); a trailing slash is not */
    if (w > 0 && out[w - 1] == '/')
        out[w - 1] = '\0';
    return GH_OK;
}

/* See signin_int.h. */
bool authz_signin_is_admin(const struct authz_raw *raw, const char *admin_key, int64_t since,
                           const char **out_why)
{
    if (!raw->found) {
        *out_why = raw->why != NULL ? raw->why : "no provisioned user matches";
        return false;
    }
    if (!raw->active) {
        *out_why = "the user is deactivated (active=false)";
        return false;
    }
    if (raw->not_before > since) {
        *out_why = "the user was deactivated or replaced since this session began";
        return false;
    }
    for (size_t i = 0; i < raw->nm; i++)
        if (strcmp(raw->m[i].key, admin_key) == 0 && raw->m[i].not_before <= since) {
            *out_why = NULL;
            return true;
        }
    *out_why = "not a member of the admin access group";
    return false;
}

/* The directory is current enough to say who is an administrator: the decisions' rule
 * (GATEHOUSE_MAX_STALENESS), so a removed administrator keeps no session while the store is
 * unreachable. */
static bool authz_signin_directory_fresh(const struct authz_signin *s)
{
    int64_t age = store_index_age(s->authz->store);
    return age != INT64_MAX && age <= s->authz->max_staleness_ms;
}

/* ---- the object ---- */

/* See authz.h. */
enum gh_status authz_signin_new(const struct authz_signin_opts *opts,
                                const struct authz_verifier_opts *vopts, struct jwks_cache *jwks,
                                const struct authz_ctx *authz, struct authz_signin **out,
                                struct gh_err *err)
{
    struct authz_signin *s;
    enum gh_status st;

    if (opts->client_id == NULL || opts->admin_group == NULL || opts->discovery_url == NULL)
        return GH_ERR(err, GH_E_INVALID,
                      "sign-in needs GATEHOUSE_ADMIN_CLIENT_ID, GATEHOUSE_ADMIN_GROUP and "
                      "GATEHOUSE_OIDC_DISCOVERY"),
               GH_E_INVALID;
    s = gh_xcalloc(1, sizeof(*s));
    s->opts = opts;
    s->authz = authz;
    s->vopts = *vopts;
    s->aud_items[0] = (char *)opts->client_id;
    s->vopts.audiences = (struct gh_list){s->aud_items, 1};
    /* an ID token has no scp or roles: the admin rule is the access group */
    s->vopts.required_scopes = (struct gh_list){NULL, 0};
    s->vopts.required_roles = (struct gh_list){NULL, 0};
    s->vopts.token_cache_size = 0;
    policy_name_key(opts->admin_group, s->admin_key, sizeof(s->admin_key));
    pthread_mutex_init(&s->mu, NULL);
    st = authz_verifier_new(&s->vopts, jwks, &s->verifier, err);
    if (st) {
        authz_signin_free(s);
        return st;
    }
    *out = s;
    return GH_OK;
}

/* See authz.h. */
void authz_signin_free(struct authz_signin *s)
{
    if (s == NULL)
        return;
    authz_verifier_free(s->verifier);
    free(s->authorization_endpoint);
    free(s->token_endpoint);
    pthread_mutex_destroy(&s->mu);
    OPENSSL_cleanse(s->pending, sizeof(s->pending));
    OPENSSL_cleanse(s->sessions, sizeof(s->sessions));
    free(s);
}

static void authz_signin_fetch_opts(const struct authz_signin *s, size_t cap,
                                    struct jwks_fetch_opts *o)
{
    *o = (struct jwks_fetch_opts){s->opts->http_timeout_s, s->opts->ca_file,
                                  s->opts->allow_insecure_http, cap};
}

/* The provider's authorization and token endpoints (copies in a), from discovery read at most
 * once an hour (and again after a failure). */
static enum gh_status authz_signin_endpoints(struct authz_signin *s, struct gh_arena *a,
                                             const char **out_auth, const char **out_token,
                                             struct gh_err *err)
{
    struct jwks_fetch_opts o;
    struct gh_buf body;
    char *ae = NULL, *te = NULL;
    long age;
    int64_t now = authz_signin_now();
    enum gh_status st;

    pthread_mutex_lock(&s->mu);
    if (s->authorization_endpoint != NULL && now - s->endpoints_at < AUTHZ_SIGNIN_ENDPOINTS_TTL) {
        *out_auth = gh_arena_strdup(a, s->authorization_endpoint);
        *out_token = gh_arena_strdup(a, s->token_endpoint);
        pthread_mutex_unlock(&s->mu);
        return GH_OK;
    }
    pthread_mutex_unlock(&s->mu);
    authz_signin_fetch_opts(s, (size_t)GH_CAP_DISCOVERY, &o);
    st = jwks_fetch(s->opts->discovery_url, &o, &body, &age, err);
    if (st)
        return st;
    st = jwks_discovery_endpoints(body.data, body.len, &ae, &te, err);
    gh_buf_free(&body);
    if (st)
        return st;
    *out_auth = gh_arena_strdup(a, ae);
    *out_token = gh_arena_strdup(a, te);
    pthread_mutex_lock(&s->mu);
    free(s->authorization_endpoint);
    free(s->token_endpoint);
    s->authorization_endpoint = ae;
    s->token_endpoint = te;
    s->endpoints_at = now;
    pthread_mutex_unlock(&s->mu);
    return GH_OK;
}

/* ---- replies ---- */

static void authz_signin_html_escape(struct gh_buf *b, enum gh_status *st, const char *s)
{
    for (; *s != '\0' && *st == GH_OK; s++) {
        switch (*s) {
        case '<':
            gh_buf_cat(b, st, "&lt;");
            break;
        case '>':
            gh_buf_cat(b, st, "&gt;");
            break;
        case '&':
            gh_buf_cat(b, st, "&amp;");
            break;
        case '"':
            gh_buf_cat(b, st, "&quot;");
            break;
        case '\'':
            gh_buf_cat(b, st, "&#39;");
            break;
        default:
            *st = gh_buf_append(b, s, 1, NULL);
        }
    }
}

/* A refused sign-in as a small HTML page (no script, nothing loaded). */
static enum gh_status authz_signin_page(struct gh_req *r, unsigned status, const char *title,
                                        const char *msg)
{
    struct gh_buf b;
    enum gh_status st = GH_OK;
    char *text;
    size_t len;

    gh_buf_init(&b, (size_t)16 * 1024);
    gh_buf_cat(&b, &st,
               "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>gatehouse admin: ");
    authz_signin_html_escape(&b, &st, title);
    gh_buf_cat(&b, &st, "</title></head>\n<body>\n<h1>");
    authz_signin_html_escape(&b, &st, title);
    gh_buf_cat(&b, &st, "</h1>\n<p id=\"signin-error\">");
    authz_signin_html_escape(&b, &st, msg);
    gh_buf_cat(&b, &st,
               "</p>\n<p><a href=\"/admin/login\">Sign in again</a> &middot; "
               "<a href=\"/admin/\">Admin page</a></p>\n</body></html>\n");
    text = gh_buf_steal(&b, &len);
    gh_reply_header(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    gh_reply_take(r, status, "text/html; charset=utf-8", text, len);
    return GH_OK;
}

/* {"error":code,"message":msg} with status. */
static void authz_signin_json_error(struct gh_req *r, unsigned status, const char *code,
                                    const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", code);
    cJSON_AddStringToObject(j, "message", msg);
    gh_reply_json(r, status, j);
}

/* See authz.h. */
void authz_signin_render_error(struct gh_req *r, const struct gh_err *err)
{
    if (gh_req_replied(r))
        return;
    gh_reply_error(r, err);
}

/* See signin_int.h. */
bool authz_signin_is_secure(bool tls, const char *public_url)
{
    return tls || (public_url != NULL && strncasecmp(public_url, "https://", 8) == 0);
}

static bool authz_signin_secure(const struct authz_signin *s)
{
    return authz_signin_is_secure(s->opts->tls, s->opts->public_url);
}

/* ---- GET /admin/login ---- */

/* Take a free pending slot (or the oldest); under mu. */
static struct authz_signin_pending *authz_signin_pending_slot(struct authz_signin *s, int64_t now)
{
    struct authz_signin_pending *oldest = &s->pending[0];
    for (size_t i = 0; i < AUTHZ_SIGNIN_PENDING_MAX; i++) {
        struct authz_signin_pending *p = &s->pending[i];
        if (!p->used || now - p->created > AUTHZ_SIGNIN_PENDING_TTL)
            return p;
        if (p->created < oldest->created)
            oldest = p;
    }
    return oldest;
}

/* See authz.h. */
enum gh_status authz_signin_handle_login(struct gh_req *r, struct gh_err *err)
{
    struct authz_signin *s = gh_req_ctx(r);
    struct gh_arena *a = gh_req_arena(r);
    struct authz_signin_pending p = {0}, *slot;
    const char *ret = gh_req_query(r, "return"), *auth_ep, *token_ep;
    char binding[AUTHZ_SIGNIN_RAND_LEN + 1], challenge[AUTHZ_SIGNIN_RAND_LEN + 1];
    char name[64], cookie[256];
    struct gh_buf loc;
    enum gh_status st = GH_OK;
    char *url;
    size_t len;

    if (s == NULL)
        return GH_ERR(err, GH_E_NOT_FOUND,
                      "sign-in is not configured (GATEHOUSE_ADMIN_CLIENT_ID, "
                      "GATEHOUSE_ADMIN_GROUP); use the admin token"),
               GH_E_NOT_FOUND;
    if (ret != NULL && !authz_signin_return_ok(ret))
        return GH_ERR(err, GH_E_INVALID, "return must be a path under /admin/ on this site"),
               GH_E_INVALID;
    st = authz_signin_origin(s->opts->public_url, gh_req_header(r, "Host"), s->opts->tls, p.origin,
                             sizeof(p.origin), err);
    if (st)
        return st;
    snprintf(p.redirect_uri, sizeof(p.redirect_uri), "%.480s/admin/callback", p.origin);
    snprintf(p.ret, sizeof(p.ret), "%s", ret != NULL ? ret : "/admin/");
    st = authz_signin_endpoints(s, a, &auth_ep, &token_ep, err);
    if (st)
        return st;
    if (!authz_signin_random(p.state) || !authz_signin_random(p.nonce) ||
        !authz_signin_random(p.verifier) || !authz_signin_random(binding))
        return GH_ERR(err, GH_E_INTERNAL, "no random bytes for the sign-in"), GH_E_INTERNAL;
    authz_signin_hash(binding, p.binding);
    authz_pkce_s256(p.verifier, challenge);
    p.used = true;
    p.created = authz_signin_now();

    gh_buf_init(&loc, (size_t)8 * 1024);
    gh_buf_cat(&loc, &st, auth_ep);
    gh_buf_cat(&loc, &st, strchr(auth_ep, '?') != NULL ? "&" : "?");
    gh_buf_cat(&loc, &st, "response_type=code&response_mode=query&client_id=");
    gh_http_url_encode(&loc, &st, s->opts->client_id);
    gh_buf_cat(&loc, &st, "&redirect_uri=");
    gh_http_url_encode(&loc, &st, p.redirect_uri);
    gh_buf_cat(&loc, &st, "&scope=openid%20profile%20email&state=");
    gh_buf_cat(&loc, &st, p.state);
    gh_buf_cat(&loc, &st, "&nonce=");
    gh_buf_cat(&loc, &st, p.nonce);
    gh_buf_cat(&loc, &st, "&code_challenge=");
    gh_buf_cat(&loc, &st, challenge);
    gh_buf_cat(&loc, &st, "&code_challenge_method=S256");
    if (st) {
        gh_buf_free(&loc);
        return GH_ERR(err, GH_E_INTERNAL, "authorization URL too long"), GH_E_INTERNAL;
    }
    pthread_mutex_lock(&s->mu);
    slot = authz_signin_pending_slot(s, p.created);
    OPENSSL_cleanse(slot, sizeof(*slot));
    *slot = p;
    pthread_mutex_unlock(&s->mu);
    OPENSSL_cleanse(&p, sizeof(p));

    authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_LOGIN, authz_signin_secure(s), name, sizeof(name));
    authz_signin_set_cookie(cookie, sizeof(cookie), name, binding, AUTHZ_SIGNIN_PENDING_TTL,
                            authz_signin_secure(s));
    OPENSSL_cleanse(binding, sizeof(binding));
    gh_reply_header(r, "Set-Cookie", cookie);
    OPENSSL_cleanse(cookie, sizeof(cookie));
    url = gh_buf_steal(&loc, &len);
    gh_reply_header(r, "Location", url);
    free(url);
    gh_reply(r, 302, "text/plain; charset=utf-8", "Redirecting to sign in.\n",
             strlen("Redirecting to sign in.\n"));
    return GH_OK;
}

/* ---- GET /admin/callback ---- */

/* Take the pending login with this state out of the table (single use) into *out. */
static bool authz_signin_pending_take(struct authz_signin *s, const char *state,
                                      struct authz_signin_pending *out)
{
    bool found = false;

    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < AUTHZ_SIGNIN_PENDING_MAX && !found; i++) {
        struct authz_signin_pending *p = &s->pending[i];
        if (p->used && authz_signin_streq(p->state, state)) {
            *out = *p;
            OPENSSL_cleanse(p, sizeof(*p));
            found = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Exchange the code at the token endpoint; *out_id_token (malloc'd) on GH_OK. A refusal by
 * the provider is GH_E_UNAUTHORIZED naming its error code (never the code or verifier). */
static enum gh_status authz_signin_exchange(struct authz_signin *s, const char *token_ep,
                                            const char *code, const struct authz_signin_pending *p,
                                            char **out_id_token, struct gh_err *err)
{
    struct jwks_fetch_opts o;
    struct gh_buf form, body;
    enum gh_status st = GH_OK;
    long status = 0;
    cJSON *j = NULL;
    const cJSON *idt, *e, *d;

    *out_id_token = NULL;
    gh_buf_init(&form, (size_t)16 * 1024);
    gh_buf_cat(&form, &st, "grant_type=authorization_code&code=");
    gh_http_url_encode(&form, &st, code);
    gh_buf_cat(&form, &st, "&redirect_uri=");
    gh_http_url_encode(&form, &st, p->redirect_uri);
    gh_buf_cat(&form, &st, "&client_id=");
    gh_http_url_encode(&form, &st, s->opts->client_id);
    gh_buf_cat(&form, &st, "&code_verifier=");
    gh_buf_cat(&form, &st, p->verifier);
    if (s->opts->client_secret != NULL) {
        gh_buf_cat(&form, &st, "&client_secret=");
        gh_http_url_encode(&form, &st, s->opts->client_secret);
    }
    if (st) {
        OPENSSL_cleanse(form.data, form.alloc);
        gh_buf_free(&form);
        return GH_ERR(err, GH_E_INVALID, "the authorization code is too long"), GH_E_INVALID;
    }
    authz_signin_fetch_opts(s, AUTHZ_SIGNIN_TOKEN_REPLY_MAX, &o);
    st = jwks_post_form(token_ep, &o, gh_buf_str(&form), &body, &status, err);
    OPENSSL_cleanse(form.data, form.alloc);
    gh_buf_free(&form);
    if (st)
        return st;
    j = cJSON_ParseWithLength(body.data != NULL ? body.data : "", body.len);
    idt = cJSON_GetObjectItemCaseSensitive(j, "id_token");
    if (status == 200 && cJSON_IsString(idt) && idt->valuestring[0] != '\0') {
        *out_id_token = gh_xstrdup(idt->valuestring);
    } else {
        e = cJSON_GetObjectItemCaseSensitive(j, "error");
        d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
        st = status >= 400 && status < 500 ? GH_E_UNAUTHORIZED : GH_E_UPSTREAM;
        GH_ERR(err, st, "the identity provider's token endpoint answered %ld%s%.64s%s%.120s",
               status, cJSON_IsString(e) ? ": " : " without an ID token",
               cJSON_IsString(e) ? e->valuestring : "", cJSON_IsString(d) ? ": " : "",
               cJSON_IsString(d) ? d->valuestring : "");
    }
    cJSON_Delete(j);
    if (body.data != NULL)
        OPENSSL_cleanse(body.data, body.len);
    gh_buf_free(&body);
    return st;
}

/* See signin_int.h. */
enum gh_status authz_signin_id_token_check(struct authz_signin *s, const char *tok, size_t len,
                                           const char *nonce, struct authz_claims **out_claims,
                                           struct gh_err *err)
{
    struct authz_claims *c = NULL;
    struct gh_err e = {0};
    const char *got;
    enum gh_status st = authz_token_verify(s->verifier, tok, len, &c, &e);

    *out_claims = NULL;
    if (st)
        return GH_ERR(err, st == GH_E_UNAVAILABLE ? st : GH_E_UNAUTHORIZED,
                      "the ID token was refused: %s", e.msg),
               st == GH_E_UNAVAILABLE ? st : GH_E_UNAUTHORIZED;
    /* OpenID Connect Core §3.1.3.7 (11): the nonce this sign-in sent, or a replayed token */
    got = authz_claims_str(c, "nonce");
    if (got == NULL || !authz_signin_streq(got, nonce)) {
        authz_claims_release(c);
        return GH_ERR(err, GH_E_UNAUTHORIZED,
                      "the ID token's nonce is not the one this sign-in sent"),
               GH_E_UNAUTHORIZED;
    }
    *out_claims = c;
    return GH_OK;
}

/* A new session for the user; its id and CSRF token into id_out / csrf_out. */
static enum gh_status authz_signin_session_new(struct authz_signin *s, const struct authz_raw *raw,
                                               const char *display, const char *origin,
                                               char id_out[AUTHZ_SIGNIN_RAND_LEN + 1],
                                               struct gh_err *err)
{
    struct authz_signin_session n = {0}, *slot = NULL;
    int64_t now = authz_signin_now();

    if (!authz_signin_random(id_out) || !authz_signin_random(n.csrf))
        return GH_ERR(err, GH_E_INTERNAL, "no random bytes for the session"), GH_E_INTERNAL;
    n.used = true;
    authz_signin_hash(id_out, n.id_hash);
    snprintf(n.user_id, sizeof(n.user_id), "%s", raw->id);
    snprintf(n.user_name, sizeof(n.user_name), "%s", raw->user_name);
    snprintf(n.display_name, sizeof(n.display_name), "%s", display);
    snprintf(n.origin, sizeof(n.origin), "%s", origin);
    n.created = now;
    n.expires = now + s->opts->session_ttl_s;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < AUTHZ_SIGNIN_SESSIONS_MAX; i++) {
        struct authz_signin_session *x = &s->sessions[i];
        if (!x->used || x->expires <= now) {
            slot = x;
            break;
        }
        if (slot == NULL || x->created < slot->created)
            slot = x;
    }
    OPENSSL_cleanse(slot, sizeof(*slot));
    *slot = n;
    pthread_mutex_unlock(&s->mu);
    OPENSSL_cleanse(&n, sizeof(n));
    return GH_OK;
}

/* The part of the callback after the pending login was found: exchange, ID token, admin rule,
 * session. Answers every outcome itself. */
static enum gh_status authz_signin_complete(struct gh_req *r, struct authz_signin *s,
                                            const struct authz_signin_pending *p, const char *code)
{
    struct gh_arena *a = gh_req_arena(r);
    struct gh_err e = {0};
    struct authz_claims *claims = NULL;
    struct authz_raw raw;
    const char *auth_ep, *token_ep, *who, *why, *display;
    char *id_token = NULL, sid[AUTHZ_SIGNIN_RAND_LEN + 1], name[64], cookie[256];
    int64_t rev;
    enum gh_status st;
    char q[300];

    st = authz_signin_endpoints(s, a, &auth_ep, &token_ep, &e);
    if (st == GH_OK)
        st = authz_signin_exchange(s, token_ep, code, p, &id_token, &e);
    if (st)
        return authz_signin_page(r, st == GH_E_UNAUTHORIZED ? 401 : 502, "Sign-in failed", e.msg);
    st = authz_signin_id_token_check(s, id_token, strlen(id_token), p->nonce, &claims, &e);
    OPENSSL_cleanse(id_token, strlen(id_token));
    free(id_token);
    if (st)
        return authz_signin_page(r, 401, "Sign-in failed", e.msg);
    who = authz_claims_str(claims, "preferred_username");
    if (who == NULL)
        who = authz_claims_str(claims, "upn");
    if (who == NULL)
        who = authz_claims_str(claims, "oid");
    who = gh_arena_printf(a, "%.*s", AUTHZ_SIGNIN_NAME_MAX, who != NULL ? who : "(unnamed)");
    display = authz_claims_str(claims, "name");
    display = display != NULL ? gh_arena_printf(a, "%.*s", AUTHZ_SIGNIN_NAME_MAX, display) : NULL;
    if (!authz_signin_directory_fresh(s)) {
        authz_claims_release(claims);
        return authz_signin_page(r, 503, "Sign-in failed",
                                 "the directory data is stale (the store has been unreachable "
                                 "longer than GATEHOUSE_MAX_STALENESS): administrators cannot be "
                                 "told apart now; try again later or use the admin token");
    }
    st = authz_raw_load(s->authz, claims, a, &raw, &rev, &e);
    authz_claims_release(claims);
    if (st)
        return authz_signin_page(r, 503, "Sign-in failed",
                                 gh_arena_printf(a, "the directory could not be read: %s", e.msg));
    if (!authz_signin_is_admin(&raw, s->admin_key, authz_signin_now(), &why)) {
        gh_log(GH_LOG_INFO, "admin", "\"admin sign-in refused\" user=%s reason=%s",
               gh_log_q(name, sizeof(name), who), gh_log_q(q, sizeof(q), why));
        return authz_signin_page(
            r, 403, "Not an administrator",
            gh_arena_printf(a,
                            "Signed in as %s, but %s is not a gatehouse administrator: %s "
                            "(administrators are the active members of the access group \"%s\", "
                            "through its linked IdP group).",
                            who, who, why, s->opts->admin_group));
    }
    st = authz_signin_session_new(s, &raw, display != NULL ? display : raw.user_name, p->origin,
                                  sid, &e);
    if (st)
        return authz_signin_page(r, 500, "Sign-in failed", e.msg);
    gh_log(GH_LOG_INFO, "admin", "\"admin signed in\" user=%s",
           gh_log_q(q, sizeof(q), raw.user_name));
    authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_SESSION, authz_signin_secure(s), name,
                             sizeof(name));
    authz_signin_set_cookie(cookie, sizeof(cookie), name, sid, s->opts->session_ttl_s,
                            authz_signin_secure(s));
    OPENSSL_cleanse(sid, sizeof(sid));
    gh_reply_header(r, "Set-Cookie", cookie);
    OPENSSL_cleanse(cookie, sizeof(cookie));
    authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_LOGIN, authz_signin_secure(s), name, sizeof(name));
    authz_signin_set_cookie(cookie, sizeof(cookie), name, "", 0, authz_signin_secure(s));
    gh_reply_header(r, "Set-Cookie", cookie);
    gh_reply_header(r, "Location", p->ret);
    gh_reply(r, 302, "text/plain; charset=utf-8", "Signed in.\n", strlen("Signed in.\n"));
    return GH_OK;
}

/* See authz.h. */
enum gh_status authz_signin_handle_callback(struct gh_req *r, struct gh_err *err)
{
    struct authz_signin *s = gh_req_ctx(r);
    struct gh_arena *a = gh_req_arena(r);
    const char *state = gh_req_query(r, "state"), *code = gh_req_query(r, "code");
    const char *idp_err = gh_req_query(r, "error"), *binding;
    struct authz_signin_pending p;
    unsigned char h[SHA256_DIGEST_LENGTH];
    char name[64];
    enum gh_status st;

    if (s == NULL)
        return GH_ERR(err, GH_E_NOT_FOUND, "sign-in is not configured"), GH_E_NOT_FOUND;
    if (state == NULL || state[0] == '\0' || strlen(state) > AUTHZ_SIGNIN_RAND_LEN)
        return authz_signin_page(r, 400, "Sign-in failed",
                                 "the reply carries no state of a sign-in started here");
    if (!authz_signin_pending_take(s, state, &p))
        return authz_signin_page(r, 400, "Sign-in failed",
                                 "this sign-in is unknown, was already used or has expired; "
                                 "start again");
    authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_LOGIN, authz_signin_secure(s), name, sizeof(name));
    binding = gh_req_cookie(r, name);
    if (binding != NULL)
        authz_signin_hash(binding, h);
    if (binding == NULL || CRYPTO_memcmp(h, p.binding, sizeof(h)) != 0) {
        OPENSSL_cleanse(&p, sizeof(p));
        return authz_signin_page(r, 400, "Sign-in failed",
                                 "this sign-in was not started in this browser (its cookie is "
                                 "missing or another one's)");
    }
    if (authz_signin_now() - p.created > AUTHZ_SIGNIN_PENDING_TTL) {
        OPENSSL_cleanse(&p, sizeof(p));
        return authz_signin_page(r, 400, "Sign-in failed", "this sign-in has expired; start again");
    }
    if (idp_err != NULL) {
        const char *d = gh_req_query(r, "error_description");
        OPENSSL_cleanse(&p, sizeof(p));
        return authz_signin_page(r, 401, "Sign-in failed",
                                 gh_arena_printf(a, "the identity provider answered %.64s%s%.300s",
                                                 idp_err, d != NULL ? ": " : "",
                                                 d != NULL ? d : ""));
    }
    if (code == NULL || code[0] == '\0') {
        OPENSSL_cleanse(&p, sizeof(p));
        return authz_signin_page(r, 400, "Sign-in failed", "the reply carries no code");
    }
    st = authz_signin_complete(r, s, &p, code);
    OPENSSL_cleanse(&p, sizeof(p));
    return st;
}

/* ---- sessions on admin requests ---- */

static bool authz_signin_unsafe(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* The session of the request's cookie, copied into *out (expired ones are ended). GH_E_NOT_FOUND
 * without a cookie; GH_E_UNAUTHORIZED for an unknown or expired one. */
static enum gh_status authz_signin_session_find(struct authz_signin *s, struct gh_req *r,
                                                struct authz_signin_session *out)
{
    char name[64];
    const char *sid;
    unsigned char h[SHA256_DIGEST_LENGTH];
    int64_t now = authz_signin_now();
    enum gh_status st = GH_E_UNAUTHORIZED;

    authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_SESSION, authz_signin_secure(s), name,
                             sizeof(name));
    sid = gh_req_cookie(r, name);
    if (sid == NULL || sid[0] == '\0')
        return GH_E_NOT_FOUND;
    authz_signin_hash(sid, h);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < AUTHZ_SIGNIN_SESSIONS_MAX; i++) {
        struct authz_signin_session *x = &s->sessions[i];
        if (!x->used || CRYPTO_memcmp(x->id_hash, h, sizeof(h)) != 0)
            continue;
        if (x->expires <= now) {
            OPENSSL_cleanse(x, sizeof(*x));
        } else {
            *out = *x;
            st = GH_OK;
        }
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

static void authz_signin_session_end(struct authz_signin *s, const unsigned char *id_hash)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < AUTHZ_SIGNIN_SESSIONS_MAX; i++) {
        struct authz_signin_session *x = &s->sessions[i];
        if (x->used && CRYPTO_memcmp(x->id_hash, id_hash, SHA256_DIGEST_LENGTH) == 0)
            OPENSSL_cleanse(x, sizeof(*x));
    }
    pthread_mutex_unlock(&s->mu);
}

/* CSRF for an unsafe method: the session's token in X-CSRF-Token, and a same-origin Origin when
 * the browser sent one. Answers 403 {"error":"csrf"} itself. */
static enum gh_status authz_signin_csrf(struct gh_req *r, const struct authz_signin_session *x,
                                        struct gh_err *err)
{
    const char *tok = gh_req_header(r, AUTHZ_SIGNIN_HEADER_CSRF);
    const char *origin = gh_req_header(r, "Origin");

    if (tok == NULL || !authz_signin_streq(tok, x->csrf)) {
        authz_signin_json_error(r, 403, "csrf",
                                tok == NULL ? "a signed-in change needs the session's "
                                              "X-CSRF-Token header (GET /admin/v1/session)"
                                            : "X-CSRF-Token is not this session's");
        return GH_ERR(err, GH_E_FORBIDDEN, "csrf"), GH_E_FORBIDDEN;
    }
    if (origin != NULL && strcmp(origin, x->origin) != 0) {
        authz_signin_json_error(r, 403, "csrf", "the request's Origin is not this site's");
        return GH_ERR(err, GH_E_FORBIDDEN, "csrf"), GH_E_FORBIDDEN;
    }
    return GH_OK;
}

/* See authz.h. */
enum gh_status authz_signin_session_check(void *ctx, struct gh_req *r, struct gh_err *err)
{
    struct authz_signin *s = ctx;
    struct authz_signin_session x;
    struct authz_signin_view *v;
    struct authz_raw raw;
    struct gh_err e = {0};
    const char *why;
    int64_t rev;
    enum gh_status st = authz_signin_session_find(s, r, &x);

    if (st == GH_E_NOT_FOUND)
        return st;
    if (st) {
        authz_signin_json_error(r, 401, "unauthorized",
                                "the admin session has expired or was signed out: sign in again");
        return GH_ERR(err, GH_E_UNAUTHORIZED, "no such session"), GH_E_UNAUTHORIZED;
    }
    if (!authz_signin_directory_fresh(s)) {
        authz_signin_json_error(r, 503, "unavailable",
                                "the directory data is stale (the store has been unreachable "
                                "longer than GATEHOUSE_MAX_STALENESS): sessions wait; the admin "
                                "token still works");
        OPENSSL_cleanse(&x, sizeof(x));
        return GH_ERR(err, GH_E_UNAVAILABLE, "stale directory"), GH_E_UNAVAILABLE;
    }
    /* removal from the admin group in Entra (SCIM) or deactivation ends the session here */
    st = authz_raw_lookup(s->authz, STORE_KEY_ID, "id", x.user_id, gh_req_arena(r), &raw, &rev, &e);
    if (st == GH_E_NOT_FOUND) {
        memset(&raw, 0, sizeof(raw));
        raw.why = "the user is no longer provisioned";
    } else if (st) {
        authz_signin_json_error(r, 503, "unavailable", e.msg);
        OPENSSL_cleanse(&x, sizeof(x));
        return GH_ERR(err, st, "%s", e.msg), st;
    }
    if (!authz_signin_is_admin(&raw, s->admin_key, x.created, &why)) {
        char q[300], u[300];
        authz_signin_session_end(s, x.id_hash);
        gh_log(GH_LOG_INFO, "admin", "\"admin session ended\" user=%s reason=%s",
               gh_log_q(u, sizeof(u), x.user_name), gh_log_q(q, sizeof(q), why));
        /* 401, like an expired session: the page goes back to its sign-in panel */
        authz_signin_json_error(r, 401, "unauthorized",
                                gh_arena_printf(gh_req_arena(r),
                                                "%s is no longer a gatehouse administrator: %s; "
                                                "the session has ended",
                                                x.user_name, why));
        OPENSSL_cleanse(&x, sizeof(x));
        return GH_ERR(err, GH_E_UNAUTHORIZED, "not an administrator"), GH_E_UNAUTHORIZED;
    }
    if (authz_signin_unsafe(gh_req_method(r))) {
        st = authz_signin_csrf(r, &x, err);
        if (st) {
            OPENSSL_cleanse(&x, sizeof(x));
            return st;
        }
    }
    v = gh_xcalloc(1, sizeof(*v));
    memcpy(v->user_id, x.user_id, sizeof(v->user_id));
    memcpy(v->user_name, x.user_name, sizeof(v->user_name));
    memcpy(v->display_name, x.display_name, sizeof(v->display_name));
    memcpy(v->csrf, x.csrf, sizeof(v->csrf));
    memcpy(v->id_hash, x.id_hash, sizeof(v->id_hash));
    v->expires = x.expires;
    OPENSSL_cleanse(&x, sizeof(x));
    gh_req_auth_set(r, v, free);
    return GH_OK;
}

/* ---- POST /admin/logout ---- */

/* See authz.h. */
enum gh_status authz_signin_logout_auth(struct gh_req *r, struct gh_err *err)
{
    struct authz_signin *s = gh_req_ctx(r);
    struct authz_signin_session x;
    struct authz_signin_view *v;
    enum gh_status st;

    if (s == NULL)
        return GH_ERR(err, GH_E_NOT_FOUND, "sign-in is not configured"), GH_E_NOT_FOUND;
    st = authz_signin_session_find(s, r, &x);
    if (st) {
        authz_signin_json_error(r, 401, "unauthorized", "not signed in (or the session expired)");
        return GH_ERR(err, GH_E_UNAUTHORIZED, "no session"), GH_E_UNAUTHORIZED;
    }
    st = authz_signin_csrf(r, &x, err);
    if (st == GH_OK) {
        v = gh_xcalloc(1, sizeof(*v));
        memcpy(v->id_hash, x.id_hash, sizeof(v->id_hash));
        memcpy(v->user_name, x.user_name, sizeof(v->user_name));
        gh_req_auth_set(r, v, free);
    }
    OPENSSL_cleanse(&x, sizeof(x));
    return st;
}

/* See authz.h. */
enum gh_status authz_signin_handle_logout(struct gh_req *r, struct gh_err *err)
{
    struct authz_signin *s = gh_req_ctx(r);
    const struct authz_signin_view *v = gh_req_auth(r);
    char name[64], cookie[256], q[300];
    cJSON *j;

    if (GH_NEVER(v == NULL || s == NULL))
        return GH_ERR(err, GH_E_UNAUTHORIZED, "not signed in"), GH_E_UNAUTHORIZED;
    authz_signin_session_end(s, v->id_hash);
    gh_log(GH_LOG_INFO, "admin", "\"admin signed out\" user=%s",
           gh_log_q(q, sizeof(q), v->user_name));
    authz_signin_cookie_name(AUTHZ_SIGNIN_COOKIE_SESSION, authz_signin_secure(s), name,
                             sizeof(name));
    authz_signin_set_cookie(cookie, sizeof(cookie), name, "", 0, authz_signin_secure(s));
    gh_reply_header(r, "Set-Cookie", cookie);
    j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "signed_out", true);
    gh_reply_json(r, 200, j);
    return GH_OK;
}

/* ---- GET /admin/v1/session ---- */

/* See authz.h. The route's context is the admin API's; its session hook's ctx is the sign-in. */
enum gh_status authz_signin_handle_session(struct gh_req *r, struct gh_err *err)
{
    const struct policy_admin_ctx *px = gh_req_ctx(r);
    const struct authz_signin *s = px->session != NULL ? px->session->ctx : NULL;
    const struct authz_signin_view *v = gh_req_auth(r);
    cJSON *j, *u;
    char when[32];

    (void)err;
    j = cJSON_CreateObject();
    u = cJSON_AddObjectToObject(j, "user");
    if (v != NULL) {
        time_t t = (time_t)v->expires;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddStringToObject(u, "id", v->user_id);
        cJSON_AddStringToObject(u, "userName", v->user_name);
        cJSON_AddStringToObject(u, "displayName", v->display_name);
        cJSON_AddStringToObject(j, "via", "session");
        cJSON_AddStringToObject(j, "csrf_token", v->csrf);
        cJSON_AddStringToObject(j, "expires", when);
    } else {
        /* the break-glass admin token: no user, no CSRF (a bearer header is not sent by a
         * browser on its own) */
        cJSON_AddNullToObject(u, "id");
        cJSON_AddNullToObject(u, "userName");
        cJSON_AddStringToObject(u, "displayName", "admin token");
        cJSON_AddStringToObject(j, "via", "token");
        cJSON_AddNullToObject(j, "csrf_token");
        cJSON_AddNullToObject(j, "expires");
    }
    if (s != NULL)
        cJSON_AddStringToObject(j, "admin_group", s->opts->admin_group);
    else
        cJSON_AddNullToObject(j, "admin_group");
    gh_reply_json(r, 200, j);
    return GH_OK;
}
