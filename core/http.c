/*
 * http.c - the libmicrohttpd listener and the request lifecycle.
 *
 * One MHD daemon: internal polling thread with epoll and a thread pool (GATEHOUSE_THREADS).
 * Lifecycle of a request (MHD 0.9.75): the first access-handler call (the headers are complete)
 * creates struct gh_req, routes it and runs the route's credential check; 404/405, a failed
 * credential, an oversized Content-Length and a body past the in-flight budget are answered at
 * once (MHD then closes the connection), before any body byte is read. Following calls append
 * the body to a buffer capped per route (413 past it); the last call (upload_data_size == 0) runs
 * the handler and queues the reply, which keeps the connection alive. NOTIFY_COMPLETED records
 * metrics, writes the access line and frees the request's arena.
 * Limits: connections in all and per client address, idle timeout, per-connection memory
 * (header cap), and fixed deadlines no trickle of bytes extends: a reaper thread shuts down
 * connections whose headers (GATEHOUSE_HEADER_TIMEOUT) or authenticated body
 * (GATEHOUSE_BODY_TIMEOUT) are late, and, when connections near GATEHOUSE_MAX_CONNECTIONS, those
 * that have sent no complete request for GH_HTTP_PRESSURE_GRACE_MS, so that a flood of half-open
 * connections leaves room for clients that send their requests.
 * Each worker thread keeps the last completed request's struct, arena chunk and body buffer for
 * its next request (no malloc on the hot path); the thread's exit frees them.
 */
#include "http.h"
#include "buf.h"
#include "caps.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdalign.h>
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

/* Reaper period, and the grace a connection without complete headers (or idle between requests)
 * keeps while connections are near the limit: well-behaved clients send their headers in one
 * packet, so a second is generous, and a flood of half-open connections is cleared within it. */
#define GH_HTTP_REAP_MS           100
#define GH_HTTP_PRESSURE_GRACE_MS 1000

/* Copies of the in-flight count; threads take them in turn. */
#define GH_HTTP_INFLIGHT_SHARDS 16

/* This thread's copy of a server's in-flight count (0 .. GH_HTTP_INFLIGHT_SHARDS - 1). */
static _Atomic unsigned gh_http_next_shard;
static _Thread_local int gh_http_shard = -1;

static int gh_http_my_shard(void)
{
    if (gh_http_shard < 0)
        gh_http_shard = (int)(atomic_fetch_add(&gh_http_next_shard, 1) % GH_HTTP_INFLIGHT_SHARDS);
    return gh_http_shard;
}

/* Where a connection is, for the reaper. */
enum gh_conn_phase {
    GH_CONN_HEADERS, /* no complete headers yet, or a route without credential reading its body */
    GH_CONN_IDLE,    /* kept alive between requests */
    GH_CONN_BODY,    /* an authenticated request's body is arriving */
    GH_CONN_BUSY,    /* our credential check, handler or reply: no deadline */
};

/* One per MHD connection, from NOTIFY_STARTED to NOTIFY_CLOSED (MHD's socket context). The list
 * links, fd and cut are guarded by srv->conns_lock; phase and times are written by the
 * connection's MHD thread without the lock and read by the reaper. */
struct gh_conn {
    struct gh_conn *prev, *next;
    int fd;
    bool cut;             /* shut down by the reaper */
    _Atomic bool request; /* a request has started (headers complete) and not completed */
    _Atomic int phase;
    _Atomic long long since_ms, deadline_ms; /* CLOCK_MONOTONIC_COARSE */
};

struct gh_reply_hdr {
    const char *name, *value; /* arena */
    struct gh_reply_hdr *next;
};

