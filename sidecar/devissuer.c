/*
 * devissuer.c - the demo's development issuer (see devissuer.h): NOT FOR PRODUCTION.
 *
 * Key: RSA-2048 from OpenSSL (EVP_RSA_gen), PEM on disk with mode 0600, kid = RFC 7638 JWK
 * thumbprint. Tokens: RS256 (RFC 7518 §3.3) over base64url(header).base64url(claims), claims
 * shaped like an Entra v2 access token. Endpoint: one MHD polling thread on a loopback address,
 * answering two fixed GET paths from documents built once at start (immutable afterwards, so
 * the thread reads them without a lock).
 */
#include "devissuer.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Longest string claim mint accepts (sub, upn, oid): Entra's are far shorter. */
#define GH_DEVISSUER_CLAIM_MAX 256
/* Codes waiting for the token endpoint, and how long one is good for (seconds). */
#define GH_DEVISSUER_CODES_MAX 64
#define GH_DEVISSUER_CODE_TTL  300
/* Largest form body read (authorization choice, token request). */
#define GH_DEVISSUER_FORM_MAX 8192
/* Lifetime of the tokens the token endpoint issues, seconds. */
#define GH_DEVISSUER_SIGNIN_TTL 3600

struct gh_devissuer_key {
    EVP_PKEY *pkey;
    char *n_b64, *e_b64; /* the public JWK's members */
    char kid[48];        /* base64url SHA-256 thumbprint: 43 characters */
};

/* A code the authorization endpoint issued, waiting for the token endpoint (MHD's one thread
 * reads and writes the table: no lock). */
struct gh_devissuer_code {
    bool used;
    time_t created;
    char code[48];
    char redirect_uri[512];
    char nonce[256];
    char challenge[64];
    size_t user; /* index into users */
};

struct gh_devissuer {
    struct MHD_Daemon *mhd;
    const struct gh_devissuer_key *key;
    char issuer[256];
    char tid[65];
    char disc_url[320];
    char disc_path[128], jwks_path[128], authorize_path[128], token_path[128];
    char *disc_doc, *jwks_doc; /* built at start, read-only afterwards */
    /* sign-in (signin_on: configured); copies of gh_devissuer_signin */
    bool signin_on;
    char *client_id, *client_secret, *api_audience;
    struct {
        char *upn, *sub, *name;
    } users[GH_DEVISSUER_USERS_MAX];
    size_t nusers;
    struct gh_devissuer_code codes[GH_DEVISSUER_CODES_MAX];
};

/* One request's state: the body of a POST, read whole (capped) before it is answered. */
struct gh_devissuer_req {
    char body[GH_DEVISSUER_FORM_MAX + 1];
    size_t len;
    bool too_large;
};

/* base64url without padding (RFC 7515 §2) of n bytes; owned by the caller. */
static char *gh_devissuer_b64url(const void *p, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1, len;
    char *out = gh_xmalloc(cap);
    int w = EVP_EncodeBlock((unsigned char *)out, p, (int)n);

    len = w > 0 ? (size_t)w : 0;
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

static char *gh_devissuer_bn_b64(const EVP_PKEY *pkey, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char *buf;
    char *s;
    int len;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
        return NULL;
    len = BN_num_bytes(bn);
    buf = gh_xmalloc((size_t)len + 1);
    BN_bn2bin(bn, buf);
    s = gh_devissuer_b64url(buf, (size_t)len);
    free(buf);
    BN_free(bn);
    return s;
}

/* Fill the JWK members and the RFC 7638 thumbprint: SHA-256 over the required members in
 * lexicographic order with no whitespace, {"e":…,"kty":"RSA","n":…}. */
static enum gh_status gh_devissuer_key_finish(struct gh_devissuer_key *k, struct gh_err *err)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char *canon, *kid;
    size_t len;

    k->n_b64 = gh_devissuer_bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N);
    k->e_b64 = gh_devissuer_bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E);
    if (k->n_b64 == NULL || k->e_b64 == NULL)
        return GH_ERR(err, GH_E_INTERNAL, "development issuer: cannot read the RSA key");
    len = strlen(k->n_b64) + strlen(k->e_b64) + 32;
    canon = gh_xmalloc(len);
    snprintf(canon, len, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", k->e_b64, k->n_b64);
    SHA256((const unsigned char *)canon, strlen(canon), md);
    free(canon);
    kid = gh_devissuer_b64url(md, sizeof(md));
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    free(kid);
    return GH_OK;
}

/* See devissuer.h. The file is created afresh (any old one unlinked first) with mode 0600 from
 * the start, so the private key is never readable by others, not even for a moment. */
