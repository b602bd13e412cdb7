/*
 * validator.c - the reference server of bench/decision_path.sh (not part of gatehouse): the
 * least a libmicrohttpd server must do to accept an RS256 bearer token, and nothing more. No
 * decision, no logs, no metrics, no limits.
 *
 *   validator PORT JWKS_FILE ISSUER AUDIENCE
 *
 * The same MHD setup as gatehouse (internal polling thread + epoll + a thread pool of 2, the
 * reply queued on the second access-handler call so connections stay alive). Per request: the
 * token's SHA-256 looked up in a verified-token cache (hash -> claims, an entry good until the
 * token's exp); on a miss the header and payload are parsed with cJSON and the signature
 * verified with OpenSSL EVP on the EVP_PKEY built once from the JWKS. 200 {"sub":…} for a valid
 * token, 401 otherwise. The request body, if any, is read and dropped.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define VALIDATOR_KEYS      8
#define VALIDATOR_SHARDS    16
#define VALIDATOR_PER_SHARD 4096 /* slots per shard (open addressing): 65,536 tokens in all */
#define VALIDATOR_TOKEN_MAX 16384
#define VALIDATOR_CLAIM_MAX 128

struct validator_key {
    char kid[128];
    EVP_PKEY *pkey;
};

/* A verified token: the claims a decision would use, good until exp. */
struct validator_entry {
    unsigned char hash[SHA256_DIGEST_LENGTH];
    bool used;
    int64_t exp;
    char sub[VALIDATOR_CLAIM_MAX];
};

struct validator_shard {
    pthread_mutex_t lock;
    struct validator_entry slots[VALIDATOR_PER_SHARD];
};

static struct validator_key validator_keys[VALIDATOR_KEYS];
static int validator_nkeys;
static const char *validator_iss, *validator_aud;
static struct validator_shard validator_cache[VALIDATOR_SHARDS];
static char validator_marker; /* con_cls of a request whose headers were seen */

static size_t validator_b64url(const char *in, size_t n, unsigned char *out, size_t cap)
{
    static signed char map[256];
    static bool ready;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;

    if (!ready) { /* idempotent: racing threads write the same table */
        memset(map, -1, sizeof(map));
        for (int i = 0; i < 64; i++)
            map[(unsigned char)"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                    [i]] = (signed char)i;
        ready = true;
    }
    for (size_t i = 0; i < n; i++) {
        int v = map[(unsigned char)in[i]];
        if (v < 0)
            return (size_t)-1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return (size_t)-1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

static BIGNUM *validator_bn(const cJSON *jwk, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);
    unsigned char buf[1024];
    size_t n;

    if (!cJSON_IsString(v))
        return NULL;
    n = validator_b64url(v->valuestring, strlen(v->valuestring), buf, sizeof(buf));
    return n == (size_t)-1 ? NULL : BN_bin2bn(buf, (int)n, NULL);
}

/* Every RSA key of the JWKS file, each converted to an EVP_PKEY once. */
static int validator_load_keys(const char *path)
{
    FILE *f = fopen(path, "rb");
    static char text[256 * 1024];
    size_t n;
    cJSON *doc, *k;

    if (f == NULL)
        return -1;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    doc = cJSON_Parse(text);
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(doc, "keys"))
    {
        const cJSON *kid = cJSON_GetObjectItemCaseSensitive(k, "kid");
        const cJSON *kty = cJSON_GetObjectItemCaseSensitive(k, "kty");
        BIGNUM *bn_n, *bn_e;
        OSSL_PARAM_BLD *bld;
        OSSL_PARAM *params;
        EVP_PKEY_CTX *ctx;
        EVP_PKEY *pkey = NULL;

        if (!cJSON_IsString(kid) || !cJSON_IsString(kty) || strcmp(kty->valuestring, "RSA") != 0 ||
            validator_nkeys == VALIDATOR_KEYS)
            continue;
        bn_n = validator_bn(k, "n");
        bn_e = validator_bn(k, "e");
        bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
        params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (EVP_PKEY_fromdata_init(ctx) > 0 &&
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) > 0) {
            snprintf(validator_keys[validator_nkeys].kid, sizeof(validator_keys[0].kid), "%s",
                     kid->valuestring);
            validator_keys[validator_nkeys++].pkey = pkey;
        }
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        BN_free(bn_n);
        BN_free(bn_e);
    }
    cJSON_Delete(doc);
    return validator_nkeys > 0 ? 0 : -1;
}

static struct validator_shard *validator_shard_of(const unsigned char *hash)
{
    return &validator_cache[hash[0] % VALIDATOR_SHARDS];
}

static size_t validator_slot_of(const unsigned char *hash)
{
    return ((size_t)hash[1] << 8 | hash[2]) % VALIDATOR_PER_SHARD;
}