struct gh_req {
    struct MHD_Connection *conn;
    struct gh_server *srv;
    struct gh_arena *arena;
    const char *method; /* borrowed from MHD */
    const char *path;   /* borrowed from MHD */
    const struct gh_route *route;
    int route_index; /* -1: unmatched */
    struct gh_buf body;
    size_t discarded;   /* body bytes dropped past the cap */
    bool over_budget;   /* dropped because GATEHOUSE_MAX_BODY_INFLIGHT was reached: 503 */
    size_t expect_len;  /* Content-Length of an admitted body, 0 when unknown */
    size_t charged;     /* bytes counted in srv->body_bytes */
    struct gh_conn *cn; /* the connection's record (NULL only if MHD gave none) */
    void *auth;         /* what the route's gh_auth_fn verified; auth_release frees it */
    gh_release_fn auth_release;
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
    struct gh_server_opts opts;    /* its strings borrowed until gh_server_stop */
    const struct gh_route *routes; /* borrowed until gh_server_stop */
    size_t nroutes;
    int port;
    bool tls;
    /* requests started and not completed, counted per thread (summed when read) so that
     * worker threads do not bounce one line twice a request */
    struct {
        alignas(64) _Atomic long n;
    } inflight[GH_HTTP_INFLIGHT_SHARDS];
    _Atomic long body_bytes; /* bodies being received (charged), over all connections */
    /* connections, oldest first, and the reaper */
    pthread_mutex_t conns_lock;
    pthread_cond_t reaper_wake;
    struct gh_conn *conns_head, *conns_tail;
    long nconns;      /* in the list and not cut */
    long pressure_at; /* above this many, connections without a request are cut sooner */
    bool stopping;
    bool draining; /* gh_server_quiesce: no new requests; connections without one are cut */
    bool locks_ready, reaper_started;
    pthread_t reaper;
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

struct gh_http_pick {
    const char *const *names;
    size_t lens[16];
    const char **values;
    unsigned *counts;
};

static enum MHD_Result gh_http_pick_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                       size_t key_size, const char *value, size_t value_size)
{
    struct gh_http_pick *c = cls;
    (void)kind;
    (void)value_size;
    for (size_t i = 0; i < 16 && c->names[i] != NULL; i++) {
        /* the length first: most headers are not asked for and differ in it */
        if (c->lens[i] != key_size || strcasecmp(key, c->names[i]) != 0)
            continue;
        if (c->counts[i]++ == 0)
            c->values[i] = value;
    }
    return MHD_YES;
}

/* See http.h. */
void gh_req_headers_pick(const struct gh_req *r, const char *const *names, const char **values,
                         unsigned *counts)
{
    struct gh_http_pick c = {names, {0}, values, counts};
    for (size_t i = 0; i < 16 && names[i] != NULL; i++) {
        c.lens[i] = strlen(names[i]);
        values[i] = NULL;
        counts[i] = 0;
    }
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, gh_http_pick_cb, &c);
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

/* The matched route family's context (route.h), or NULL. Borrowed. */
void *gh_req_ctx(const struct gh_req *r)
{
    return r->route != NULL && r->route->ctx != NULL ? *r->route->ctx : NULL;
}

/* See http.h: the rows of the server's own table, by the matching the server routes with. */
void gh_req_allow(const struct gh_req *r, char *allow, size_t allow_cap)
{
    gh_route_allow(r->srv->routes, r->srv->nroutes, r->path, allow, allow_cap);
}

/* The matched route's metrics label ("none" when unmatched). */
const char *gh_req_route(const struct gh_req *r)
{
    return r->route != NULL ? r->route->label : "none";
}