enum gh_status gh_devissuer_key_create(const char *path, struct gh_devissuer_key **out_key,
                                       struct gh_err *err)
{
    struct gh_devissuer_key *k = gh_xcalloc(1, sizeof(*k));
    enum gh_status st = GH_OK;
    FILE *f = NULL;
    int fd;

    k->pkey = EVP_RSA_gen(GH_DEVISSUER_RSA_BITS);
    if (k->pkey == NULL) {
        st = GH_ERR(err, GH_E_INTERNAL, "development issuer: RSA key generation failed");
        goto out;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        st = GH_ERR(err, GH_E_INVALID, "%s: %s", path, strerror(errno));
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        st = GH_ERR(err, GH_E_INVALID, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    if (PEM_write_PrivateKey(f, k->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        st = GH_ERR(err, GH_E_INTERNAL, "%s: cannot write the key", path);
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        st = GH_ERR(err, GH_E_INVALID, "%s: %s", path, strerror(errno));
        goto out;
    }
    f = NULL;
    st = gh_devissuer_key_finish(k, err);
out:
    if (f != NULL)
        fclose(f);
    if (st) {
        gh_devissuer_key_free(k);
        return st;
    }
    *out_key = k;
    return GH_OK;
}

/* See devissuer.h. */
enum gh_status gh_devissuer_key_load(const char *path, struct gh_devissuer_key **out_key,
                                     struct gh_err *err)
{
    struct gh_devissuer_key *k;
    enum gh_status st;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return GH_ERR(err, GH_E_NOT_FOUND, "%s: %s", path, strerror(errno));
    k = gh_xcalloc(1, sizeof(*k));
    k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k->pkey == NULL || !EVP_PKEY_is_a(k->pkey, "RSA")) {
        gh_devissuer_key_free(k);
        return GH_ERR(err, GH_E_INVALID, "%s: not an RSA private key in PEM", path);
    }
    st = gh_devissuer_key_finish(k, err);
    if (st) {
        gh_devissuer_key_free(k);
        return st;
    }
    *out_key = k;
    return GH_OK;
}

/* See devissuer.h. */
void gh_devissuer_key_free(struct gh_devissuer_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k->n_b64);
    free(k->e_b64);
    free(k);
}

/* See devissuer.h. */
const char *gh_devissuer_key_kid(const struct gh_devissuer_key *k)
{
    return k->kid;
}

static bool gh_devissuer_claim_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= GH_DEVISSUER_CLAIM_MAX;
}

/* RS256 over input; the base64url signature, owned by the caller, or NULL. */
static char *gh_devissuer_sign(const struct gh_devissuer_key *k, const char *input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    char *out = NULL;

    if (ctx != NULL && EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k->pkey, NULL) == 1 &&
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)) == 1)
        out = gh_devissuer_b64url(sig, sig_len);
    EVP_MD_CTX_free(ctx);
    return out;
}

/* Sign payload (a claims object; not taken) as an RS256 compact JWS with k's kid; the token is
 * owned by the caller. */
static enum gh_status gh_devissuer_sign_claims(const struct gh_devissuer_key *k, const cJSON *p,
                                               char **out_token, struct gh_err *err)
{
    cJSON *h = cJSON_CreateObject();
    char *hs = NULL, *ps = NULL, *hb = NULL, *pb = NULL, *input = NULL, *sig = NULL;
    enum gh_status st = GH_OK;
    size_t len;

    cJSON_AddStringToObject(h, "typ", "JWT");
    cJSON_AddStringToObject(h, "alg", "RS256");
    cJSON_AddStringToObject(h, "kid", k->kid);
    hs = cJSON_PrintUnformatted(h);
    ps = cJSON_PrintUnformatted(p);
    if (hs == NULL || ps == NULL) {
        st = GH_ERR(err, GH_E_INTERNAL, "cannot write the token's JSON");
        goto out;
    }
    hb = gh_devissuer_b64url(hs, strlen(hs));
    pb = gh_devissuer_b64url(ps, strlen(ps));
    len = strlen(hb) + strlen(pb) + 2;
    input = gh_xmalloc(len);
    snprintf(input, len, "%s.%s", hb, pb);
    sig = gh_devissuer_sign(k, input);
    if (sig == NULL) {
        st = GH_ERR(err, GH_E_INTERNAL, "RS256 signing failed");
        goto out;
    }
    len = strlen(input) + strlen(sig) + 2;
    *out_token = gh_xmalloc(len);
    snprintf(*out_token, len, "%s.%s", input, sig);
out:
    cJSON_Delete(h);
    free(hs);
    free(ps);
    free(hb);
    free(pb);
    free(input);
    free(sig);
    return st;
}

