/*
 * log.c - logfmt lines on stderr (or a test sink).
 *
 * Each line is formatted into a stack buffer and written whole, so lines from concurrent threads
 * never interleave: with one write(2) each, or, once gh_log_buffer_start ran (the daemon), into
 * the thread's buffer (logbuf.h), written within GH_LOG_FLUSH_MS; warnings and errors are
 * written at once, after the lines their thread buffered. Lines longer than GH_LOG_LINE_MAX are
 * truncated.
 */
#include "log.h"
#include "logbuf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Buffered stderr: the most an info line waits, and the bytes each thread holds (an access
 * line is ~150 bytes, so a busy thread writes every ~200 requests). */
#define GH_LOG_FLUSH_MS   500
#define GH_LOG_PER_THREAD ((size_t)32 * 1024)

static _Atomic int gh_log_level = GH_LOG_INFO;
static struct gh_logbuf *_Atomic gh_log_buffered;
static gh_log_sink_fn gh_log_sink;
static void *gh_log_sink_ctx;

static const char *const gh_log_names[] = {"error", "warn", "info", "debug"};

/* Set the most verbose level that is emitted. */
void gh_log_set_level(enum gh_log_level level)
{
    atomic_store(&gh_log_level, (int)level);
}

/* The current level. Thread-safe. */
enum gh_log_level gh_log_get_level(void)
{
    return (enum gh_log_level)atomic_load(&gh_log_level);
}

/* Parse "error|warn|info|debug" (case-insensitive). Returns false on anything else. */
bool gh_log_level_parse(const char *s, enum gh_log_level *out_level)
{
    for (size_t i = 0; i < sizeof(gh_log_names) / sizeof(gh_log_names[0]); i++) {
        if (strcasecmp(s, gh_log_names[i]) == 0) {
            *out_level = (enum gh_log_level)i;
            return true;
        }
    }
    return false;
}

/* Route lines to fn (tests); NULL restores stderr. Not thread-safe: call before serving. */
void gh_log_set_sink(gh_log_sink_fn fn, void *ctx)
{
    gh_log_sink = fn;
    gh_log_sink_ctx = ctx;
}

/* See log.h. */
enum gh_status gh_log_buffer_start(struct gh_err *err)
{
    struct gh_logbuf_opts o = {STDERR_FILENO, GH_LOG_PER_THREAD, GH_LOG_FLUSH_MS, NULL, NULL};
    struct gh_logbuf *lb;
    enum gh_status st;

    GH_ASSERT(atomic_load(&gh_log_buffered) == NULL);
    st = gh_logbuf_new(&o, &lb, err);
    if (st == GH_OK)
        atomic_store(&gh_log_buffered, lb);
    return st;
}

/* See log.h. */
void gh_log_buffer_stop(void)
{
    gh_logbuf_free(atomic_exchange(&gh_log_buffered, NULL));
}

/* See log.h. */
void gh_log_flush(void)
{
    struct gh_logbuf *lb = atomic_load(&gh_log_buffered);
    if (lb != NULL)
        gh_logbuf_flush(lb);
}

/* The second a thread last formatted, and its text: gmtime_r and strftime once a second per
 * thread instead of once a line. */
static _Thread_local time_t gh_log_time_sec = (time_t)-1;
static _Thread_local char gh_log_time_text[24];

/* See log.h. */
size_t gh_log_time(char *out, size_t cap)
{
    struct timespec ts;
    char full[sizeof(gh_log_time_text) + 8];
    size_t n;
    long ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != gh_log_time_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        if (strftime(gh_log_time_text, sizeof(gh_log_time_text), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            gh_log_time_text[0] = '\0';
        gh_log_time_sec = ts.tv_sec;
    }
    /* the text and ".mmmZ" by hand (snprintf cost more than a line's other formatting), cut
     * to cap as snprintf would */
    n = strlen(gh_log_time_text);
    memcpy(full, gh_log_time_text, n);
    ms = ts.tv_nsec / 1000000;
    full[n++] = '.';
    full[n++] = (char)('0' + ms / 100);
    full[n++] = (char)('0' + ms / 10 % 10);
    full[n++] = (char)('0' + ms % 10);
    full[n++] = 'Z';
    if (cap == 0)
        return 0;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, full, n);
    out[n] = '\0';
    return n;
}