/* The TCP peer's address (borrowed from MHD, valid until the request completes), or NULL. */
const struct sockaddr *gh_req_client_addr(const struct gh_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci != NULL ? ci->client_addr : NULL;
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
    size_t n, len;

    if (authorization == NULL || *authorization == '\0')
        return GH_ERR(err, GH_E_UNAUTHORIZED, "no Authorization header");
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return GH_ERR(err, GH_E_UNAUTHORIZED, "Authorization is not a Bearer credential");
    p = authorization + 7;
    while (*p == ' ')
        p++;
    /* The length first (strlen is vectorised), then the table eight bytes at a time: the
     * lookups are independent, so a ~1 KiB token costs a fraction of a byte-at-a-time scan. */
    len = strlen(p);
    for (n = 0; n + 8 <= len; n += 8) {
        const unsigned char *u = (const unsigned char *)p + n;
        if (!(gh_http_b64token[u[0]] & gh_http_b64token[u[1]] & gh_http_b64token[u[2]] &
              gh_http_b64token[u[3]] & gh_http_b64token[u[4]] & gh_http_b64token[u[5]] &
              gh_http_b64token[u[6]] & gh_http_b64token[u[7]]))
            break;
    }
    while (n < len && gh_http_b64token[(unsigned char)p[n]])
        n++;
    if (n == 0)
        return GH_ERR(err, GH_E_UNAUTHORIZED, "empty bearer token");
    if (n < len && strspn(p + n, " \t") != len - n)
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

/* See http.h. One credential per request: a second call would leak the first. */
void gh_req_auth_set(struct gh_req *r, void *verified, gh_release_fn release)
{
    GH_ASSERT(r->auth == NULL);
    r->auth = verified;
    r->auth_release = release;
}

/* See http.h. */
void *gh_req_auth(const struct gh_req *r)
{
    return r->auth;
}

/* Parse the body as strict JSON (core/json.h: a repeated member name, \u0000, a NUL byte or
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

/* See http.h. */
bool gh_reply_has_header(const struct gh_req *r, const char *name)
{
    for (const struct gh_reply_hdr *h = r->hdrs; h != NULL; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return true;
    return false;
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

/* See http.h. */
void gh_reply_fill(struct gh_req *r, unsigned status, const char *content_type,
                   gh_reply_fill_fn fill, gh_reply_max_fn max, const void *ctx)
{
    char local[2048];
    struct gh_span w;
    size_t cap, len;
    char *text;

    if (r->replied)
        return;
    gh_span_init(&w, local, sizeof(local));
    fill(&w, ctx);
    if (!w.full) {
        len = gh_span_len(&w);
        text = gh_xmalloc(len + 1);
        memcpy(text, local, len);
        text[len] = '\0';
        gh_reply_take(r, status, content_type, text, len);
        return;
    }
    cap = max(ctx);
    text = gh_xmalloc(cap + 1);
    gh_span_init(&w, text, cap);
    fill(&w, ctx);
    if (GH_NEVER(w.full)) {
        free(text);
        gh_reply(r, 500, "application/json", "{\"error\":\"internal\"}", 20);
        return;
    }
    len = gh_span_len(&w);
    text[len] = '\0';
    gh_reply_take(r, status, content_type, text, len);
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
    /* Nothing we answer may be cached by a proxy: decisions and SCIM state change. A handler
     * that set its own Cache-Control (the admin page's files: no-cache with an ETag) keeps it. */
    if (!gh_reply_has_header(r, MHD_HTTP_HEADER_CACHE_CONTROL))
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
        r->body.cap = (size_t)srv->opts.max_body;
    } else {
        r = gh_xcalloc(1, sizeof(*r));
        r->arena = gh_arena_new();
        gh_buf_init(&r->body, (size_t)srv->opts.max_body);
    }
    r->srv = srv;
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

/* ---- connection deadlines ---- */

static long long gh_http_now_ms(void)
{
    struct timespec t;
    /* the coarse clock (a few ms of resolution) is enough for deadlines of seconds, and costs
     * no more than a memory read on the request path */
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Enter a phase; its deadline is `secs` from now (ignored for GH_CONN_BUSY). The deadline is
 * written before the phase, and the reaper reads the phase first, so it never pairs a new phase
 * with the deadline of the one before. */
static void gh_http_conn_phase(struct gh_conn *c, enum gh_conn_phase phase, int secs)
{
    long long now;

    if (c == NULL)
        return;
    if (phase != GH_CONN_BUSY) {
        now = gh_http_now_ms();
        atomic_store_explicit(&c->since_ms, now, memory_order_relaxed);
        atomic_store_explicit(&c->deadline_ms, now + (long long)secs * 1000, memory_order_relaxed);
    }
    /* release: a reaper that sees this phase sees its times (plain stores on x86) */
    atomic_store_explicit(&c->phase, (int)phase, memory_order_release);
}

/* While draining: shut down every connection that has no request in progress (new ones, idle
 * kept-alive ones, ones still sending headers). conns_lock held. Returns how many. */
static long gh_http_cut_requestless(struct gh_server *srv)
{
    long n = 0;
    for (struct gh_conn *c = srv->conns_head; c != NULL; c = c->next) {
        if (c->cut || c->fd < 0 || atomic_load(&c->request))
            continue;
        shutdown(c->fd, SHUT_RDWR);
        c->cut = true;
        srv->nconns--;
        n++;
    }
    return n;
}

/*
 * MHD_OPTION_NOTIFY_CONNECTION: track each connection from accept to close. MHD 0.9.75 calls
 * CLOSED before it closes the socket (daemon.c: the cleanup of a closed connection, and the
 * failure path of a new one), and the record leaves the list under conns_lock there, so the
 * reaper, which shuts sockets down under the same lock, never touches a descriptor that was
 * closed and reused.
 */
static void gh_http_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe)
{
    struct gh_server *srv = cls;
    struct gh_conn *c;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = gh_xcalloc(1, sizeof(*c));
        c->fd = ci != NULL ? ci->connect_fd : -1;
        gh_http_conn_phase(c, GH_CONN_HEADERS, srv->opts.header_timeout);
        pthread_mutex_lock(&srv->conns_lock);
        c->prev = srv->conns_tail;
        if (srv->conns_tail != NULL)
            srv->conns_tail->next = c;
        else
            srv->conns_head = c;
        srv->conns_tail = c;
        srv->nconns++;
        if (srv->draining) /* shutting down: a new connection gets no request in */
            gh_http_cut_requestless(srv);
        pthread_mutex_unlock(&srv->conns_lock);
        *socket_context = c;
        return;
    }
    c = *socket_context;
    if (c == NULL)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns_head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        srv->conns_tail = c->prev;
    if (!c->cut)
        srv->nconns--;
    pthread_mutex_unlock(&srv->conns_lock);
    free(c);
    *socket_context = NULL;
}

/* The connection's record (its MHD socket context). */
static struct gh_conn *gh_http_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/*
 * The reaper: every GH_HTTP_REAP_MS, shut down (shutdown(2), so MHD sees the end of the stream
 * and closes the connection in its own thread) each connection past its deadline, and while
 * more than pressure_at connections are open, each that has had no complete request for
 * GH_HTTP_PRESSURE_GRACE_MS. Why not MHD's timeout: it is an idle timeout, reset by every byte,
 * so a client sending a byte a second holds its connection for ever.
 */
static void *gh_http_reaper(void *arg)
{
    struct gh_server *srv = arg;

    pthread_mutex_lock(&srv->conns_lock);
    while (!srv->stopping) {
        struct timespec until;
        long headers = 0, body = 0, pressed = 0;
        long long now;
        bool pressure;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)GH_HTTP_REAP_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->reaper_wake, &srv->conns_lock, &until);
        if (srv->stopping)
            break;
        if (srv->draining) /* a request that finished leaves its connection idle: cut it */
            gh_http_cut_requestless(srv);
        now = gh_http_now_ms();
        pressure = srv->nconns > srv->pressure_at;
        for (struct gh_conn *c = srv->conns_head; c != NULL; c = c->next) {
            int phase = atomic_load_explicit(&c->phase, memory_order_acquire);
            long long since = atomic_load_explicit(&c->since_ms, memory_order_relaxed);
            long long deadline = atomic_load_explicit(&c->deadline_ms, memory_order_relaxed);
            bool late = now >= deadline;
            bool idle = phase == GH_CONN_HEADERS || phase == GH_CONN_IDLE;

            if (c->cut || c->fd < 0 || phase == GH_CONN_BUSY)
                continue;
            if (!late && !(pressure && idle && now - since >= GH_HTTP_PRESSURE_GRACE_MS))
                continue;
            shutdown(c->fd, SHUT_RDWR);
            c->cut = true;
            srv->nconns--;
            if (!late)
                pressed++;
            else if (phase == GH_CONN_BODY)
                body++;
            else
                headers++;
        }
        if (headers + body + pressed > 0) {
            pthread_mutex_unlock(&srv->conns_lock);
            gh_log(GH_LOG_WARN, "http",
                   "\"connections cut\" header_deadline=%ld body_deadline=%ld near_limit=%ld",
                   headers, body, pressed);
            pthread_mutex_lock(&srv->conns_lock);
        }
    }
    pthread_mutex_unlock(&srv->conns_lock);
    return NULL;
}