/*
 * Mint an access token; see devissuer.h. Input is checked (required claims, lengths, ttl), never
 * trusted to be small. Thread-safe (the key is read-only).
 */
enum gh_status gh_devissuer_mint(const struct gh_devissuer_key *k,
                                 const struct gh_devissuer_claims *c, char **out_token,
                                 struct gh_err *err)
{
    cJSON *p = NULL;
    char *uti;
    unsigned char rnd[16];
    enum gh_status st;
    double now = (double)time(NULL);

    if (!gh_devissuer_claim_ok(c->sub) || !gh_devissuer_claim_ok(c->upn))
        return GH_ERR(err, GH_E_INVALID, "--sub and --upn are required (1 to %d bytes each)",
                      GH_DEVISSUER_CLAIM_MAX);
    if (c->oid != NULL && !gh_devissuer_claim_ok(c->oid))
        return GH_ERR(err, GH_E_INVALID, "--oid must be 1 to %d bytes", GH_DEVISSUER_CLAIM_MAX);
    if (c->ttl_s < 1 || c->ttl_s > GH_DEVISSUER_TTL_MAX)
        return GH_ERR(err, GH_E_INVALID, "--ttl must be 1 to %d seconds", GH_DEVISSUER_TTL_MAX);
    if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1)
        return GH_ERR(err, GH_E_INTERNAL, "no random bytes for the token id");

    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "aud", c->aud);
    cJSON_AddStringToObject(p, "iss", c->iss);
    cJSON_AddNumberToObject(p, "iat", now);
    cJSON_AddNumberToObject(p, "nbf", now);
    cJSON_AddNumberToObject(p, "exp", now + (double)c->ttl_s);
    if (c->oid != NULL)
        cJSON_AddStringToObject(p, "oid", c->oid);
    cJSON_AddStringToObject(p, "preferred_username", c->upn);
    cJSON_AddStringToObject(p, "upn", c->upn);
    cJSON_AddStringToObject(p, "scp", "access_as_user");
    cJSON_AddStringToObject(p, "sub", c->sub);
    cJSON_AddStringToObject(p, "tid", c->tid);
    uti = gh_devissuer_b64url(rnd, sizeof(rnd));
    cJSON_AddStringToObject(p, "uti", uti);
    free(uti);
    cJSON_AddStringToObject(p, "ver", "2.0");
    st = gh_devissuer_sign_claims(k, p, out_token, err);
    cJSON_Delete(p);
    return st;
}

/* See devissuer.h. Names are not resolved: "localhost" could be anything in /etc/hosts. */
bool gh_devissuer_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (host == NULL)
        return false;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static enum MHD_Result gh_devissuer_reply(struct MHD_Connection *conn, unsigned status,
                                          const char *ctype, const char *body, const char *location)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (location != NULL)
        MHD_add_response_header(resp, "Location", location);
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result gh_devissuer_send(struct MHD_Connection *conn, unsigned status,
                                         const char *body)
{
    return gh_devissuer_reply(conn, status, "application/json", body, NULL);
}

/* An OAuth error reply (RFC 6749 §5.2). */
static enum MHD_Result gh_devissuer_oauth_error(struct MHD_Connection *conn, unsigned status,
                                                const char *code, const char *desc)
{
    cJSON *j = cJSON_CreateObject();
    char *text;
    enum MHD_Result rc;

    cJSON_AddStringToObject(j, "error", code);
    cJSON_AddStringToObject(j, "error_description", desc);
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    rc = gh_devissuer_send(conn, status, text != NULL ? text : "{}");
    cJSON_free(text);
    return rc;
}

/* A parameter of the request: the POST form's, else the query's; copied into out (cap bytes).
 * False when absent, malformed or too long. */
static bool gh_devissuer_param(struct MHD_Connection *conn, const struct gh_devissuer_req *q,
                               const char *name, char *out, size_t cap)
{
    const char *v;

    if (q != NULL && q->len > 0 && gh_http_form_get(q->body, q->len, name, out, cap, NULL) == GH_OK)
        return true;
    v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    if (v == NULL || strlen(v) >= cap)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

/* base64url(SHA-256(s)) into out (>= 44 bytes): RFC 7636 S256. */
static void gh_devissuer_s256(const char *s, char *out, size_t cap)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char *b;

    SHA256((const unsigned char *)s, strlen(s), md);
    b = gh_devissuer_b64url(md, sizeof(md));
    snprintf(out, cap, "%s", b);
    free(b);
}

