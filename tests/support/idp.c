/*
 * idp.c - loopback OpenID provider for tests (see idp.h), in the spirit of mod_auth_openidc's
 * test/http_server.c: a real HTTP server so discovery and JWKS fetching go through libcurl,
 * timeouts and caps exactly as in production. One thread per connection so a slow answer on one
 * connection never blocks another.
 */
#include "tests/support/idp.h"
#include "sidecar/config.h"
#include "tests/support/mint.h"

#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gh_idp {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    char tid[64];
    char base[64];
    char disc_url[256], jwks_url[256];
    char *issuer;
    char *jwks;
    enum gh_idp_mode jwks_mode, disc_mode;
    int delay_ms;
    long max_age;
    atomic_uint jwks_fetches, disc_fetches;
    atomic_bool stopping;
};

static void gh_idp_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static enum MHD_Result gh_idp_send(struct MHD_Connection *conn, unsigned status, const char *body,
                                   size_t len, long max_age)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;
    char cc[64];

    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (max_age >= 0) {
        snprintf(cc, sizeof(cc), "public, max-age=%ld", max_age);
        MHD_add_response_header(resp, "Cache-Control", cc);
    }
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result gh_idp_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **req_cls)
{
    struct gh_idp *idp = cls;
    char path_disc[128], path_jwks[128];
    enum gh_idp_mode mode;
    char *body = NULL;
    long max_age;
    int delay;
    enum MHD_Result rc;
    bool is_jwks;

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    if (*req_cls == NULL) {
        *req_cls = idp; /* answer on the second call, once the request is complete */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0)
        return gh_idp_send(conn, 405, "{}", 2, -1);
    snprintf(path_disc, sizeof(path_disc), "/%s/v2.0/.well-known/openid-configuration", idp->tid);
    snprintf(path_jwks, sizeof(path_jwks), "/%s/discovery/v2.0/keys", idp->tid);
    if (strcmp(url, path_disc) == 0)
        is_jwks = false;
    else if (strcmp(url, path_jwks) == 0)
        is_jwks = true;
    else
        return gh_idp_send(conn, 404, "{}", 2, -1);

    pthread_mutex_lock(&idp->mu);
    mode = is_jwks ? idp->jwks_mode : idp->disc_mode;
    delay = idp->delay_ms;
    max_age = idp->max_age;
    if (is_jwks) {
        body = strdup(idp->jwks ? idp->jwks : "{\"keys\":[]}");
    } else {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "issuer", idp->issuer);
        cJSON_AddStringToObject(d, "jwks_uri", idp->jwks_url);
        cJSON *algs = cJSON_AddArrayToObject(d, "id_token_signing_alg_values_supported");
        cJSON_AddItemToArray(algs, cJSON_CreateString("RS256"));
        body = cJSON_PrintUnformatted(d);
        cJSON_Delete(d);
    }
    pthread_mutex_unlock(&idp->mu);
    if (is_jwks)
        atomic_fetch_add(&idp->jwks_fetches, 1);
    else
        atomic_fetch_add(&idp->disc_fetches, 1);

    for (int waited = 0; waited < delay && !atomic_load(&idp->stopping); waited += 10)
        gh_idp_sleep_ms(10);
    switch (mode) {
    case GH_IDP_FAIL:
        rc = gh_idp_send(conn, 500, "{\"error\":\"server_error\"}", 24, -1);
        break;
    case GH_IDP_GARBLED:
        rc = gh_idp_send(conn, 200, "<html>{\"keys\":[{\"kty\"", 22, max_age);
        break;
    case GH_IDP_EMPTY:
        rc = gh_idp_send(conn, 200, "{\"keys\":[]}", 11, max_age);
        break;
    case GH_IDP_HUGE: {
        size_t n = 1024 * 1024;
        char *big = malloc(n);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        rc = gh_idp_send(conn, 200, big, n, max_age);
        free(big);
        break;
    }
    case GH_IDP_CLOSE:
        rc = MHD_NO;
        break;
    case GH_IDP_OK:
    default:
        rc = gh_idp_send(conn, 200, body, strlen(body), max_age);
        break;
    }
    free(body);
    return rc;
}

struct gh_idp *gh_idp_start(const char *tid)
{
    return gh_idp_start_tls(tid, NULL, NULL);
}

struct gh_idp *gh_idp_start_tls(const char *tid, const char *cert_pem, const char *key_pem)
{
    struct gh_idp *idp = calloc(1, sizeof(*idp));
    const char *scheme = cert_pem != NULL ? "https" : "http";
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    char iss[256];

