/*
 * http.c - the libmicrohttpd listener and the request lifecycle.
 *
 * One MHD daemon: internal polling thread with epoll and a thread pool (GATEHOUSE_THREADS).
 * Lifecycle of a request (MHD 0.9.75): the first access-handler call creates struct gh_req and
 * routes it (404/405 and an oversized Content-Length are answered at once); following calls
 * append the body to a capped buffer (413 past GATEHOUSE_MAX_BODY, answered without reading the
 * rest); the last call (upload_data_size == 0) runs the handler and queues the reply, which keeps
 * the connection alive. NOTIFY_COMPLETED records metrics, writes the access line and frees the
 * request's arena. Limits: connection count, idle timeout, per-connection memory (header cap).
 * Each worker thread keeps the last completed request's struct, arena chunk and body buffer for
 * its next request (no malloc on the hot path); the thread's exit frees them.
 */
#include "http.h"
#include "app.h"
#include "buf.h"
#include "caps.h"
#include "config.h"
#include "http_int.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "router.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <pthread.h>

struct gh_reply_hdr {
    const char *name, *value; /* arena */
    struct gh_reply_hdr *next;
};

struct gh_req {
    struct MHD_Connection *conn;
    struct gh_app *app;
    struct gh_arena *arena;
    const char *method; /* borrowed from MHD */
    const char *path;   /* borrowed from MHD */
    const struct gh_route *route;
    int route_index; /* -1: unmatched */
    struct gh_buf body;
    size_t discarded; /* body bytes dropped past the cap */
    struct timespec start;
    /* reply */
    bool replied;
    unsigned status;
    struct gh_reply_hdr *hdrs;
    const char *content_type;
    const char *reply_body; /* arena, or reply_owned */
    char *reply_owned;      /* malloc'd body handed to MHD (MUST_FREE); NULL once handed */
    size_t reply_len;
};

struct gh_server {
    struct MHD_Daemon *mhd;
    struct gh_app *app;
    const struct gh_config *cfg;
    int port;
    bool tls;
    _Atomic long inflight;
    char *tls_cert_pem;
    char *tls_key_pem;
};

/* ---- reading ---- */

/* The request method (borrowed). */
const char *gh_req_method(const struct gh_req *r)
{
    return r->method;
}

/* The decoded path without the query string (borrowed). */
const char *gh_req_path(const struct gh_req *r)
{
    return r->path;
}

/* A request header by case-insensitive name, or NULL (borrowed). */
const char *gh_req_header(const struct gh_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct gh_http_count {
    const char *name;
    unsigned n;
};

static enum MHD_Result gh_http_count_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    struct gh_http_count *c = cls;
    (void)kind;
    (void)value;
    if (strcasecmp(key, c->name) == 0)
        c->n++;
    return MHD_YES;
}

/* How many times a header was sent (case-insensitive name). */
unsigned gh_req_header_count(const struct gh_req *r, const char *name)
{
    struct gh_http_count c = {name, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, gh_http_count_cb, &c);
    return c.n;
}

/* A decoded query parameter, or NULL when absent or valueless (borrowed). */
const char *gh_req_query(const struct gh_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* True when the query string names the parameter, with or without a value. */
bool gh_req_has_query(const struct gh_req *r, const char *name)
{
    const char *v = NULL;
    size_t vlen = 0;
    return MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                         &vlen) == MHD_YES;
}

/* The request body, NUL-terminated ("" when none); borrowed. */
const char *gh_req_body(const struct gh_req *r, size_t *out_len)
{
    if (out_len != NULL)
        *out_len = r->body.len;
    return gh_buf_str(&r->body);
}

/* The request's arena. */
struct gh_arena *gh_req_arena(struct gh_req *r)
{
    return r->arena;
}

/* The daemon state (borrowed). */
struct gh_app *gh_req_app(const struct gh_req *r)
{
    return r->app;
}

/* The matched route's metrics label ("none" when unmatched). */
const char *gh_req_route(const struct gh_req *r)
{
    return r->route != NULL ? r->route->label : "none";
}

/* RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding (accepted
 * anywhere here; token parsers check the shape). A table: this runs over every token. */