static void gh_devissuer_html(struct gh_buf *b, enum gh_status *st, const char *s)
{
    for (; *s != '\0' && *st == GH_OK; s++) {
        if (*s == '<')
            gh_buf_cat(b, st, "&lt;");
        else if (*s == '>')
            gh_buf_cat(b, st, "&gt;");
        else if (*s == '&')
            gh_buf_cat(b, st, "&amp;");
        else if (*s == '"')
            gh_buf_cat(b, st, "&quot;");
        else
            *st = gh_buf_append(b, s, 1, NULL);
    }
}

/* Is uri an http(s) URL on a loopback host? The development issuer sends codes nowhere else. */
static bool gh_devissuer_redirect_ok(const char *uri)
{
    char host[64];
    const char *h, *e;
    size_t n;

    if (strncmp(uri, "http://", 7) == 0)
        h = uri + 7;
    else if (strncmp(uri, "https://", 8) == 0)
        h = uri + 8;
    else
        return false;
    if (*h == '[') {
        e = strchr(h, ']');
        if (e == NULL)
            return false;
        h++;
    } else {
        e = h + strcspn(h, ":/?#@");
    }
    n = (size_t)(e - h);
    if (n == 0 || n >= sizeof(host) || strchr(uri, '@') != NULL)
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    return gh_devissuer_is_loopback(host) || strcmp(host, "localhost") == 0;
}

