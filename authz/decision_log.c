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
#include <stddef.h>
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

/* ---- the recent decisions: a ring of the last AUTHZ_RECENT_MAX, in memory ----
 * Each slot holds one decision's fields packed into AUTHZ_RECENT_TEXT bytes (a usual decision
 * needs ~300; a longer one is cut, at a UTF-8 boundary, and marked truncated). A decision packs
 * its slot on its own stack, then copies it in under one mutex: the lock covers a memcpy of the
 * bytes in use and nothing else. Readers copy one slot at a time under the same lock, so a
 * decision never waits for a whole read. */
#define AUTHZ_RECENT_TEXT 1024
enum {
    AUTHZ_RS_ID,
    AUTHZ_RS_TIME,
    AUTHZ_RS_SUBJECT,
    AUTHZ_RS_USER,
    AUTHZ_RS_TENANT,
    AUTHZ_RS_DATASET,
    AUTHZ_RS_ACTION,
    AUTHZ_RS_TOKEN,
    AUTHZ_RS_POLICY,
    AUTHZ_RS_REASON, /* packed after the claims */
    AUTHZ_RS_FIXED,  /* then the claims: name, value, name, value... */
    AUTHZ_RS_MAX = AUTHZ_RS_FIXED + 2 * GH_IDENT_PAIRS_MAX,
};
#define AUTHZ_RS_NULL 0xFFFFu

struct authz_recent_slot {
    uint64_t seq; /* the decision's number since start, from 1; 0: empty */
    int64_t revision;
    bool allowed, truncated;
    uint16_t nclaims;
    uint16_t used;                /* bytes of text in use */
    uint16_t off[AUTHZ_RS_MAX];   /* where each string starts in text; AUTHZ_RS_NULL: absent */
    char text[AUTHZ_RECENT_TEXT]; /* NUL-terminated strings */
};
#define AUTHZ_RECENT_HEAD offsetof(struct authz_recent_slot, text)

static pthread_mutex_t authz_recent_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t authz_recent_seq;                                    /* under the lock */
static struct authz_recent_slot authz_recent_ring[AUTHZ_RECENT_MAX]; /* under the lock */

/* Append s (NULL: absent) as string i of sl, cut to the room left. sl's text is written here
 * only up to used (the rest stays unset: zeroing a slot per decision would cost more than
 * packing it), so cppcheck's whole-program check sees an uninitialised struct. */
static void authz_recent_pack(struct authz_recent_slot *sl, int i, const char *s)
{
    /* cppcheck-suppress ctuuninitvar */
    size_t room = AUTHZ_RECENT_TEXT - sl->used, n;

    if (s == NULL) {
        sl->off[i] = AUTHZ_RS_NULL;
        return;
    }
    n = strlen(s);
    if (n + 1 > room) {
        sl->truncated = true;
        if (room == 0) {
            sl->off[i] = AUTHZ_RS_NULL;
            return;
        }
        n = room - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
            n--;
    }
    sl->off[i] = sl->used;
    memcpy(sl->text + sl->used, s, n);
    sl->text[sl->used + n] = '\0';
    sl->used = (uint16_t)(sl->used + n + 1);
}

/* Put e, decided at when, in the ring (its oldest slot). Thread-safe. */
static void authz_recent_put(const struct authz_decision_entry *e, const char *when)
{
    struct authz_recent_slot sl;
    size_t nclaims = e->subject_id == NULL ? e->nclaims : 0;

    sl.seq = 0;
    sl.revision = e->revision;
    sl.allowed = e->allowed;
    sl.truncated = false;
    sl.used = 0;
    authz_recent_pack(&sl, AUTHZ_RS_ID, e->decision_id);
    authz_recent_pack(&sl, AUTHZ_RS_TIME, when);
    authz_recent_pack(&sl, AUTHZ_RS_SUBJECT, e->subject_id);
    authz_recent_pack(&sl, AUTHZ_RS_USER, e->subject_user_name);
    authz_recent_pack(&sl, AUTHZ_RS_TENANT, e->tenant);
    authz_recent_pack(&sl, AUTHZ_RS_DATASET, e->dataset);
    authz_recent_pack(&sl, AUTHZ_RS_ACTION, e->action);
    authz_recent_pack(&sl, AUTHZ_RS_TOKEN, e->token_id);
    authz_recent_pack(&sl, AUTHZ_RS_POLICY, e->policy_revision);
    if (nclaims > GH_IDENT_PAIRS_MAX)
        nclaims = GH_IDENT_PAIRS_MAX;
    sl.nclaims = 0;
    for (size_t i = 0; i < nclaims; i++) {
        authz_recent_pack(&sl, AUTHZ_RS_FIXED + 2 * (int)i, e->claim_names[i]);
        if (sl.off[AUTHZ_RS_FIXED + 2 * i] == AUTHZ_RS_NULL) /* no room left for a name */
            break;
        authz_recent_pack(&sl, AUTHZ_RS_FIXED + 2 * (int)i + 1, e->claim_values[i]);
        sl.nclaims++;
    }
    authz_recent_pack(&sl, AUTHZ_RS_REASON, e->reason); /* last: the longest, usually */
    pthread_mutex_lock(&authz_recent_lock);
    sl.seq = ++authz_recent_seq;
    memcpy(&authz_recent_ring[(sl.seq - 1) % AUTHZ_RECENT_MAX], &sl, AUTHZ_RECENT_HEAD + sl.used);
    pthread_mutex_unlock(&authz_recent_lock);
}

