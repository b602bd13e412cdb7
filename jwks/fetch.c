/*
 * fetch.c - outbound GETs of discovery and JWKS documents with libcurl.
 *
 * Every fetch is bounded: connect and total timeouts, a body cap enforced in the write callback
 * (GH_CAP_DISCOVERY / (size_t)GH_CAP_JWKS), no redirects, HTTPS only with peer and host
 * verification, plain http only to loopback hosts when GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER is set
 * (keys read over an unauthenticated channel can be replaced by anyone on the path). Cache-Control
 * max-age (RFC 9111 §5.2.2.1) is reported so the cache can schedule the next refresh.
 */
#include "core/core.h"
#include "jwks/jwks_int.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest connect phase: a black-holed IdP must not eat the whole total timeout. */
#define JWKS_CONNECT_TIMEOUT_S 3L

static pthread_once_t jwks_curl_once = PTHREAD_ONCE_INIT;

static void jwks_curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Initialise libcurl once per process (curl_global_init is not thread-safe by itself). */
void jwks_global_init(void)
{
    pthread_once(&jwks_curl_once, jwks_curl_init);
}

struct jwks_fetch_ctx {
    struct gh_buf *body;
    bool too_large;
    long max_age;
};

static size_t jwks_fetch_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct jwks_fetch_ctx *ctx = ud;
    size_t n = size * nmemb;

    /* The cap is enforced while reading: a huge or endless document is cut off, not buffered. */
    if (gh_buf_append(ctx->body, p, n, NULL) != GH_OK) {
        ctx->too_large = true;
        return 0;
    }
    return n;
}

/* Pick max-age=N out of a Cache-Control header line. */
static size_t jwks_fetch_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct jwks_fetch_ctx *ctx = ud;
    size_t n = size * nmemb;
    char line[512];
    const char *v;

    if (n < 14 || n >= sizeof(line) || strncasecmp(p, "cache-control:", 14) != 0)
        return n;
    memcpy(line, p, n);
    line[n] = '\0';
    for (char *c = line; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    v = strstr(line, "max-age=");
    if (v != NULL) {
        char *end;
        long age;
        errno = 0;
        age = strtol(v + 8, &end, 10);
        if (errno == 0 && end != v + 8 && age >= 0)
            ctx->max_age = age;
    }
    if (strstr(line, "no-store") != NULL || strstr(line, "no-cache") != NULL)
        ctx->max_age = 0;
    return n;
}

/* Host part of an http(s) URL into host (lower-case, brackets stripped); false if malformed. */
static bool jwks_url_host(const char *url, char *host, size_t cap)
{
    const char *p, *e;
    size_t n;

    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else
        return false;
    /* userinfo would let "http://127.0.0.1@evil/" look local */
    e = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(e - p)) != NULL)
        return false;
    if (*p == '[') {
        e = strchr(p, ']');
        if (e == NULL)
            return false;
        p++;
    } else {
        e = p + strcspn(p, ":/?#");
    }
    n = (size_t)(e - p);
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)tolower((unsigned char)p[i]);
    host[n] = '\0';
    return true;
}

/* True for URLs whose host is a loopback address (127.0.0.0/8, ::1) or "localhost". */
bool jwks_url_is_loopback(const char *url)
{
    char host[256];

    if (!jwks_url_host(url, host, sizeof(host)))
        return false;
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    if (strncmp(host, "127.", 4) == 0)
        return strspn(host, "0123456789.") == strlen(host);
    return false;
}

/*
 * GET url into body (see jwks.h). Runs on the calling thread and blocks for at most
 * opts->timeout_s. Never follows redirects (a redirect to plain http would defeat the scheme
 * check). Thread-safe after jwks_global_init().
 */
static enum gh_status jwks_request(const char *url, const struct jwks_fetch_opts *opts,
                                   const char *form, struct gh_buf *body, long *out_max_age,
                                   long *out_status, struct gh_err *err)
{
    struct jwks_fetch_ctx ctx = {.body = body, .too_large = false, .max_age = -1};
    CURL *h = NULL;
    CURLcode rc;
    long status = 0;
    enum gh_status st = GH_OK;
    char ebuf[CURL_ERROR_SIZE] = "";

    *out_max_age = -1;
    if (strncasecmp(url, "https://", 8) != 0) {
        if (strncasecmp(url, "http://", 7) != 0)
            return JWKS_ERR(err, GH_E_UPSTREAM, "only https URLs are fetched");
        if (!opts->allow_insecure_loopback || !jwks_url_is_loopback(url))
            return JWKS_ERR(err, GH_E_UPSTREAM,
                            "plain http is allowed only for loopback hosts with "
                            "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1");
    }
    jwks_global_init();
    h = curl_easy_init();
    if (h == NULL)
        return JWKS_ERR(err, GH_E_INTERNAL, "curl_easy_init failed");
    gh_buf_init(body, opts->cap);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, opts->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
                     opts->timeout_s < JWKS_CONNECT_TIMEOUT_S ? opts->timeout_s
                                                              : JWKS_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (opts->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, opts->ca_file);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "gatehouse");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE, (long)opts->cap);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, jwks_fetch_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, jwks_fetch_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    if (form != NULL) {
        /* a form POST (the OAuth token endpoint): the body is copied by libcurl before send */
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
        curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, form);
    }
    rc = curl_easy_perform(h);
    if (ctx.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        st = JWKS_ERR(err, GH_E_UPSTREAM, "document larger than %zu bytes", opts->cap);
        goto out;
    }
    if (rc != CURLE_OK) {
        st = JWKS_ERR(err, GH_E_UPSTREAM, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (out_status != NULL) {
        /* the caller reads error bodies too (RFC 6749 §5.2 answers 400 with JSON) */
        *out_status = status;
        goto out;
    }
    if (status < 200 || status > 299) {
        st = JWKS_ERR(err, GH_E_UPSTREAM, "HTTP status %ld", status);
        goto out;
    }
    *out_max_age = ctx.max_age;
out:
    if (st != GH_OK)
        gh_buf_free(body);
    curl_easy_cleanup(h);
    return st;
}

/* See jwks.h. */
enum gh_status jwks_fetch(const char *url, const struct jwks_fetch_opts *opts, struct gh_buf *body,
                          long *out_max_age, struct gh_err *err)
{
    return jwks_request(url, opts, NULL, body, out_max_age, NULL, err);
}

/* See jwks.h. The form is sent as application/x-www-form-urlencoded (libcurl's default for
 * POSTFIELDS); it may hold a client secret and a code, so it is never logged, and curl's copy
 * is freed with the handle. */
enum gh_status jwks_post_form(const char *url, const struct jwks_fetch_opts *opts, const char *form,
                              struct gh_buf *body, long *out_status, struct gh_err *err)
{
    long max_age;
    GH_ASSERT(form != NULL);
    *out_status = 0;
    return jwks_request(url, opts, form, body, &max_age, out_status, err);
}
