/*
 * buf.h - a growable byte buffer with a hard cap (curl dynbuf).
 *
 * Every untrusted input is read into a capped buffer: appending past the cap fails with
 * GH_E_TOO_LARGE and leaves the buffer as it was. The data is always NUL-terminated.
 * The struct is public so it can live on the stack or inside another struct.
 */
#ifndef GH_BUF_H
#define GH_BUF_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct gh_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap; /* the most bytes it may hold */
};

void gh_buf_init(struct gh_buf *b, size_t cap);
void gh_buf_free(struct gh_buf *b);              /* frees data; the struct may be re-initialised */
void gh_buf_reset(struct gh_buf *b);             /* len = 0, keeps memory */
void gh_buf_reserve(struct gh_buf *b, size_t n); /* room for n more bytes (within the cap) */
enum gh_status gh_buf_append(struct gh_buf *b, const void *p, size_t n, struct gh_err *err);
enum gh_status gh_buf_puts(struct gh_buf *b, const char *s, struct gh_err *err);
enum gh_status gh_buf_printf(struct gh_buf *b, struct gh_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *gh_buf_str(const struct gh_buf *b);        /* "" when empty; borrowed */
char *gh_buf_steal(struct gh_buf *b, size_t *out_len); /* caller frees; buffer is reset */
/* Append s as a JSON string literal (RFC 8259 escapes for '"', '\\' and control characters;
 * other bytes as they are), or the literal null when s is NULL. */
enum gh_status gh_buf_json_str(struct gh_buf *b, const char *s, struct gh_err *err);
/* Sticky appends for text written piece by piece (JSON replies and log lines): each does nothing
 * once *st holds an error and records the first failure there. _json appends s as gh_buf_json_str
 * does. */
void gh_buf_cat(struct gh_buf *b, enum gh_status *st, const char *s);
void gh_buf_cat_json(struct gh_buf *b, enum gh_status *st, const char *s);

/*
 * A span: text written in place into memory someone else owns (a thread's log buffer, a reply
 * of known size), for the per-request paths where a growable buffer's allocation and printf's
 * parsing cost more than the text. Writes never pass end: what does not fit is cut and `full` set
 * (sticky), so the writer either uses what fits (a log line, truncated) or starts again with
 * more room (a reply). No allocation, no locks; the memory is borrowed.
 */
struct gh_span {
    char *start, *p, *end; /* written: [start, p); room: [p, end) */
    bool full;             /* something did not fit */
};

void gh_span_init(struct gh_span *w, char *mem, size_t cap);
size_t gh_span_len(const struct gh_span *w);
void gh_span_put(struct gh_span *w, const char *s, size_t n);
void gh_span_puts(struct gh_span *w, const char *s); /* strlen(s) bytes */
/* A string literal, its length known at compile time. */
#define gh_span_lit(w, lit) gh_span_put((w), "" lit, sizeof(lit) - 1)
/* s as a JSON string literal, the escapes of gh_buf_json_str; null when s is NULL. Cut whole:
 * when it does not fit, nothing of it is written. */
void gh_span_json(struct gh_span *w, const char *s);
void gh_span_i64(struct gh_span *w, long long v); /* decimal */
void gh_span_u64(struct gh_span *w, unsigned long long v);
/* The bytes gh_span_json may need for s (the worst case: every byte escaped as \u00XX). */
size_t gh_span_json_max(const char *s);

#endif