static const unsigned char gh_http_b64token[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['-'] = 1, ['.'] = 1,
    ['_'] = 1, ['~'] = 1, ['+'] = 1, ['/'] = 1, ['='] = 1};

/*
 * Parse an Authorization value as RFC 6750 §2.1 "Bearer <b64token>". The scheme is
 * case-insensitive; exactly one space-separated credential of b64token characters is accepted,
 * because anything looser lets odd bytes reach token parsers. The token is borrowed from the
 * input. Thread-safe.
 */
enum gh_status gh_http_parse_bearer(const char *authorization, const char **out_tok,
                                    size_t *out_len, struct gh_err *err)
{
    const char *p;
    size_t n;

    if (authorization == NULL || *authorization == '\0')
        return GH_ERR(err, GH_E_UNAUTHORIZED, "no Authorization header");
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return GH_ERR(err, GH_E_UNAUTHORIZED, "Authorization is not a Bearer credential");
    p = authorization + 7;
    while (*p == ' ')
        p++;
    for (n = 0; gh_http_b64token[(unsigned char)p[n]]; n++)
        ;
    if (n == 0)
        return GH_ERR(err, GH_E_UNAUTHORIZED, "empty bearer token");
    if (p[n] != '\0' && strspn(p + n, " \t") != strlen(p + n))
        return GH_ERR(err, GH_E_UNAUTHORIZED, "malformed bearer token");
    *out_tok = p;
    *out_len = n;
    return GH_OK;
}

/* The bearer token of the request; see http.h. */
enum gh_status gh_req_bearer(const struct gh_req *r, const char **out_tok, size_t *out_len,
                             struct gh_err *err)
{
    return gh_http_parse_bearer(gh_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION), out_tok, out_len,
                                err);
}

/* Parse the body as strict JSON (sidecar/json.h: a repeated member name, \u0000, a NUL byte or
 * invalid UTF-8 is refused before cJSON reads it); caller owns the result. */
enum gh_status gh_req_json(const struct gh_req *r, cJSON **out_json, struct gh_err *err)
{
    return gh_json_parse(gh_buf_str(&r->body), r->body.len, 0, "request body", out_json, err);
}

/* ---- answering ---- */

/* Add a response header (copied). Ignored after the reply was sent. */
void gh_reply_header(struct gh_req *r, const char *name, const char *value)
{
    struct gh_reply_hdr *h = gh_arena_alloc(r->arena, sizeof(*h));
    h->name = gh_arena_strdup(r->arena, name);
    h->value = gh_arena_strdup(r->arena, value);
    h->next = r->hdrs;
    r->hdrs = h;
}

/* Set the reply (body copied). Only the first reply counts. */
void gh_reply(struct gh_req *r, unsigned status, const char *content_type, const char *body,
              size_t len)
{
    if (r->replied)
        return;
    r->replied = true;
    r->status = status;
    r->content_type = content_type != NULL ? gh_arena_strdup(r->arena, content_type) : NULL;
    r->reply_body = len ? gh_arena_strndup(r->arena, body, len) : "";
    r->reply_len = len;
}

/* See http.h. */
void gh_reply_take(struct gh_req *r, unsigned status, const char *content_type, char *body,
                   size_t len)
{
    if (r->replied) {
        free(body);
        return;
    }
    r->replied = true;
    r->status = status;
    r->content_type = content_type;
    r->reply_owned = body;
    r->reply_body = body;
    r->reply_len = len;
}

/* Reply with a JSON document; takes ownership of body. cJSON allocates with malloc (no hooks
 * are installed), so the printed text goes to MHD as it is. */
void gh_reply_json(struct gh_req *r, unsigned status, cJSON *body)
{
    char *s = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (s == NULL) {
        gh_reply(r, 500, "application/json", "{\"error\":\"internal\"}", 20);
        return;
    }
    gh_reply_take(r, status, "application/json", s, strlen(s));
}

/* The default error body for routes without a protocol of their own. */
void gh_reply_error(struct gh_req *r, const struct gh_err *err)
{
    cJSON *j = cJSON_CreateObject();
    enum gh_status st = err != NULL && err->status ? err->status : GH_E_INTERNAL;
    cJSON_AddStringToObject(j, "error", gh_status_name(st));
    cJSON_AddStringToObject(j, "message",
                            err != NULL && err->msg[0] ? err->msg : gh_status_name(st));
    gh_reply_json(r, gh_status_http(st), j);
}