    ck_assert_ptr_nonnull(idp);
    pthread_mutex_init(&idp->mu, NULL);
    snprintf(idp->tid, sizeof(idp->tid), "%s", tid);
    idp->max_age = 86400;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (cert_pem != NULL)
        idp->d = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS, 0, NULL,
            NULL, gh_idp_answer, idp, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
            MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
    else
        idp->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                  0, NULL, NULL, gh_idp_answer, idp, MHD_OPTION_SOCK_ADDR, &sa,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    ck_assert_msg(idp->d != NULL, "test IdP failed to start");
    info = MHD_get_daemon_info(idp->d, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert(info != NULL && info->port != 0);
    snprintf(idp->base, sizeof(idp->base), "%s://127.0.0.1:%u", scheme, (unsigned)info->port);
    snprintf(idp->disc_url, sizeof(idp->disc_url), "%s/%s/v2.0/.well-known/openid-configuration",
             idp->base, tid);
    snprintf(idp->jwks_url, sizeof(idp->jwks_url), "%s/%s/discovery/v2.0/keys", idp->base, tid);
    snprintf(iss, sizeof(iss), "https://login.microsoftonline.com/%s/v2.0", tid);
    idp->issuer = strdup(iss);
    return idp;
}

void gh_idp_stop(struct gh_idp *idp)
{
    if (idp == NULL)
        return;
    atomic_store(&idp->stopping, true);
    MHD_stop_daemon(idp->d);
    free(idp->issuer);
    free(idp->jwks);
    pthread_mutex_destroy(&idp->mu);
    free(idp);
}

const char *gh_idp_discovery_url(const struct gh_idp *idp)
{
    return idp->disc_url;
}

const char *gh_idp_jwks_url(const struct gh_idp *idp)
{
    return idp->jwks_url;
}

const char *gh_idp_issuer(const struct gh_idp *idp)
{
    return idp->issuer;
}

void gh_idp_set_issuer(struct gh_idp *idp, const char *issuer)
{
    pthread_mutex_lock(&idp->mu);
    free(idp->issuer);
    idp->issuer = strdup(issuer);
    pthread_mutex_unlock(&idp->mu);
}

void gh_idp_set_jwks_raw(struct gh_idp *idp, const char *doc)
{
    pthread_mutex_lock(&idp->mu);
    free(idp->jwks);
    idp->jwks = strdup(doc);
    pthread_mutex_unlock(&idp->mu);
}

void gh_idp_set_keys(struct gh_idp *idp, struct gh_mint_key *const *keys, size_t n)
{
    char *doc = gh_mint_jwks(keys, n);
    gh_idp_set_jwks_raw(idp, doc);
    free(doc);
}

void gh_idp_set_mode(struct gh_idp *idp, enum gh_idp_mode jwks_mode, enum gh_idp_mode disc_mode)
{
    pthread_mutex_lock(&idp->mu);
    idp->jwks_mode = jwks_mode;
    idp->disc_mode = disc_mode;
    pthread_mutex_unlock(&idp->mu);
}

void gh_idp_set_delay_ms(struct gh_idp *idp, int ms)
{
    pthread_mutex_lock(&idp->mu);
    idp->delay_ms = ms;
    pthread_mutex_unlock(&idp->mu);
}

void gh_idp_set_max_age(struct gh_idp *idp, long seconds)
{
    pthread_mutex_lock(&idp->mu);
    idp->max_age = seconds;
    pthread_mutex_unlock(&idp->mu);
}

unsigned gh_idp_jwks_fetches(const struct gh_idp *idp)
{
    return atomic_load(&((struct gh_idp *)idp)->jwks_fetches);
}

unsigned gh_idp_discovery_fetches(const struct gh_idp *idp)
{
    return atomic_load(&((struct gh_idp *)idp)->disc_fetches);
}

unsigned gh_idp_wait_jwks_fetches(const struct gh_idp *idp, unsigned n, int timeout_ms)
{
    unsigned seen = gh_idp_jwks_fetches(idp);
    for (int waited = 0; seen < n && waited < timeout_ms; waited += 10) {
        gh_idp_sleep_ms(10);
        seen = gh_idp_jwks_fetches(idp);
    }
    return seen;
}

struct gh_config *gh_idp_config(const struct gh_idp *idp, const char *const *extra)
{
    char disc[320];
    const char *env[64];
    size_t n = 0;
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};

    snprintf(disc, sizeof(disc), "GATEHOUSE_OIDC_DISCOVERY=%s", idp->disc_url);
    env[n++] = disc;
    env[n++] = "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1";
    env[n++] = "GATEHOUSE_AUDIENCE=" GH_IDP_AUDIENCE;
    env[n++] = "GATEHOUSE_JWKS_REFRESH_MIN=1";
    env[n++] = "GATEHOUSE_HTTP_TIMEOUT=2";
    env[n++] = "GATEHOUSE_LOG_LEVEL=warn";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 63; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    ck_assert_msg(gh_config_load(NULL, (char *const *)env, &cfg, &err) == GH_OK, "%s", err.msg);
    return cfg;
}