/* ---- bodies in flight ---- */

/* Count r's body as `total` bytes against GATEHOUSE_MAX_BODY_INFLIGHT; false (nothing counted)
 * when that would pass it. Small bodies are not counted (caps.h GH_CAP_BODY_UNCOUNTED). */
static bool gh_http_charge(struct gh_server *srv, struct gh_req *r, size_t total)
{
    long add, was;

    if (total <= GH_CAP_BODY_UNCOUNTED || total <= r->charged)
        return true;
    add = (long)(total - r->charged);
    was = atomic_fetch_add(&srv->body_bytes, add);
    if (was + add > (long)srv->opts.max_body_inflight) {
        atomic_fetch_sub(&srv->body_bytes, add);
        return false;
    }
    r->charged = total;
    return true;
}

/* Stop keeping r's body (it will be answered with an error): free it and uncount it. */
static void gh_http_body_drop(struct gh_server *srv, struct gh_req *r)
{
    gh_buf_free(&r->body);
    if (r->charged > 0)
        atomic_fetch_sub(&srv->body_bytes, (long)r->charged);
    r->charged = 0;
}

/* ---- the request lifecycle ---- */

/*
 * The headers are complete and r is routed: check the route's credential, then its body cap and
 * the in-flight budget against Content-Length. Anything refused here is answered at once; MHD
 * 0.9.75 then closes the connection without reading the body (a reply queued this early always
 * carries Connection: close), which is what a client that has not authenticated deserves.
 */
