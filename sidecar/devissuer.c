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

struct gh_devissuer_key {
    EVP_PKEY *pkey;
    char *n_b64, *e_b64; /* the public JWK's members */
    char kid[48];        /* base64url SHA-256 thumbprint: 43 characters */
};

struct gh_devissuer {
    struct MHD_Daemon *mhd;
    char issuer[256];
    char disc_url[320];
    char disc_path[128], jwks_path[128];
    char *disc_doc, *jwks_doc; /* built at start, read-only afterwards */
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

/*
 * Mint an access token; see devissuer.h. Input is checked (required claims, lengths, ttl), never
 * trusted to be small. Thread-safe (the key is read-only).
 */
enum gh_status gh_devissuer_mint(const struct gh_devissuer_key *k,
                                 const struct gh_devissuer_claims *c, char **out_token,
                                 struct gh_err *err)
{
    cJSON *h = NULL, *p = NULL;
    char *hs = NULL, *ps = NULL, *hb = NULL, *pb = NULL, *input = NULL, *sig = NULL, *uti;
    unsigned char rnd[16];
    enum gh_status st = GH_OK;
    double now = (double)time(NULL);
    size_t len;

    if (!gh_devissuer_claim_ok(c->sub) || !gh_devissuer_claim_ok(c->upn))
        return GH_ERR(err, GH_E_INVALID, "--sub and --upn are required (1 to %d bytes each)",
                      GH_DEVISSUER_CLAIM_MAX);
    if (c->oid != NULL && !gh_devissuer_claim_ok(c->oid))
        return GH_ERR(err, GH_E_INVALID, "--oid must be 1 to %d bytes", GH_DEVISSUER_CLAIM_MAX);
    if (c->ttl_s < 1 || c->ttl_s > GH_DEVISSUER_TTL_MAX)
        return GH_ERR(err, GH_E_INVALID, "--ttl must be 1 to %d seconds", GH_DEVISSUER_TTL_MAX);
    if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1)
        return GH_ERR(err, GH_E_INTERNAL, "no random bytes for the token id");

    h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "typ", "JWT");
    cJSON_AddStringToObject(h, "alg", "RS256");
    cJSON_AddStringToObject(h, "kid", k->kid);
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
    cJSON_Delete(p);
    free(hs);
    free(ps);
    free(hb);
    free(pb);
    free(input);
    free(sig);
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

static enum MHD_Result gh_devissuer_send(struct MHD_Connection *conn, unsigned status,
                                         const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* The MHD handler: two GET paths, everything else 404/405. Bodies are ignored (none expected). */
static enum MHD_Result gh_devissuer_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                           const char *method, const char *version,
                                           const char *upload_data, size_t *upload_data_size,
                                           void **req_cls)
{
    const struct gh_devissuer *d = cls;
    static int gh_devissuer_seen;

    (void)version;
    (void)upload_data;
    if (*req_cls == NULL) {
        *req_cls = &gh_devissuer_seen; /* answer once the request is complete */
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* discard */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
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
                                  const struct gh_devissuer_key *k, struct gh_devissuer **out,
                                  struct gh_err *err)
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
    snprintf(d->issuer, sizeof(d->issuer), "%s/%.64s/v2.0", base, tid);
    snprintf(d->disc_url, sizeof(d->disc_url), "%s%s", base, d->disc_path);
    gh_devissuer_docs(d, base, tid, k);
    d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, gh_devissuer_answer, d,
                              MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                              MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    if (d->mhd == NULL) {
        close(fd);
        gh_devissuer_stop(d);
        return GH_ERR(err, GH_E_INTERNAL, "development issuer: the HTTP server did not start");
    }
    gh_log(GH_LOG_WARN, "devissuer",
           "\"development issuer started: NOT FOR PRODUCTION (no login; anyone who can read its "
           "key can mint any identity)\" issuer=%s kid=%s",
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