static const char *authz_recent_str(const struct authz_recent_slot *sl, int i)
{
    return sl->off[i] == AUTHZ_RS_NULL ? NULL : sl->text + sl->off[i];
}

/* See decision_log.h. Each slot is copied under the lock and handed to fn outside it; a slot
 * overwritten while the walk went on (more than AUTHZ_RECENT_MAX newer decisions since) ends
 * it, since every older one is gone too. */
void authz_decision_recent(authz_decision_recent_fn fn, void *ctx)
{
    struct authz_recent_slot sl;
    const char *names[GH_IDENT_PAIRS_MAX], *values[GH_IDENT_PAIRS_MAX];
    uint64_t head;

    pthread_mutex_lock(&authz_recent_lock);
    head = authz_recent_seq;
    pthread_mutex_unlock(&authz_recent_lock);
    for (uint64_t k = 0; k < AUTHZ_RECENT_MAX && k < head; k++) {
        uint64_t seq = head - k;
        const struct authz_recent_slot *at = &authz_recent_ring[(seq - 1) % AUTHZ_RECENT_MAX];
        struct authz_decision_recent d;
        bool same;

        pthread_mutex_lock(&authz_recent_lock);
        same = at->seq == seq;
        if (same)
            memcpy(&sl, at, AUTHZ_RECENT_HEAD + at->used);
        pthread_mutex_unlock(&authz_recent_lock);
        if (!same)
            break;
        for (size_t i = 0; i < sl.nclaims; i++) {
            names[i] = authz_recent_str(&sl, AUTHZ_RS_FIXED + 2 * (int)i);
            values[i] = authz_recent_str(&sl, AUTHZ_RS_FIXED + 2 * (int)i + 1);
        }
        d.e = (struct authz_decision_entry){authz_recent_str(&sl, AUTHZ_RS_ID),
                                            authz_recent_str(&sl, AUTHZ_RS_SUBJECT),
                                            authz_recent_str(&sl, AUTHZ_RS_USER),
                                            authz_recent_str(&sl, AUTHZ_RS_TENANT),
                                            authz_recent_str(&sl, AUTHZ_RS_DATASET),
                                            authz_recent_str(&sl, AUTHZ_RS_ACTION),
                                            sl.allowed,
                                            authz_recent_str(&sl, AUTHZ_RS_REASON),
                                            authz_recent_str(&sl, AUTHZ_RS_TOKEN),
                                            names,
                                            values,
                                            sl.nclaims,
                                            sl.revision,
                                            authz_recent_str(&sl, AUTHZ_RS_POLICY)};
        d.time = authz_recent_str(&sl, AUTHZ_RS_TIME);
        d.truncated = sl.truncated;
        d.seq = sl.seq;
        if (!fn(ctx, &d))
            break;
    }
}

/* See decision_log.h: the decision-log line's own text, parsed, so the two never differ. */
cJSON *authz_decision_json(const struct authz_decision_entry *e, const char *time)
{
    size_t tlen = time != NULL ? strlen(time) : 0;
    size_t cap = authz_decision_line_max(e) + tlen;
    char *buf = gh_xmalloc(cap);
    struct gh_span w;
    cJSON *j = NULL;

    gh_span_init(&w, buf, cap);
    authz_decision_line(&w, e, time != NULL ? time : "", tlen);
    if (!GH_NEVER(w.full))
        j = cJSON_ParseWithLength(buf, gh_span_len(&w));
    free(buf);
    return j;
}

/* See decision_log.h. The usual line (well under AUTHZ_DL_INPLACE bytes) is written in place,
 * straight into the thread's log buffer; a longer one (long claim values) is built in memory of
 * its worst-case size and written as one line. Every decision also goes to the recent ring,
 * whether or not a log is open. */
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
    when_len = gh_log_time(when, sizeof(when));
    authz_recent_put(e, when);
    if (log == NULL)
        return;
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