/* See log.h. */
bool gh_log_begin(struct gh_log_line *l, enum gh_log_level level, const char *mod)
{
    struct gh_logbuf *lb;
    char when[32];
    size_t n;

    if (level > gh_log_get_level())
        return false;
    l->level = level;
    lb = gh_log_sink == NULL ? atomic_load(&gh_log_buffered) : NULL;
    l->in_place = lb != NULL;
    if (lb != NULL)
        gh_logbuf_begin(lb, GH_LOG_LINE_MAX, &l->w);
    else
        gh_span_init(&l->w, l->local, GH_LOG_LINE_MAX);
    l->w.end--; /* room for the '\n' (or the sink's NUL) */
    n = gh_log_time(when, sizeof(when));
    gh_span_lit(&l->w, "ts=");
    gh_span_put(&l->w, when, n);
    gh_span_lit(&l->w, " level=");
    gh_span_puts(&l->w, gh_log_names[level <= GH_LOG_DEBUG ? level : GH_LOG_DEBUG]);
    gh_span_lit(&l->w, " mod=");
    gh_span_puts(&l->w, mod);
    gh_span_lit(&l->w, " msg=");
    return true;
}

/* See log.h. */
void gh_log_end(struct gh_log_line *l)
{
    size_t n = gh_span_len(&l->w);

    if (l->in_place) {
        struct gh_logbuf *lb = atomic_load(&gh_log_buffered);
        *l->w.p++ = '\n'; /* the room kept by gh_log_begin */
        gh_logbuf_end(lb, &l->w, true, l->level <= GH_LOG_WARN);
        return;
    }
    if (gh_log_sink != NULL) {
        l->local[n] = '\0';
        gh_log_sink(gh_log_sink_ctx, l->level, l->local, n);
        return;
    }
    l->local[n++] = '\n';
    if (write(STDERR_FILENO, l->local, n) < 0)
        return;
}

/* Format and emit one line. Thread-safe. */
void gh_log_emit(enum gh_log_level level, const char *mod, const char *fmt, ...)
{
    char line[GH_LOG_LINE_MAX];
    struct gh_logbuf *lb;
    size_t n;
    int w;
    va_list ap;

    memcpy(line, "ts=", 3);
    n = 3 + gh_log_time(line + 3, sizeof(line) - 3);
    w = snprintf(line + n, sizeof(line) - n, " level=%s mod=%s msg=",
                 gh_log_names[level <= GH_LOG_DEBUG ? level : GH_LOG_DEBUG], mod);
    if (w > 0)
        n += (size_t)w;
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        if (w > 0)
            n += (size_t)w;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    if (gh_log_sink != NULL) {
        line[n] = '\0';
        gh_log_sink(gh_log_sink_ctx, level, line, n);
        return;
    }
    line[n++] = '\n';
    lb = atomic_load(&gh_log_buffered);
    if (lb != NULL) {
        gh_logbuf_write(lb, line, n, level <= GH_LOG_WARN);
        return;
    }
    /* One write per line: atomic for pipes up to PIPE_BUF and never interleaved mid-line by
     * our own threads on regular files. A short write is not retried (logging never blocks
     * request handling on a stuck stderr for long). */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}

/* Quote s as a logfmt value; see log.h. */
const char *gh_log_q(char *buf, size_t cap, const char *s)
{
    size_t o = 0;

    if (cap < 8) {
        if (cap > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        size_t el;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            el = 2;
        } else if (c < 0x20 || c == 0x7f) {
            el = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
        } else {
            esc[0] = (char)c;
            el = 1;
        }
        if (o + el + 5 > cap) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, esc, el);
        o += el;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