/* A cached, unexpired entry's sub into out; false on a miss. Linear probing over 8 slots. */
static bool validator_cache_get(const unsigned char *hash, int64_t now, char *out, size_t cap)
{
    struct validator_shard *s = validator_shard_of(hash);
    size_t at = validator_slot_of(hash);
    bool hit = false;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < 8; i++) {
        struct validator_entry *e = &s->slots[(at + (size_t)i) % VALIDATOR_PER_SHARD];
        if (e->used && memcmp(e->hash, hash, sizeof(e->hash)) == 0) {
            if (e->exp > now) {
                snprintf(out, cap, "%s", e->sub);
                hit = true;
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

/* Remember a verified token until exp: a free or expired slot of its 8, else the first. */
static void validator_cache_put(const unsigned char *hash, int64_t exp, int64_t now,
                                const char *sub)
{
    struct validator_shard *s = validator_shard_of(hash);
    size_t at = validator_slot_of(hash);
    struct validator_entry *e = &s->slots[at];

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < 8; i++) {
        struct validator_entry *c = &s->slots[(at + (size_t)i) % VALIDATOR_PER_SHARD];
        if (!c->used || c->exp <= now || memcmp(c->hash, hash, sizeof(c->hash)) == 0) {
            e = c;
            break;
        }
    }
    memcpy(e->hash, hash, sizeof(e->hash));
    e->used = true;
    e->exp = exp;
    snprintf(e->sub, sizeof(e->sub), "%s", sub);
    pthread_mutex_unlock(&s->lock);
}

static cJSON *validator_part(const char *p, size_t n)
{
    unsigned char buf[VALIDATOR_TOKEN_MAX];
    size_t len = validator_b64url(p, n, buf, sizeof(buf) - 1);
    if (len == (size_t)-1)
        return NULL;
    return cJSON_ParseWithLength((const char *)buf, len);
}

static bool validator_aud_ok(const cJSON *aud)
{
    const cJSON *a;
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, validator_aud) == 0;
    cJSON_ArrayForEach(a, aud) if (cJSON_IsString(a) &&
                                   strcmp(a->valuestring, validator_aud) == 0) return true;
    return false;
}

/* The full check of a token not in the cache: RS256 signature, exp/nbf, iss, aud. */
static bool validator_verify(const char *tok, size_t len, int64_t now, int64_t *out_exp, char *sub,
                             size_t sub_cap)
{
    const char *d1 = memchr(tok, '.', len), *d2;
    unsigned char sig[1024];
    size_t sig_len;
    cJSON *hdr = NULL, *pl = NULL;
    const cJSON *alg, *kid, *exp, *nbf, *iss, *s;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md;
    bool ok = false;

    if (d1 == NULL || (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL)
        return false;
    hdr = validator_part(tok, (size_t)(d1 - tok));
    alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0 || !cJSON_IsString(kid))
        goto out;
    for (int i = 0; i < validator_nkeys; i++)
        if (strcmp(validator_keys[i].kid, kid->valuestring) == 0)
            pkey = validator_keys[i].pkey;
    sig_len = validator_b64url(d2 + 1, len - (size_t)(d2 + 1 - tok), sig, sizeof(sig));
    if (pkey == NULL || sig_len == (size_t)-1)
        goto out;
    md = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
         EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)tok, (size_t)(d2 - tok)) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        goto out;
    ok = false;
    pl = validator_part(d1 + 1, (size_t)(d2 - d1 - 1));
    exp = cJSON_GetObjectItemCaseSensitive(pl, "exp");
    nbf = cJSON_GetObjectItemCaseSensitive(pl, "nbf");
    iss = cJSON_GetObjectItemCaseSensitive(pl, "iss");
    s = cJSON_GetObjectItemCaseSensitive(pl, "oid");
    if (!cJSON_IsNumber(exp) || exp->valuedouble <= (double)now ||
        (cJSON_IsNumber(nbf) && nbf->valuedouble > (double)now + 300) || !cJSON_IsString(iss) ||
        strcmp(iss->valuestring, validator_iss) != 0 ||
        !validator_aud_ok(cJSON_GetObjectItemCaseSensitive(pl, "aud")) || !cJSON_IsString(s))
        goto out;
    *out_exp = (int64_t)exp->valuedouble;
    snprintf(sub, sub_cap, "%s", s->valuestring);
    ok = true;
out:
    cJSON_Delete(hdr);
    cJSON_Delete(pl);
    return ok;
}

static enum MHD_Result validator_reply(struct MHD_Connection *conn, unsigned status,
                                       const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result validator_access(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls)
{
    const char *auth, *tok;
    size_t len;
    unsigned char hash[SHA256_DIGEST_LENGTH];
    char sub[VALIDATOR_CLAIM_MAX], body[VALIDATOR_CLAIM_MAX + 16];
    int64_t now, exp;
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;

    if (*con_cls == NULL) { /* headers complete: answer on a later call (keep-alive) */
        *con_cls = &validator_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* a body: dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return validator_reply(conn, 401, "{\"error\":\"no bearer token\"}");
    tok = auth + 7;
    len = strlen(tok);
    if (len > VALIDATOR_TOKEN_MAX)
        return validator_reply(conn, 401, "{\"error\":\"token too long\"}");
    now = (int64_t)time(NULL);
    SHA256((const unsigned char *)tok, len, hash);
    if (!validator_cache_get(hash, now, sub, sizeof(sub))) {
        if (!validator_verify(tok, len, now, &exp, sub, sizeof(sub)))
            return validator_reply(conn, 401, "{\"error\":\"invalid_token\"}");
        validator_cache_put(hash, exp, now, sub);
    }
    snprintf(body, sizeof(body), "{\"sub\":\"%s\"}", sub);
    return validator_reply(conn, 200, body);
}

int main(int argc, char **argv)
{
    struct MHD_Daemon *d;
    struct sockaddr_in sa = {0};
    sigset_t sigs;
    char *end;
    long port;
    int sig;

    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT JWKS_FILE ISSUER AUDIENCE\n", argv[0]);
        return 2;
    }
    port = strtol(argv[1], &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "validator: bad port %s\n", argv[1]);
        return 2;
    }
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, like every bench server */
    validator_iss = argv[3];
    validator_aud = argv[4];
    if (validator_load_keys(argv[2]) != 0) {
        fprintf(stderr, "validator: no RSA key in %s\n", argv[2]);
        return 1;
    }
    for (int i = 0; i < VALIDATOR_SHARDS; i++)
        pthread_mutex_init(&validator_cache[i].lock, NULL);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO, 0, NULL,
                         NULL, validator_access, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                         MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 1024u,
                         MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "validator: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    return 0;
}