/* The authorization endpoint: the page of buttons, or (upn= chosen) a code and a 302. */
static enum MHD_Result gh_devissuer_authorize(struct gh_devissuer *d, struct MHD_Connection *conn,
                                              const struct gh_devissuer_req *q)
{
    static const char *const names[] = {
        "client_id", "redirect_uri",   "response_type",         "scope",        "state",
        "nonce",     "code_challenge", "code_challenge_method", "response_mode"};
    char client[256], redirect[512], rtype[32], method[16], challenge[64], nonce[256];
    char state[256] = "", upn[GH_DEVISSUER_CLAIM_MAX + 1];
    struct gh_buf b;
    enum gh_status st = GH_OK;
    enum MHD_Result rc;
    char *text;
    size_t len, user = 0;
    time_t now = time(NULL);

    if (!gh_devissuer_param(conn, q, "client_id", client, sizeof(client)) ||
        strcmp(client, d->client_id) != 0)
        return gh_devissuer_oauth_error(conn, 400, "unauthorized_client",
                                        "unknown client_id (the demo's admin app only)");
    if (!gh_devissuer_param(conn, q, "redirect_uri", redirect, sizeof(redirect)) ||
        !gh_devissuer_redirect_ok(redirect))
        return gh_devissuer_oauth_error(conn, 400, "invalid_request",
                                        "redirect_uri must be a loopback http(s) URL");
    if (!gh_devissuer_param(conn, q, "response_type", rtype, sizeof(rtype)) ||
        strcmp(rtype, "code") != 0)
        return gh_devissuer_oauth_error(conn, 400, "unsupported_response_type",
                                        "response_type must be code");
    if (!gh_devissuer_param(conn, q, "code_challenge_method", method, sizeof(method)) ||
        strcmp(method, "S256") != 0 ||
        !gh_devissuer_param(conn, q, "code_challenge", challenge, sizeof(challenge)) ||
        strlen(challenge) != 43)
        return gh_devissuer_oauth_error(conn, 400, "invalid_request",
                                        "PKCE with code_challenge_method=S256 is required");
    if (!gh_devissuer_param(conn, q, "nonce", nonce, sizeof(nonce)) || nonce[0] == '\0')
        return gh_devissuer_oauth_error(conn, 400, "invalid_request", "nonce is required");
    gh_devissuer_param(conn, q, "state", state, sizeof(state));
    gh_buf_init(&b, (size_t)64 * 1024);
    if (gh_devissuer_param(conn, q, "upn", upn, sizeof(upn))) {
        struct gh_devissuer_code *slot = &d->codes[0];
        unsigned char rnd[32];
        char *code;
        for (user = 0; user < d->nusers && strcmp(d->users[user].upn, upn) != 0; user++)
            ;
        if (user == d->nusers) {
            gh_buf_free(&b);
            return gh_devissuer_oauth_error(conn, 400, "access_denied", "no such demo user");
        }
        for (size_t i = 0; i < GH_DEVISSUER_CODES_MAX; i++) {
            struct gh_devissuer_code *c = &d->codes[i];
            if (!c->used || now - c->created > GH_DEVISSUER_CODE_TTL) {
                slot = c;
                break;
            }
            if (c->created < slot->created)
                slot = c;
        }
        if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1) {
            gh_buf_free(&b);
            return gh_devissuer_oauth_error(conn, 500, "server_error", "no random bytes");
        }
        code = gh_devissuer_b64url(rnd, sizeof(rnd));
        memset(slot, 0, sizeof(*slot));
        slot->used = true;
        slot->created = now;
        slot->user = user;
        snprintf(slot->code, sizeof(slot->code), "%s", code);
        snprintf(slot->redirect_uri, sizeof(slot->redirect_uri), "%s", redirect);
        snprintf(slot->nonce, sizeof(slot->nonce), "%s", nonce);
        snprintf(slot->challenge, sizeof(slot->challenge), "%s", challenge);
        gh_buf_cat(&b, &st, redirect);
        gh_buf_cat(&b, &st, strchr(redirect, '?') != NULL ? "&code=" : "?code=");
        gh_buf_cat(&b, &st, code);
        free(code);
        gh_buf_cat(&b, &st, "&state=");
        gh_http_url_encode(&b, &st, state);
        rc = st ? gh_devissuer_oauth_error(conn, 500, "server_error", "redirect too long")
                : gh_devissuer_reply(conn, 302, "text/plain", "", gh_buf_str(&b));
        gh_buf_free(&b);
        return rc;
    }
    gh_buf_cat(&b, &st,
               "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>Development issuer: sign in (NOT FOR PRODUCTION)</title></head>\n<body>\n"
               "<h1>Development issuer of <code>gatehouse demo</code></h1>\n"
               "<p><strong>NOT FOR PRODUCTION</strong>: there are no passwords here. Anyone who "
               "can reach this page signs in as anyone listed.</p>\n");
    for (size_t u = 0; u < d->nusers; u++) {
        gh_buf_cat(&b, &st, "<form method=\"post\" action=\"");
        gh_devissuer_html(&b, &st, d->authorize_path);
        gh_buf_cat(&b, &st, "\">\n");
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            char v[512];
            if (!gh_devissuer_param(conn, q, names[i], v, sizeof(v)))
                continue;
            gh_buf_cat(&b, &st, "<input type=\"hidden\" name=\"");
            gh_buf_cat(&b, &st, names[i]);
            gh_buf_cat(&b, &st, "\" value=\"");
            gh_devissuer_html(&b, &st, v);
            gh_buf_cat(&b, &st, "\">\n");
        }
        gh_buf_cat(&b, &st, "<input type=\"hidden\" name=\"upn\" value=\"");
        gh_devissuer_html(&b, &st, d->users[u].upn);
        gh_buf_cat(&b, &st, "\">\n<button type=\"submit\">Sign in as ");
        gh_devissuer_html(&b, &st, d->users[u].upn);
        gh_buf_cat(&b, &st, "</button>\n</form>\n");
    }
    gh_buf_cat(&b, &st, "</body></html>\n");
    if (st) {
        gh_buf_free(&b);
        return gh_devissuer_oauth_error(conn, 500, "server_error", "page too large");
    }
    text = gh_buf_steal(&b, &len);
    rc = gh_devissuer_reply(conn, 200, "text/html; charset=utf-8", text, NULL);
    free(text);
    return rc;
}