static enum MHD_Result gh_http_admit(struct gh_server *srv, struct gh_req *r)
{
    const struct gh_route *rt = r->route;
    size_t cap = (size_t)srv->opts.max_body;
    const char *cl;

    if (GH_NEVER(rt == NULL)) /* 404/405 are answered before a request is admitted */
        return gh_http_fail(r, GH_E_NOT_FOUND, "no such route");
    if (rt->auth != NULL) {
        struct gh_err err = {0};
        enum gh_status st;
        /* The check is our work, not the client's: it may wait for a JWKS refresh (a key
         * rollover; up to twice GATEHOUSE_HTTP_TIMEOUT), which no header deadline may cut. */
        gh_http_conn_phase(r->cn, GH_CONN_BUSY, 0);
        st = rt->auth(r, &err);
        if (st != GH_OK) {
            if (!gh_err_is_set(&err))
                GH_ERR(&err, st, "%s", gh_status_name(st));
            /* a refused client has the header deadline, from now, to take its answer */
            gh_http_conn_phase(r->cn, GH_CONN_HEADERS, srv->opts.header_timeout);
            gh_http_render(r, &err);
            return gh_http_queue(r);
        }
        gh_http_conn_phase(r->cn, GH_CONN_BODY, srv->opts.body_timeout);
    } else {
        /* No credential, so no more patience than for headers, from now. */
        gh_http_conn_phase(r->cn, GH_CONN_HEADERS, srv->opts.header_timeout);
    }
    if (rt->body_cap > 0 && (size_t)rt->body_cap < cap)
        cap = (size_t)rt->body_cap;
    r->body.cap = cap;
    cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end == cl || *end != '\0')
            return gh_http_fail(r, GH_E_INVALID, "bad Content-Length");
        if (n > (unsigned long long)cap) {
            /* A client that asked "Expect: 100-continue" waits for this answer and sends
             * nothing. One that already sends a moderately large body would see a reset
             * instead of the 413 if we closed now, so its body is read and dropped (as
             * nginx's lingering close does) and 413 answered at the end; a huge one is
             * answered at once. */
            if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) !=
                    NULL ||
                n > 4 * (unsigned long long)cap)
                return gh_http_fail(r, GH_E_TOO_LARGE, "request body too large");
            r->discarded = 1;
            return MHD_YES;
        }
        /* Why up front: the whole body is counted before a byte of it is kept, so the budget
         * refuses at once rather than after the memory is spent. */
        if (!gh_http_charge(srv, r, (size_t)n)) {
            gh_reply_header(r, "Retry-After", "1");
            return gh_http_fail(r, GH_E_UNAVAILABLE,
                                "too many request bodies are being received; retry shortly");
        }
        r->expect_len = (size_t)n;
    }
    return MHD_YES;
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
        enum gh_status st;

        r = gh_http_req_new(srv);
        r->conn = conn;
        r->method = method;
        r->path = url;
        r->cn = gh_http_conn_of(conn);
        if (r->cn != NULL) /* draining leaves this connection alone until the request is done */
            atomic_store(&r->cn->request, true);
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        *con_cls = r;
        atomic_fetch_add_explicit(&srv->inflight[gh_http_my_shard()].n, 1, memory_order_relaxed);

        st = gh_route_find(srv->routes, srv->nroutes, method, url, &r->route, allow, sizeof(allow));
        if (r->route != NULL)
            r->route_index = (int)(r->route - srv->routes);
        if (st == GH_E_NOT_FOUND)
            return gh_http_fail(r, GH_E_NOT_FOUND, "no such route");
        if (st == GH_E_METHOD) {
            gh_reply_header(r, MHD_HTTP_HEADER_ALLOW, allow);
            return gh_http_fail(r, GH_E_METHOD, "method not allowed on this path");
        }
        return gh_http_admit(srv, r);
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->discarded == 0) {
            if (!gh_http_charge(srv, r, r->body.len + n)) {
                /* A chunked body (no Content-Length to count up front) ran into the budget. */
                r->over_budget = true;
            } else {
                if (r->body.data == NULL && r->expect_len > 0)
                    gh_buf_reserve(&r->body, r->expect_len);
                if (gh_buf_append(&r->body, upload_data, n, NULL) == GH_OK)
                    return MHD_YES;
            }
            gh_http_body_drop(srv, r);
        }
        /* Past the cap or the budget. MHD 0.9.75 cannot queue a reply mid-body, so the rest is
         * discarded unread into memory and the error answered at the end; a client that keeps
         * sending far past the cap is cut off instead. */
        r->discarded += n;
        if (r->discarded > 4 * r->body.cap)
            return MHD_NO;
        return MHD_YES;
    }
    if (r->over_budget) {
        gh_reply_header(r, "Retry-After", "1");
        return gh_http_fail(r, GH_E_UNAVAILABLE,
                            "too many request bodies are being received; retry shortly");
    }
    if (r->discarded > 0)
        return gh_http_fail(r, GH_E_TOO_LARGE, "request body too large");
    gh_http_conn_phase(r->cn, GH_CONN_BUSY, 0);
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
    struct gh_log_line line;
    (void)conn;

    if (r == NULL)
        return;
    /* The next request on this connection must have its headers in within the idle timeout,
     * however it trickles them. */
    gh_http_conn_phase(r->cn, GH_CONN_IDLE, srv->opts.conn_timeout);
    if (r->cn != NULL)
        atomic_store(&r->cn->request, false);
    secs = gh_http_elapsed(&r->start);
    gh_metrics_observe_request(r->route_index, r->replied ? r->status : 0, secs);
    /* The access line: path only (a query string may carry secrets), never headers. A 429 is
     * an address over its failed-authentication budget: core/authfail.c counts those in its
     * summary line, so a guessing flood does not write a line per try. */
    if ((!r->replied || r->status != 429) && gh_log_begin(&line, GH_LOG_INFO, "http")) {
        /* written in place into the thread's log buffer, without printf (which cost more than
         * the rest of the line); dur_ms in integer microseconds */
        long long us = (long long)(secs * 1e6);
        char frac[3] = {(char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
                        (char)('0' + us % 10)};
        gh_span_lit(&line.w, "\"request\" method=");
        gh_span_puts(&line.w, r->method);
        gh_span_lit(&line.w, " path=");
        gh_span_puts(&line.w, gh_log_q(qpath, sizeof(qpath), r->path));
        gh_span_lit(&line.w, " route=");
        gh_span_puts(&line.w, gh_req_route(r));
        gh_span_lit(&line.w, " status=");
        gh_span_u64(&line.w, r->replied ? r->status : 0);
        gh_span_lit(&line.w, " dur_ms=");
        gh_span_i64(&line.w, us / 1000);
        gh_span_lit(&line.w, ".");
        gh_span_put(&line.w, frac, sizeof(frac));
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            gh_span_lit(&line.w, " aborted=1");
        gh_log_end(&line);
    }
    if (r->auth_release != NULL)
        r->auth_release(r->auth);
    r->auth = NULL;
    r->auth_release = NULL;
    if (r->charged > 0)
        atomic_fetch_sub(&srv->body_bytes, (long)r->charged);
    r->charged = 0;
    gh_http_req_done(r);
    *con_cls = NULL;
    atomic_fetch_sub_explicit(&srv->inflight[gh_http_my_shard()].n, 1, memory_order_relaxed);
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

/* Read a whole file (at most 1 MiB) into *out (NUL-terminated, the caller frees it). */
static enum gh_status gh_http_read_file(const char *path, char **out, struct gh_err *err)
{
    FILE *f = fopen(path, "rb");
    struct gh_buf b;
    char chunk[4096];
    size_t n;
    enum gh_status st = GH_OK;

    gh_buf_init(&b, (size_t)1024 * 1024);
    if (f == NULL) {
        st = GH_ERR(err, GH_E_INVALID, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0)
            break;
        st = gh_buf_append(&b, chunk, n, err);
        if (st)
            goto out;
    }
    *out = gh_buf_steal(&b, NULL);
out:
    if (f != NULL)
        fclose(f);
    gh_buf_free(&b);
    return st;
}

/*
 * Start the listener; see http.h. Binds o->listen_host:port (numeric address or a name
 * resolved once), TLS 1.2+ when a certificate is configured. On success *out_srv is owned by the
 * caller (gh_server_stop).
 */
enum gh_status gh_server_start(const struct gh_server_opts *o, const struct gh_route *routes,
                               size_t nroutes, struct gh_server **out_srv, struct gh_err *err)
{
    struct gh_server *srv = gh_xcalloc(1, sizeof(*srv));
    struct addrinfo hints = {0}, *ai = NULL;
    char port[8];
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    const union MHD_DaemonInfo *info;
    enum gh_status st = GH_OK;
    int rc;

    srv->opts = *o;
    srv->routes = routes;
    srv->nroutes = nroutes;
    /* Room kept for clients that send their requests: an eighth of the connections. */
    srv->pressure_at =
        o->max_connections - (o->max_connections / 8 > 1 ? o->max_connections / 8 : 1);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&srv->reaper_wake, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_init(&srv->conns_lock, NULL);
        srv->locks_ready = true;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%d", o->listen_port);
    rc = getaddrinfo(o->listen_host, port, &hints, &ai);
    if (rc != 0) {
        st = GH_ERR(err, GH_E_INVALID, "GATEHOUSE_LISTEN: cannot resolve %s: %s", o->listen_host,
                    gai_strerror(rc));
        goto out;
    }
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (o->tls_cert != NULL) {
        st = gh_http_read_file(o->tls_cert, &srv->tls_cert_pem, err);
        if (st == GH_OK)
            st = gh_http_read_file(o->tls_key, &srv->tls_key_pem, err);
        if (st) {
            st =
                GH_E_INVALID; /* an unreadable TLS file, whatever the cause, is bad configuration */
            goto out;
        }
        flags |= MHD_USE_TLS;
        srv->tls = true;
    }
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, gh_http_access, srv, MHD_OPTION_EXTERNAL_LOGGER, gh_http_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)(o->threads > 1 ? o->threads : 0), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)o->conn_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)GH_CAP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, gh_http_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, gh_http_conn_notify, srv, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)o->max_connections_per_ip, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)512,
        /* TLS 1.2 and 1.3 only (Entra requires 1.2+; older versions are broken). */
        srv->tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE", MHD_OPTION_HTTPS_MEM_CERT,
        srv->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key_pem, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        st = GH_ERR(err, GH_E_INTERNAL,
                    "cannot listen on %s:%d (address in use, bad TLS certificate/key, or no "
                    "permission)",
                    o->listen_host, o->listen_port);
        goto out;
    }
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : o->listen_port;
    if (pthread_create(&srv->reaper, NULL, gh_http_reaper, srv) != 0) {
        st = GH_ERR(err, GH_E_INTERNAL, "cannot start the connection reaper thread");
        goto out;
    }
    srv->reaper_started = true;
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

