/*
 * decision_log.c - JSON lines of decisions, buffered per thread (core/logbuf.h) and appended to
 * the file within AUTHZ_DL_FLUSH_MS, whole lines per write(2).
 * Counters are process-wide so /metrics can report decisions by result even when the log itself
 * is off.
 */
#include "authz/decision_log.h"
#include "authz/authz.h"
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The most a decision line waits for its write, and the bytes each thread holds (a line is
 * ~400 bytes: a busy thread writes every ~160 decisions). */
#define AUTHZ_DL_FLUSH_MS   500
#define AUTHZ_DL_PER_THREAD ((size_t)64 * 1024)
/* Room a line is first written in, in place (a usual line is ~400 bytes). */
#define AUTHZ_DL_INPLACE 4096

struct authz_decision_log {
    int fd;
    bool owned; /* close fd on close */
    struct gh_logbuf *buf;
};

/* Decisions by result, counted per thread as core/metrics.c counts requests (each thread in one
 * of AUTHZ_DL_SHARDS copies on its own cache line, summed when read), so that worker threads
 * do not bounce one line at every decision. */
#define AUTHZ_DL_SHARDS 16
struct authz_dl_shard {
    alignas(64) _Atomic unsigned long allowed;
    _Atomic unsigned long denied;
};
static struct authz_dl_shard authz_dl_shards[AUTHZ_DL_SHARDS];
static _Atomic unsigned authz_dl_next_shard;
static _Thread_local struct authz_dl_shard *authz_dl_mine;
static _Atomic unsigned long authz_dl_errors;

static struct authz_dl_shard *authz_dl_shard(void)
{
    if (authz_dl_mine == NULL)
        authz_dl_mine =
            &authz_dl_shards[atomic_fetch_add(&authz_dl_next_shard, 1) % AUTHZ_DL_SHARDS];
    return authz_dl_mine;
}

/* Lines a write lost (gh_logbuf_fail_fn): counted; the first failure only is reported, so that a
 * full disk does not flood the daemon log too. */
static void authz_decision_log_failed(void *ctx, unsigned long lines, int errnum)
{
    (void)ctx;
    if (atomic_fetch_add(&authz_dl_errors, lines) == 0)
        gh_log(GH_LOG_ERROR, "authz", "\"decision log write failed\" errno=%d", errnum);
}

/* See authz.h. */
enum gh_status authz_decision_log_open(const char *target, struct authz_decision_log **out_log,
                                       struct gh_err *err)
{
    struct authz_decision_log *log = gh_xcalloc(1, sizeof(*log));

    if (strcmp(target, "stderr") == 0) {
        log->fd = STDERR_FILENO;
    } else {
        log->fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (log->fd < 0) {
            free(log);
            return GH_ERR(err, GH_E_INVALID, "GATEHOUSE_DECISION_LOG: cannot open %s: %s", target,
                          strerror(errno));
        }
        log->owned = true;
    }
    {
        struct gh_logbuf_opts o = {log->fd, AUTHZ_DL_PER_THREAD, AUTHZ_DL_FLUSH_MS,
                                   authz_decision_log_failed, NULL};
        enum gh_status st = gh_logbuf_new(&o, &log->buf, err);
        if (st) {
            if (log->owned)
                close(log->fd);
            free(log);
            return st;
        }
    }
    *out_log = log;
    return GH_OK;
}

/* See authz.h. */
void authz_decision_log_close(struct authz_decision_log *log)
{
    if (log == NULL)
        return;
    gh_logbuf_free(log->buf); /* every buffered line is written first */
    if (log->owned)
        close(log->fd);
    free(log);
}

/* The line of e into w: keys in a fixed order, strings escaped as JSON (gh_span_json), absent
 * values as null. */
static void authz_decision_line(struct gh_span *w, const struct authz_decision_entry *e,
                                const char *when, size_t when_len)
{
    gh_span_lit(w, "{\"decision_id\":");
    gh_span_json(w, e->decision_id);
    gh_span_lit(w, ",\"time\":\"");
    gh_span_put(w, when, when_len); /* digits, '-', ':', 'T', '.', 'Z': nothing to escape */
    gh_span_lit(w, "\",\"subject\":{\"id\":");
    gh_span_json(w, e->subject_id);
    gh_span_lit(w, ",\"userName\":");
    gh_span_json(w, e->subject_user_name);
    /* An unprovisioned subject is known only by its token: the identity claims' values say
     * which SCIM user was looked for, as fields an operator can query (not only in reason). */
    if (e->subject_id == NULL && e->nclaims > 0) {
        gh_span_lit(w, ",\"claims\":{");
        for (size_t i = 0; i < e->nclaims; i++) {
            if (i > 0)
                gh_span_lit(w, ",");
            gh_span_json(w, e->claim_names[i]);
            gh_span_lit(w, ":");
            gh_span_json(w, e->claim_values[i]);
        }
        gh_span_lit(w, "}");
    }
    gh_span_lit(w, "},\"tenant\":");
    gh_span_json(w, e->tenant);
    gh_span_lit(w, ",\"dataset\":");
    gh_span_json(w, e->dataset);
    gh_span_lit(w, ",\"action\":");
    gh_span_json(w, e->action);
    if (e->allowed)
        gh_span_lit(w, ",\"allowed\":true,\"result\":\"allow\",\"reason\":");
    else
        gh_span_lit(w, ",\"allowed\":false,\"result\":\"deny\",\"reason\":");
    gh_span_json(w, e->reason);
    gh_span_lit(w, ",\"token_id\":");
    gh_span_json(w, e->token_id);
    gh_span_lit(w, ",\"revision\":");
    gh_span_i64(w, (long long)e->revision);
    gh_span_lit(w, ",\"policy_revision\":");
    gh_span_json(w, e->policy_revision);
    gh_span_lit(w, "}\n");
}