/* The token endpoint: authorization_code grant with PKCE S256 and the client's credentials. */
static enum MHD_Result gh_devissuer_token(struct gh_devissuer *d, struct MHD_Connection *conn,
                                          const struct gh_devissuer_req *q)
{
    char grant[64], code[64], client[256], secret[256] = "", redirect[512], verifier[129];
    char s256[64], *id_token = NULL, *access = NULL, *text;
    struct gh_devissuer_code c = {0};
    time_t now = time(NULL);
    bool found = false;
    enum gh_status st;
    enum MHD_Result rc;
    cJSON *p, *j;
    double t = (double)now;

    if (q == NULL || q->too_large ||
        gh_http_form_get(q->body, q->len, "grant_type", grant, sizeof(grant), NULL) != GH_OK ||
        strcmp(grant, "authorization_code") != 0)
        return gh_devissuer_oauth_error(conn, 400, "unsupported_grant_type",
                                        "grant_type must be authorization_code");
    if (gh_http_form_get(q->body, q->len, "code", code, sizeof(code), NULL) != GH_OK)
        return gh_devissuer_oauth_error(conn, 400, "invalid_request", "code is required");
    /* single use: the code leaves the table whatever follows */
    for (size_t i = 0; i < GH_DEVISSUER_CODES_MAX && !found; i++) {
        if (d->codes[i].used && strcmp(d->codes[i].code, code) == 0) {
            c = d->codes[i];
            memset(&d->codes[i], 0, sizeof(d->codes[i]));
            found = true;
        }
    }
    if (!found || now - c.created > GH_DEVISSUER_CODE_TTL)
        return gh_devissuer_oauth_error(conn, 400, "invalid_grant",
                                        "the code is unknown, expired or already used");
    if (gh_http_form_get(q->body, q->len, "client_id", client, sizeof(client), NULL) != GH_OK ||
        strcmp(client, d->client_id) != 0)
        return gh_devissuer_oauth_error(conn, 401, "invalid_client", "wrong client_id");
    gh_http_form_get(q->body, q->len, "client_secret", secret, sizeof(secret), NULL);
    if (d->client_secret != NULL && strcmp(secret, d->client_secret) != 0)
        return gh_devissuer_oauth_error(conn, 401, "invalid_client", "wrong client_secret");
    if (gh_http_form_get(q->body, q->len, "redirect_uri", redirect, sizeof(redirect), NULL) !=
            GH_OK ||
        strcmp(redirect, c.redirect_uri) != 0)
        return gh_devissuer_oauth_error(conn, 400, "invalid_grant",
                                        "redirect_uri is not the authorization request's");
    if (gh_http_form_get(q->body, q->len, "code_verifier", verifier, sizeof(verifier), NULL) !=
        GH_OK)
        return gh_devissuer_oauth_error(conn, 400, "invalid_grant", "code_verifier is required");
    gh_devissuer_s256(verifier, s256, sizeof(s256));
    if (strcmp(s256, c.challenge) != 0)
        return gh_devissuer_oauth_error(conn, 400, "invalid_grant",
                                        "PKCE: the code_verifier does not match the challenge");
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "aud", d->client_id);
    cJSON_AddStringToObject(p, "iss", d->issuer);
    cJSON_AddNumberToObject(p, "iat", t);
    cJSON_AddNumberToObject(p, "nbf", t);
    cJSON_AddNumberToObject(p, "exp", t + GH_DEVISSUER_SIGNIN_TTL);
    cJSON_AddStringToObject(p, "sub", d->users[c.user].sub);
    cJSON_AddStringToObject(p, "oid", d->users[c.user].sub);
    cJSON_AddStringToObject(p, "tid", d->tid);
    cJSON_AddStringToObject(p, "preferred_username", d->users[c.user].upn);
    cJSON_AddStringToObject(p, "name", d->users[c.user].name);
    cJSON_AddStringToObject(p, "nonce", c.nonce);
    cJSON_AddStringToObject(p, "ver", "2.0");
    st = gh_devissuer_sign_claims(d->key, p, &id_token, NULL);
    cJSON_Delete(p);
    if (st == GH_OK) {
        struct gh_devissuer_claims ac = {d->issuer,
                                         d->api_audience,
                                         d->tid,
                                         d->users[c.user].sub,
                                         d->users[c.user].upn,
                                         d->users[c.user].sub,
                                         GH_DEVISSUER_SIGNIN_TTL};
        st = gh_devissuer_mint(d->key, &ac, &access, NULL);
    }
    if (st) {
        free(id_token);
        return gh_devissuer_oauth_error(conn, 500, "server_error", "signing failed");
    }
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id_token", id_token);
    cJSON_AddStringToObject(j, "access_token", access);
    cJSON_AddStringToObject(j, "token_type", "Bearer");
    cJSON_AddNumberToObject(j, "expires_in", GH_DEVISSUER_SIGNIN_TTL);
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(id_token);
    free(access);
    rc = gh_devissuer_send(conn, 200, text != NULL ? text : "{}");
    cJSON_free(text);
    return rc;
}

static void gh_devissuer_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

/* The MHD handler: discovery, JWKS and (when configured) the sign-in endpoints; everything else
 * 404/405. A POST body is read whole (capped) before the answer. */
