/*
 * logbuf.c - buffered line logs; see logbuf.h.
 *
 * Each writing thread gets a slot (its buffer) on first write, found again through a pthread key
 * and listed in lb->slots. A slot's lock is taken by its own thread for every line and by the
 * flusher once per interval, so it is almost never contended; lb->lock guards the list. Lock
 * order: lb->lock, then a slot's lock. Failures are reported after both are released.
 */
#include "logbuf.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What a drain lost, reported once the locks are released. */
struct gh_logbuf_loss {
    unsigned long lines;
    int errnum;
};

struct gh_logbuf_slot {
    struct gh_logbuf_slot *prev, *next; /* lb->slots, under lb->lock */
    struct gh_logbuf *lb;
    pthread_mutex_t lock; /* len, lines, data */
    size_t len;
    unsigned long lines;
    struct gh_logbuf_loss begin_loss; /* a drain in gh_logbuf_begin, reported by _end */
    char data[];                      /* lb->o.per_thread bytes */
};

struct gh_logbuf {
    struct gh_logbuf_opts o;
    pthread_key_t key;    /* this thread's slot */
    pthread_mutex_t lock; /* slots, stopping */
    pthread_cond_t wake;  /* CLOCK_MONOTONIC */
    struct gh_logbuf_slot *slots;
    bool stopping;
    pthread_t flusher;
};

static void gh_logbuf_report(struct gh_logbuf *lb, const struct gh_logbuf_loss *loss)
{
    if (loss->lines > 0 && lb->o.on_fail != NULL)
        lb->o.on_fail(lb->o.fail_ctx, loss->lines, loss->errnum);
}

/* Write n bytes, retrying short writes and EINTR; false (errno set) on failure. */
static bool gh_logbuf_put(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Write out s's lines and empty it. s->lock held. */
static void gh_logbuf_drain(struct gh_logbuf *lb, struct gh_logbuf_slot *s,
                            struct gh_logbuf_loss *loss)
{
    if (s->len == 0)
        return;
    if (!gh_logbuf_put(lb->o.fd, s->data, s->len)) {
        loss->lines += s->lines;
        loss->errnum = errno;
    }
    s->len = 0;
    s->lines = 0;
}

/* Drain every slot. lb->lock held. */
static void gh_logbuf_drain_all(struct gh_logbuf *lb, struct gh_logbuf_loss *loss)
{
    for (struct gh_logbuf_slot *s = lb->slots; s != NULL; s = s->next) {
        pthread_mutex_lock(&s->lock);
        gh_logbuf_drain(lb, s, loss);
        pthread_mutex_unlock(&s->lock);
    }
}

static void gh_logbuf_unlink(struct gh_logbuf *lb, struct gh_logbuf_slot *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        lb->slots = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
}

static void gh_logbuf_slot_free(struct gh_logbuf_slot *s)
{
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The key's destructor: a thread that wrote is exiting; its lines go out now. */
static void gh_logbuf_thread_exit(void *p)
{
    struct gh_logbuf_slot *s = p;
    struct gh_logbuf *lb = s->lb;
    struct gh_logbuf_loss loss = {0, 0};

    pthread_mutex_lock(&lb->lock);
    gh_logbuf_unlink(lb, s);
    pthread_mutex_unlock(&lb->lock);
    pthread_mutex_lock(&s->lock);
    gh_logbuf_drain(lb, s, &loss);
    pthread_mutex_unlock(&s->lock);
    gh_logbuf_slot_free(s);
    gh_logbuf_report(lb, &loss);
}

/* This thread's slot, made on its first line. */
static struct gh_logbuf_slot *gh_logbuf_slot(struct gh_logbuf *lb)
{
    struct gh_logbuf_slot *s = pthread_getspecific(lb->key);

    if (s != NULL)
        return s;
    s = gh_xcalloc(1, sizeof(*s) + lb->o.per_thread);
    s->lb = lb;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&lb->lock);
    s->next = lb->slots;
    if (lb->slots != NULL)
        lb->slots->prev = s;
    lb->slots = s;
    pthread_mutex_unlock(&lb->lock);
    if (pthread_setspecific(lb->key, s) != 0)
        GH_ASSERT(!"pthread_setspecific failed");
    return s;
}

/* The flusher: every flush_ms, every slot's lines go out. */
static void *gh_logbuf_run(void *arg)
{
    struct gh_logbuf *lb = arg;

    pthread_mutex_lock(&lb->lock);
    while (!lb->stopping) {
        struct gh_logbuf_loss loss = {0, 0};
        struct timespec until;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += lb->o.flush_ms / 1000;
        until.tv_nsec += (long)(lb->o.flush_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&lb->wake, &lb->lock, &until);
        gh_logbuf_drain_all(lb, &loss);
        pthread_mutex_unlock(&lb->lock);
        gh_logbuf_report(lb, &loss);
        pthread_mutex_lock(&lb->lock);
    }
    pthread_mutex_unlock(&lb->lock);
    return NULL;
}

/* See logbuf.h. */
enum gh_status gh_logbuf_new(const struct gh_logbuf_opts *o, struct gh_logbuf **out_lb,
                             struct gh_err *err)
{
    struct gh_logbuf *lb = gh_xcalloc(1, sizeof(*lb));
    pthread_condattr_t ca;

    GH_ASSERT(o->per_thread >= 1024 && o->flush_ms >= 1);
    lb->o = *o;
    if (pthread_key_create(&lb->key, gh_logbuf_thread_exit) != 0) {
        free(lb);
        return GH_ERR(err, GH_E_INTERNAL, "cannot create a log buffer key");
    }
    pthread_mutex_init(&lb->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lb->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&lb->flusher, NULL, gh_logbuf_run, lb) != 0) {
        pthread_cond_destroy(&lb->wake);
        pthread_mutex_destroy(&lb->lock);
        pthread_key_delete(lb->key);
        free(lb);
        return GH_ERR(err, GH_E_INTERNAL, "cannot start the log flusher thread");
    }
    *out_lb = lb;
    return GH_OK;
}

