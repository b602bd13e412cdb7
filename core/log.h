/*
 * log.h - logfmt logging: one line per event on stderr.
 *
 *   ts=2026-11-22T08:00:00.123Z level=warn mod=jwks msg="refresh failed" kid=abc err="..."
 *
 * gh_log() checks the level before evaluating its arguments. Values are escaped for logfmt.
 * Never pass the Authorization header, a JWT, the SCIM token or the admin token to it.
 */
#ifndef GH_LOG_H
#define GH_LOG_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

enum gh_log_level { GH_LOG_ERROR = 0, GH_LOG_WARN, GH_LOG_INFO, GH_LOG_DEBUG };

/* A sink receives each complete line (without the trailing newline). Tests use it. */
typedef void (*gh_log_sink_fn)(void *ctx, enum gh_log_level level, const char *line, size_t len);

/* ---- configuration (call before threads start) ---- */
void gh_log_set_level(enum gh_log_level level);
enum gh_log_level gh_log_get_level(void);
bool gh_log_level_parse(const char *s, enum gh_log_level *out_level);
void gh_log_set_sink(gh_log_sink_fn fn, void *ctx); /* NULL restores stderr */
/* Buffer stderr lines per thread (logbuf.h): info and debug lines are written within 500 ms,
 * warnings and errors at once. The daemon starts it before serving and stops it last: stop
 * writes every buffered line, and no other thread may log during or after it. Without it (tools,
 * tests) every line is written at once. The sink, when set, still gets every line at once. */
enum gh_status gh_log_buffer_start(struct gh_err *err);
void gh_log_buffer_stop(void);
void gh_log_flush(void); /* write buffered lines now; thread-safe */

/* ---- emitting ---- */
/* fmt is the rest of the logfmt line after "msg=", e.g. "\"refresh failed\" kid=%s". Use
 * gh_log_q() inside arguments to quote untrusted values. */
#define gh_log(level, mod, ...)                                                                    \
    do {                                                                                           \
        if ((level) <= gh_log_get_level())                                                         \
            gh_log_emit((level), (mod), __VA_ARGS__);                                              \
    } while (0)
void gh_log_emit(enum gh_log_level level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A line written in place (the per-request access line): gh_log_begin writes the prefix up to
 * "msg=" and, when the daemon buffers its log, leaves l->w pointing into the thread's log buffer
 * (no copy, no printf); the caller appends the rest with the gh_span_* writers (quoting
 * untrusted values itself, e.g. through gh_log_q) and calls gh_log_end, which emits it as
 * gh_log_emit would (cut at GH_LOG_LINE_MAX). No other gh_log call may come in between on the
 * same thread. false: the level is not emitted; there is nothing to end. */
#define GH_LOG_LINE_MAX 4096
struct gh_log_line {
    struct gh_span w;
    enum gh_log_level level;
    bool in_place;               /* w is in the thread's log buffer */
    char local[GH_LOG_LINE_MAX]; /* otherwise */
};
bool gh_log_begin(struct gh_log_line *l, enum gh_log_level level, const char *mod);
void gh_log_end(struct gh_log_line *l);
/* The current UTC time as "2026-11-22T08:00:00.123Z" into out (cap >= 25 bytes); returns its
 * length. Thread-safe; formats the date once a second per thread. */
size_t gh_log_time(char *out, size_t cap);

/* Quote s for a logfmt value into buf (cap bytes): "..." with \" \\ and control characters
 * escaped, truncated with "..." when it does not fit. Returns buf. */
const char *gh_log_q(char *buf, size_t cap, const char *s);

#endif