static enum MHD_Result gh_devissuer_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                           const char *method, const char *version,
                                           const char *upload_data, size_t *upload_data_size,
                                           void **req_cls)
{
    struct gh_devissuer *d = cls;
    struct gh_devissuer_req *q = *req_cls;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    (void)version;
    if (q == NULL) {
        *req_cls = gh_xcalloc(1, sizeof(struct gh_devissuer_req));
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (q->len + *upload_data_size > GH_DEVISSUER_FORM_MAX) {
            q->too_large = true;
        } else {
            memcpy(q->body + q->len, upload_data, *upload_data_size);
            q->len += *upload_data_size;
            q->body[q->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (d->signin_on && strcmp(url, d->authorize_path) == 0 &&
        (get || strcmp(method, "POST") == 0)) {
        if (q->too_large)
            return gh_devissuer_oauth_error(conn, 413, "invalid_request", "form too large");
        return gh_devissuer_authorize(d, conn, get ? NULL : q);
    }
    if (d->signin_on && strcmp(url, d->token_path) == 0) {
        if (strcmp(method, "POST") != 0)
            return gh_devissuer_send(conn, 405, "{\"error\":\"method not allowed\"}");
        return gh_devissuer_token(d, conn, q);
    }
    if (!get)
        return gh_devissuer_send(conn, 405, "{\"error\":\"method not allowed\"}");
    if (strcmp(url, d->disc_path) == 0)
        return gh_devissuer_send(conn, 200, d->disc_doc);
    if (strcmp(url, d->jwks_path) == 0)
        return gh_devissuer_send(conn, 200, d->jwks_doc);
    return gh_devissuer_send(conn, 404, "{\"error\":\"not found\"}");
}

static void gh_devissuer_docs(struct gh_devissuer *d, const char *base, const char *tid,
                              const struct gh_devissuer_key *k)
{
    cJSON *doc = cJSON_CreateObject(), *arr, *key;
    char jwks_url[320];

    snprintf(jwks_url, sizeof(jwks_url), "%s%s", base, d->jwks_path);
    cJSON_AddStringToObject(doc, "issuer", d->issuer);
    cJSON_AddStringToObject(doc, "jwks_uri", jwks_url);
    if (d->signin_on) {
        char u[320];
        snprintf(u, sizeof(u), "%s%s", base, d->authorize_path);
        cJSON_AddStringToObject(doc, "authorization_endpoint", u);
        snprintf(u, sizeof(u), "%s%s", base, d->token_path);
        cJSON_AddStringToObject(doc, "token_endpoint", u);
        arr = cJSON_AddArrayToObject(doc, "response_types_supported");
        cJSON_AddItemToArray(arr, cJSON_CreateString("code"));
        arr = cJSON_AddArrayToObject(doc, "code_challenge_methods_supported");
        cJSON_AddItemToArray(arr, cJSON_CreateString("S256"));
        arr = cJSON_AddArrayToObject(doc, "scopes_supported");
        cJSON_AddItemToArray(arr, cJSON_CreateString("openid"));
        cJSON_AddItemToArray(arr, cJSON_CreateString("profile"));
        cJSON_AddItemToArray(arr, cJSON_CreateString("email"));
    }
    arr = cJSON_AddArrayToObject(doc, "id_token_signing_alg_values_supported");
    cJSON_AddItemToArray(arr, cJSON_CreateString("RS256"));
    arr = cJSON_AddArrayToObject(doc, "subject_types_supported");
    cJSON_AddItemToArray(arr, cJSON_CreateString("pairwise"));
    cJSON_AddStringToObject(doc, "tenant_id", tid);
    cJSON_AddStringToObject(doc, "note", GH_DEVISSUER_NOTE);
    d->disc_doc = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);

    doc = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(doc, "keys");
    key = cJSON_CreateObject();
    cJSON_AddStringToObject(key, "kty", "RSA");
    cJSON_AddStringToObject(key, "use", "sig");
    cJSON_AddStringToObject(key, "kid", k->kid);
    cJSON_AddStringToObject(key, "n", k->n_b64);
    cJSON_AddStringToObject(key, "e", k->e_b64);
    cJSON_AddStringToObject(key, "issuer", d->issuer);
    cJSON_AddItemToArray(arr, key);
    cJSON_AddStringToObject(doc, "note", GH_DEVISSUER_NOTE);
    d->jwks_doc = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    GH_ASSERT(d->disc_doc != NULL && d->jwks_doc != NULL);
}

/*
 * Start the issuer; see devissuer.h. The loopback check comes first: a development issuer
 * reachable from the network would let others learn (and a misconfigured production gatehouse
 * trust) keys that belong to nobody. Not thread-safe; call once at start-up.
 */
enum gh_status gh_devissuer_start(const char *host, int port, const char *tid,
                                  const struct gh_devissuer_key *k,
                                  const struct gh_devissuer_signin *signin,
                                  struct gh_devissuer **out, struct gh_err *err)
{
    struct gh_devissuer *d;
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    bool v6 = strchr(host, ':') != NULL;
    char base[160];
    int fd, one = 1;

    if (!gh_devissuer_is_loopback(host))
        return GH_ERR(err, GH_E_INVALID,
                      "development issuer: %.64s is not a loopback address (127.0.0.0/8 or ::1): "
                      "it is not for production and never leaves this host",
                      host);
    if (port < 0 || port > 65535)
        return GH_ERR(err, GH_E_INVALID, "development issuer: bad port %d", port);
    memset(&ss, 0, sizeof(ss));
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        sl = sizeof(*s6);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, host, &s4->sin_addr);
        sl = sizeof(*s4);
    }
    /* Bound here, before MHD's thread starts, so the port (port 0: a free one) is known and the
     * documents naming it exist before the first request can arrive. */
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return GH_ERR(err, GH_E_INVALID, "development issuer: socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        enum gh_status st =
            GH_ERR(err, GH_E_INVALID, "development issuer: cannot listen on %s%s%s:%d: %s",
                   v6 ? "[" : "", host, v6 ? "]" : "", port, strerror(errno));
        close(fd);
        return st;
    }
    port =
        ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    d = gh_xcalloc(1, sizeof(*d));
    snprintf(base, sizeof(base), "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    snprintf(d->disc_path, sizeof(d->disc_path), "/%.64s/v2.0/.well-known/openid-configuration",
             tid);
    snprintf(d->jwks_path, sizeof(d->jwks_path), "/%.64s/discovery/v2.0/keys", tid);
    snprintf(d->authorize_path, sizeof(d->authorize_path), "/%.64s/oauth2/v2.0/authorize", tid);
    snprintf(d->token_path, sizeof(d->token_path), "/%.64s/oauth2/v2.0/token", tid);
    snprintf(d->tid, sizeof(d->tid), "%.64s", tid);
    d->key = k;
    if (signin != NULL) {
        GH_ASSERT(signin->nusers <= GH_DEVISSUER_USERS_MAX && signin->client_id != NULL &&
                  signin->api_audience != NULL);
        d->signin_on = true;
        d->client_id = gh_xstrdup(signin->client_id);
        d->client_secret = signin->client_secret != NULL ? gh_xstrdup(signin->client_secret) : NULL;
        d->api_audience = gh_xstrdup(signin->api_audience);
        for (size_t i = 0; i < signin->nusers; i++) {
            d->users[i].upn = gh_xstrdup(signin->users[i].upn);
            d->users[i].sub = gh_xstrdup(signin->users[i].sub);
            d->users[i].name = gh_xstrdup(signin->users[i].name);
        }
        d->nusers = signin->nusers;
    }
    snprintf(d->issuer, sizeof(d->issuer), "%s/%.64s/v2.0", base, tid);
    snprintf(d->disc_url, sizeof(d->disc_url), "%s%s", base, d->disc_path);
    gh_devissuer_docs(d, base, tid, k);
    d->mhd =
        MHD_start_daemon(flags, 0, NULL, NULL, gh_devissuer_answer, d, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_NOTIFY_COMPLETED,
                         gh_devissuer_done, NULL, MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    if (d->mhd == NULL) {
        close(fd);
        gh_devissuer_stop(d);
        return GH_ERR(err, GH_E_INTERNAL, "development issuer: the HTTP server did not start");
    }
    gh_log(GH_LOG_WARN, "devissuer",
           "\"development issuer started: NOT FOR PRODUCTION (no passwords; anyone who can reach "
           "it signs in as any listed user, anyone who can read its key mints any identity)\" "
           "issuer=%s kid=%s",
           d->issuer, k->kid);
    *out = d;
    return GH_OK;
}

/* See devissuer.h. Stops the thread before freeing what it reads. */
void gh_devissuer_stop(struct gh_devissuer *d)
{
    if (d == NULL)
        return;
    if (d->mhd != NULL)
        MHD_stop_daemon(d->mhd);
    cJSON_free(d->disc_doc);
    cJSON_free(d->jwks_doc);
    free(d->client_id);
    if (d->client_secret != NULL)
        OPENSSL_cleanse(d->client_secret, strlen(d->client_secret));
    free(d->client_secret);
    free(d->api_audience);
    for (size_t i = 0; i < d->nusers; i++) {
        free(d->users[i].upn);
        free(d->users[i].sub);
        free(d->users[i].name);
    }
    OPENSSL_cleanse(d->codes, sizeof(d->codes));
    free(d);
}

/* See devissuer.h. */
const char *gh_devissuer_issuer(const struct gh_devissuer *d)
{
    return d->issuer;
}

/* See devissuer.h. */
const char *gh_devissuer_discovery_url(const struct gh_devissuer *d)
{
    return d->disc_url;
}