/* True once a reply was set. */
bool gh_req_replied(const struct gh_req *r)
{
    return r->replied;
}

/* The reply's status (0 before a reply). */
unsigned gh_req_reply_status(const struct gh_req *r)
{
    return r->status;
}

/* ---- MHD plumbing ---- */

static void gh_http_render(struct gh_req *r, const struct gh_err *err)
{
    if (r->route != NULL && r->route->render_error != NULL)
        r->route->render_error(r, err);
    else
        gh_reply_error(r, err);
}

static enum MHD_Result gh_http_queue(struct gh_req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!r->replied) {
        struct gh_err err = {0};
        GH_ERR(&err, GH_E_INTERNAL, "handler gave no reply");
        gh_http_render(r, &err);
    }
    if (r->reply_owned != NULL) {
        resp = MHD_create_response_from_buffer(r->reply_len, r->reply_owned, MHD_RESPMEM_MUST_FREE);
        if (resp != NULL)
            r->reply_owned = NULL; /* MHD frees it with the response */
    } else {
        resp = MHD_create_response_from_buffer(r->reply_len, (void *)r->reply_body,
                                               MHD_RESPMEM_MUST_COPY);
    }
    if (resp == NULL)
        return MHD_NO;
    if (r->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (struct gh_reply_hdr *h = r->hdrs; h != NULL; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    /* Nothing we answer may be cached by a proxy: decisions and SCIM state change. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Answer an error decided by the HTTP layer itself (404, 405, 413). */
static enum MHD_Result gh_http_fail(struct gh_req *r, enum gh_status st, const char *msg)
{
    struct gh_err err = {0};
    GH_ERR(&err, st, "%s", msg);
    gh_http_render(r, &err);
    return gh_http_queue(r);
}

static void gh_http_dispatch(struct gh_req *r)
{
    struct gh_err err = {0};
    enum gh_status st;

    st = r->route->handler(r, &err);
    if (st != GH_OK && !r->replied) {
        if (!gh_err_is_set(&err))
            GH_ERR(&err, st, "%s", gh_status_name(st));
        if (gh_status_http(err.status) >= 500)
            gh_log(GH_LOG_ERROR, "http", "\"handler failed\" route=%s status=%s err=%s",
                   r->route->label, gh_status_name(err.status),
                   gh_log_q((char[GH_ERR_MSG_MAX + 8]){0}, GH_ERR_MSG_MAX + 8, err.msg));
        gh_http_render(r, &err);
    }
}

/* ---- per-thread reuse of request state ----
 * Off under AddressSanitizer, so that a handler keeping a pointer into a finished request is a
 * use-after-free ASan reports rather than a read of the next request's data. */
#if defined(__SANITIZE_ADDRESS__)
#define GH_HTTP_REUSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GH_HTTP_REUSE 0
#endif
#endif
#ifndef GH_HTTP_REUSE
#define GH_HTTP_REUSE 1
#endif

static pthread_once_t gh_http_spare_once = PTHREAD_ONCE_INIT;
static pthread_key_t gh_http_spare_key;

static void gh_http_req_destroy(void *p)
{
    struct gh_req *r = p;
    if (r == NULL)
        return;
    free(r->reply_owned);
    gh_buf_free(&r->body);
    gh_arena_free(r->arena);
    free(r);
}

static void gh_http_spare_init(void)
{
    int rc = pthread_key_create(&gh_http_spare_key, gh_http_req_destroy);
    GH_ASSERT(rc == 0);
}

/* A cleared request: this thread's spare when it has one, else a new one. */
static struct gh_req *gh_http_req_new(struct gh_server *srv)
{
    struct gh_req *r;

    pthread_once(&gh_http_spare_once, gh_http_spare_init);
    r = pthread_getspecific(gh_http_spare_key);
    if (r != NULL) {
        struct gh_arena *a = r->arena;
        struct gh_buf body = r->body;
        pthread_setspecific(gh_http_spare_key, NULL);
        memset(r, 0, sizeof(*r));
        r->arena = a;
        r->body = body;
        r->body.cap = (size_t)srv->cfg->max_body;
    } else {
        r = gh_xcalloc(1, sizeof(*r));
        r->arena = gh_arena_new();
        gh_buf_init(&r->body, (size_t)srv->cfg->max_body);
    }
    r->app = srv->app;
    r->route_index = -1;
    return r;
}

/* Done with r: kept as this thread's spare (cleared of what it pointed at) or freed. */
static void gh_http_req_done(struct gh_req *r)
{
    free(r->reply_owned);
    r->reply_owned = NULL;
    pthread_once(&gh_http_spare_once, gh_http_spare_init);
    if (!GH_HTTP_REUSE || pthread_getspecific(gh_http_spare_key) != NULL) {
        gh_http_req_destroy(r);
        return;
    }
    gh_arena_reset(r->arena);
    /* a large body's memory is not worth keeping per thread; a kept one is wiped (SCIM bodies
     * carry personal data) */
    if (r->body.alloc > (size_t)16 * 1024) {
        gh_buf_free(&r->body);
    } else {
        if (r->body.data != NULL)
            memset(r->body.data, 0, r->body.len);
        gh_buf_reset(&r->body);
    }
    if (pthread_setspecific(gh_http_spare_key, r) != 0)
        gh_http_req_destroy(r);
}

static enum MHD_Result gh_http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct gh_server *srv = cls;
    struct gh_req *r = *con_cls;
    (void)version;

    if (r == NULL) {
        char allow[96];
        const char *cl;
        enum gh_status st;

        r = gh_http_req_new(srv);
        r->conn = conn;
        r->method = method;
        r->path = url;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        *con_cls = r;
        atomic_fetch_add(&srv->inflight, 1);

        st = gh_router_find(method, url, &r->route, allow, sizeof(allow));
        if (r->route != NULL) {
            size_t n;
            r->route_index = (int)(r->route - gh_router_table(&n));
        }
        if (st == GH_E_NOT_FOUND)
            return gh_http_fail(r, GH_E_NOT_FOUND, "no such route");
        if (st == GH_E_METHOD) {
            gh_reply_header(r, MHD_HTTP_HEADER_ALLOW, allow);
            return gh_http_fail(r, GH_E_METHOD, "method not allowed on this path");
        }
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end == cl || *end != '\0')
                return gh_http_fail(r, GH_E_INVALID, "bad Content-Length");
            if (n > (unsigned long long)srv->cfg->max_body) {
                /* A client that asked "Expect: 100-continue" waits for this answer and sends
                 * nothing. One that already sends a moderately large body would see a reset
                 * instead of the 413 if we closed now, so its body is read and dropped (as
                 * nginx's lingering close does) and 413 answered at the end; a huge one is
                 * answered at once. */
                if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) !=
                        NULL ||
                    n > 4 * (unsigned long long)srv->cfg->max_body)
                    return gh_http_fail(r, GH_E_TOO_LARGE, "request body too large");
                r->discarded = 1;
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->discarded == 0 && gh_buf_append(&r->body, upload_data, n, NULL) == GH_OK)
            return MHD_YES;
        /* Past the cap (a chunked upload has no Content-Length to refuse up front). MHD
         * 0.9.75 cannot queue a reply mid-body, so the rest is discarded unread into memory
         * and 413 is answered at the end; a client that keeps sending far past the cap is
         * cut off instead. */
        r->discarded += n;
        if (r->discarded > 4 * r->body.cap)
            return MHD_NO;
        return MHD_YES;
    }
    if (r->discarded > 0)
        return gh_http_fail(r, GH_E_TOO_LARGE, "request body too large");
    gh_http_dispatch(r);
    return gh_http_queue(r);
}