/*
 * Start draining: requests in progress finish; every connection without one (and every new
 * one) is shut down, so no new request starts. Why not MHD_quiesce_daemon: in MHD 0.9.75 with a
 * thread pool and epoll it races the workers, which remove the listen socket from their epoll
 * sets themselves, and the loser calls MHD_PANIC ("Failed to remove listen FD from epoll set"),
 * an abort at shutdown. The listen socket itself closes in gh_server_stop. Thread-safe.
 */
void gh_server_quiesce(struct gh_server *srv)
{
    pthread_mutex_lock(&srv->conns_lock);
    srv->draining = true;
    gh_http_cut_requestless(srv);
    pthread_mutex_unlock(&srv->conns_lock);
}

/* Requests that have started and not completed. Thread-safe. */
long gh_server_inflight(const struct gh_server *srv)
{
    long n = 0;
    /* a request may complete on another thread than it started on: only the sum counts */
    for (int i = 0; i < GH_HTTP_INFLIGHT_SHARDS; i++)
        n += atomic_load(&((struct gh_server *)srv)->inflight[i].n);
    return n;
}

/* Stop the daemon and free srv. NULL is a no-op. */
void gh_server_stop(struct gh_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->reaper_started) {
        pthread_mutex_lock(&srv->conns_lock);
        srv->stopping = true;
        pthread_cond_signal(&srv->reaper_wake);
        pthread_mutex_unlock(&srv->conns_lock);
        pthread_join(srv->reaper, NULL);
    }
    /* closes every connection: each CLOSED notification empties the list */
    if (srv->mhd != NULL)
        MHD_stop_daemon(srv->mhd);
    if (srv->locks_ready) {
        GH_ASSERT(srv->conns_head == NULL);
        pthread_mutex_destroy(&srv->conns_lock);
        pthread_cond_destroy(&srv->reaper_wake);
    }
    free(srv->tls_cert_pem);
    if (srv->tls_key_pem != NULL)
        OPENSSL_cleanse(srv->tls_key_pem, strlen(srv->tls_key_pem));
    free(srv->tls_key_pem);
    free(srv);
}