/* See logbuf.h. */
void gh_logbuf_write(struct gh_logbuf *lb, const char *line, size_t len, bool now)
{
    struct gh_logbuf_slot *s = gh_logbuf_slot(lb);
    struct gh_logbuf_loss loss = {0, 0};

    pthread_mutex_lock(&s->lock);
    if (s->len + len > lb->o.per_thread)
        gh_logbuf_drain(lb, s, &loss);
    if (len > lb->o.per_thread) {
        if (!gh_logbuf_put(lb->o.fd, line, len)) {
            loss.lines++;
            loss.errnum = errno;
        }
    } else {
        memcpy(s->data + s->len, line, len);
        s->len += len;
        s->lines++;
        if (now)
            gh_logbuf_drain(lb, s, &loss);
    }
    pthread_mutex_unlock(&s->lock);
    gh_logbuf_report(lb, &loss);
}

/* See logbuf.h. */
void gh_logbuf_begin(struct gh_logbuf *lb, size_t max, struct gh_span *w)
{
    struct gh_logbuf_slot *s = gh_logbuf_slot(lb);

    if (max > lb->o.per_thread)
        max = lb->o.per_thread;
    pthread_mutex_lock(&s->lock);
    if (s->len + max > lb->o.per_thread) /* a loss is reported by gh_logbuf_end, unlocked */
        gh_logbuf_drain(lb, s, &s->begin_loss);
    gh_span_init(w, s->data + s->len, max);
}

/* See logbuf.h. */
void gh_logbuf_end(struct gh_logbuf *lb, const struct gh_span *w, bool keep, bool now)
{
    struct gh_logbuf_slot *s = pthread_getspecific(lb->key);
    struct gh_logbuf_loss loss;
    size_t n = gh_span_len(w);

    if (GH_NEVER(s == NULL)) /* no gh_logbuf_begin on this thread */
        return;
    GH_ASSERT(w->start == s->data + s->len);
    loss = s->begin_loss;
    s->begin_loss = (struct gh_logbuf_loss){0, 0};
    if (keep && n > 0) {
        s->len += n;
        s->lines++;
        if (now)
            gh_logbuf_drain(lb, s, &loss);
    }
    pthread_mutex_unlock(&s->lock);
    gh_logbuf_report(lb, &loss);
}

/* See logbuf.h. */
void gh_logbuf_flush(struct gh_logbuf *lb)
{
    struct gh_logbuf_loss loss = {0, 0};

    pthread_mutex_lock(&lb->lock);
    gh_logbuf_drain_all(lb, &loss);
    pthread_mutex_unlock(&lb->lock);
    gh_logbuf_report(lb, &loss);
}

/* See logbuf.h. */
void gh_logbuf_free(struct gh_logbuf *lb)
{
    struct gh_logbuf_loss loss = {0, 0};

    if (lb == NULL)
        return;
    pthread_mutex_lock(&lb->lock);
    lb->stopping = true;
    pthread_cond_signal(&lb->wake);
    pthread_mutex_unlock(&lb->lock);
    pthread_join(lb->flusher, NULL);
    /* No destructor runs for this key any more: every slot left, of live threads too, is
     * written and freed here. */
    pthread_key_delete(lb->key);
    pthread_mutex_lock(&lb->lock);
    gh_logbuf_drain_all(lb, &loss);
    for (struct gh_logbuf_slot *s = lb->slots, *next; s != NULL; s = next) {
        next = s->next;
        gh_logbuf_slot_free(s);
    }
    lb->slots = NULL;
    pthread_mutex_unlock(&lb->lock);
    gh_logbuf_report(lb, &loss);
    pthread_cond_destroy(&lb->wake);
    pthread_mutex_destroy(&lb->lock);
    free(lb);
}