static double gh_http_elapsed(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void gh_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct gh_server *srv = cls;
    struct gh_req *r = *con_cls;
    double secs;
    char qpath[256];
    (void)conn;

    if (r == NULL)
        return;
    secs = gh_http_elapsed(&r->start);
    gh_metrics_observe_request(r->route_index, r->replied ? r->status : 0, secs);
    /* The access line: path only (a query string may carry secrets), never headers. */
    gh_log(GH_LOG_INFO, "http", "\"request\" method=%s path=%s route=%s status=%u dur_ms=%.3f%s",
           r->method, gh_log_q(qpath, sizeof(qpath), r->path), gh_req_route(r),
           r->replied ? r->status : 0, secs * 1000.0,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    gh_http_req_done(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

static void gh_http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    char q[560];
    size_t n;
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    gh_log(GH_LOG_WARN, "mhd", "%s", gh_log_q(q, sizeof(q), msg));
}

static char *gh_http_read_file(const char *path, struct gh_err *err)
{
    FILE *f = fopen(path, "rb");
    struct gh_buf b;
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        GH_ERR(err, GH_E_INVALID, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    gh_buf_init(&b, (size_t)1024 * 1024);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (gh_buf_append(&b, chunk, n, err) != GH_OK) {
            fclose(f);
            gh_buf_free(&b);
            return NULL;
        }
    }
    fclose(f);
    return gh_buf_steal(&b, NULL);
}

/*
 * Start the listener; see http_int.h. Binds cfg->listen_host:port (numeric address or a name
 * resolved once), TLS 1.2+ when a certificate is configured. On success *out_srv is owned by the
 * caller (gh_server_stop).
 */
enum gh_status gh_server_start(const struct gh_config *cfg, struct gh_app *app,
                               struct gh_server **out_srv, struct gh_err *err)
{
    struct gh_server *srv = gh_xcalloc(1, sizeof(*srv));
    struct addrinfo hints = {0}, *ai = NULL;
    char port[8];
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    const union MHD_DaemonInfo *info;
    enum gh_status st = GH_OK;
    int rc;

    srv->app = app;
    srv->cfg = cfg;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%d", cfg->listen_port);
    rc = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (rc != 0) {
        st = GH_ERR(err, GH_E_INVALID, "GATEHOUSE_LISTEN: cannot resolve %s: %s", cfg->listen_host,
                    gai_strerror(rc));
        goto out;
    }
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cfg->tls_cert != NULL) {
        srv->tls_cert_pem = gh_http_read_file(cfg->tls_cert, err);
        srv->tls_key_pem = srv->tls_cert_pem ? gh_http_read_file(cfg->tls_key, err) : NULL;
        if (srv->tls_key_pem == NULL) {
            st = GH_E_INVALID;
            goto out;
        }
        flags |= MHD_USE_TLS;
        srv->tls = true;
    }
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, gh_http_access, srv, MHD_OPTION_EXTERNAL_LOGGER, gh_http_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)(cfg->threads > 1 ? cfg->threads : 0), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)cfg->conn_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)GH_CAP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, gh_http_completed, srv,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)512,
        /* TLS 1.2 and 1.3 only (Entra requires 1.2+; older versions are broken). */
        srv->tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE", MHD_OPTION_HTTPS_MEM_CERT,
        srv->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key_pem, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        st = GH_ERR(err, GH_E_INTERNAL,
                    "cannot listen on %s:%d (address in use, bad TLS certificate/key, or no "
                    "permission)",
                    cfg->listen_host, cfg->listen_port);
        goto out;
    }
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : cfg->listen_port;
out:
    if (ai != NULL)
        freeaddrinfo(ai);
    if (st) {
        gh_server_stop(srv);
        return st;
    }
    *out_srv = srv;
    return GH_OK;
}

/* The bound port (useful when GATEHOUSE_LISTEN asked for port 0). */
int gh_server_port(const struct gh_server *srv)
{
    return srv->port;
}

/* Stop accepting: connections already open finish their requests. */
void gh_server_quiesce(struct gh_server *srv)
{
    MHD_socket s = MHD_quiesce_daemon(srv->mhd);
    if (s != MHD_INVALID_SOCKET)
        close(s);
}

/* Requests that have started and not completed. Thread-safe. */
long gh_server_inflight(const struct gh_server *srv)
{
    return atomic_load(&((struct gh_server *)srv)->inflight);
}

/* Stop the daemon and free srv. NULL is a no-op. */
void gh_server_stop(struct gh_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->mhd != NULL)
        MHD_stop_daemon(srv->mhd);
    free(srv->tls_cert_pem);
    if (srv->tls_key_pem != NULL)
        OPENSSL_cleanse(srv->tls_key_pem, strlen(srv->tls_key_pem));
    free(srv->tls_key_pem);
    free(srv);
}