/* The most bytes authz_decision_line can write for e. */
static size_t authz_decision_line_max(const struct authz_decision_entry *e)
{
    size_t n = 256 + gh_span_json_max(e->decision_id) + gh_span_json_max(e->subject_id) +
               gh_span_json_max(e->subject_user_name) + gh_span_json_max(e->tenant) +
               gh_span_json_max(e->dataset) + gh_span_json_max(e->action) +
               gh_span_json_max(e->reason) + gh_span_json_max(e->token_id) +
               gh_span_json_max(e->policy_revision);
    for (size_t i = 0; e->subject_id == NULL && i < e->nclaims; i++)
        n += 2 + gh_span_json_max(e->claim_names[i]) + gh_span_json_max(e->claim_values[i]);
    return n;
}

/* See decision_log.h. The usual line (well under AUTHZ_DL_INPLACE bytes) is written in place,
 * straight into the thread's log buffer; a longer one (long claim values) is built in memory of
 * its worst-case size and written as one line. */
void authz_decision_log_write(struct authz_decision_log *log, const struct authz_decision_entry *e)
{
    struct gh_span w;
    char when[40];
    size_t when_len;
    char *big;

    {
        struct authz_dl_shard *sh = authz_dl_shard();
        atomic_fetch_add_explicit(e->allowed ? &sh->allowed : &sh->denied, 1, memory_order_relaxed);
    }
    if (log == NULL)
        return;
    when_len = gh_log_time(when, sizeof(when));
    gh_logbuf_begin(log->buf, AUTHZ_DL_INPLACE, &w);
    authz_decision_line(&w, e, when, when_len);
    gh_logbuf_end(log->buf, &w, !w.full, false);
    if (!w.full)
        return;
    {
        size_t cap = authz_decision_line_max(e);
        big = gh_xmalloc(cap);
        gh_span_init(&w, big, cap);
        authz_decision_line(&w, e, when, when_len);
        if (GH_NEVER(w.full))
            authz_decision_log_failed(NULL, 1, EMSGSIZE);
        else
            gh_logbuf_write(log->buf, big, gh_span_len(&w), false);
        free(big);
    }
}

static pthread_once_t authz_dl_once = PTHREAD_ONCE_INIT;
static unsigned char authz_dl_prefix[8];
static _Atomic uint64_t authz_dl_counter;
/* Each thread takes AUTHZ_DL_ID_BLOCK ids from the shared counter at a time and hands them out
 * itself: unique all the same, one shared atomic per block instead of per decision. */
#define AUTHZ_DL_ID_BLOCK 1024
static _Thread_local uint64_t authz_dl_id_next, authz_dl_id_left;

static void authz_dl_init(void)
{
    if (RAND_bytes(authz_dl_prefix, sizeof(authz_dl_prefix)) != 1)
        GH_ASSERT(!"RAND_bytes failed");
    if (RAND_bytes((unsigned char *)&authz_dl_counter, sizeof(authz_dl_counter)) != 1)
        GH_ASSERT(!"RAND_bytes failed");
}

/* See decision_log.h. Ids are unique, not secret: a random per-process prefix and a counter
 * starting at a random value (a CSPRNG call per decision would cost more than the decision). */
void authz_decision_id_new(char *buf, size_t cap)
{
    unsigned char b[16];
    uint64_t n;

    if (authz_dl_id_left == 0) {
        pthread_once(&authz_dl_once, authz_dl_init);
        authz_dl_id_next = atomic_fetch_add(&authz_dl_counter, AUTHZ_DL_ID_BLOCK);
        authz_dl_id_left = AUTHZ_DL_ID_BLOCK;
    }
    n = authz_dl_id_next++;
    authz_dl_id_left--;
    memcpy(b, authz_dl_prefix, 8);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (unsigned char)(n >> (56 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    {
        static const char hex[] = "0123456789abcdef";
        char id[37];
        size_t o = 0;
        for (int k = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10)
                id[o++] = '-';
            id[o++] = hex[b[k] >> 4];
            id[o++] = hex[b[k] & 15];
        }
        id[o] = '\0';
        if (cap > 0) {
            size_t len = o < cap - 1 ? o : cap - 1;
            memcpy(buf, id, len);
            buf[len] = '\0';
        }
    }
}

/* See authz.h. */
void authz_decision_log_counts(unsigned long *out_allowed, unsigned long *out_denied,
                               unsigned long *out_write_errors)
{
    *out_allowed = *out_denied = 0;
    for (int i = 0; i < AUTHZ_DL_SHARDS; i++) {
        *out_allowed += atomic_load_explicit(&authz_dl_shards[i].allowed, memory_order_relaxed);
        *out_denied += atomic_load_explicit(&authz_dl_shards[i].denied, memory_order_relaxed);
    }
    *out_write_errors = atomic_load(&authz_dl_errors);
}
