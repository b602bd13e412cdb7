/*
 * buf.c - capped buffer. Invariant: len < alloc whenever data != NULL, data[len] == '\0',
 * len <= cap.
 */
#include "buf.h"
#include "mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prepare an empty buffer that may hold at most cap bytes. */
void gh_buf_init(struct gh_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

/* Release the memory. */
void gh_buf_free(struct gh_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

/* Empty the buffer, keeping its memory. */
void gh_buf_reset(struct gh_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

/* Make room for n more bytes up front (never past the cap), so a known-size result grows once. */
void gh_buf_reserve(struct gh_buf *b, size_t n)
{
    size_t want;
    if (n > b->cap - b->len)
        n = b->cap - b->len;
    want = b->len + n + 1;
    if (want > b->alloc) {
        b->data = gh_xrealloc(b->data, want);
        if (b->alloc == 0)
            b->data[0] = '\0';
        b->alloc = want;
    }
}

/* Append n bytes; GH_E_TOO_LARGE (buffer unchanged) when the cap would be passed. */
enum gh_status gh_buf_append(struct gh_buf *b, const void *p, size_t n, struct gh_err *err)
{
    if (n > b->cap - b->len)
        return GH_ERR(err, GH_E_TOO_LARGE, "more than %zu bytes", b->cap);
    if (b->len + n + 1 > b->alloc) {
        size_t want = b->alloc ? b->alloc : 256;
        while (want < b->len + n + 1)
            want *= 2;
        if (want > b->cap + 1)
            want = b->cap + 1;
        b->data = gh_xrealloc(b->data, want);
        b->alloc = want;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return GH_OK;
}

/* Append a NUL-terminated string. */
enum gh_status gh_buf_puts(struct gh_buf *b, const char *s, struct gh_err *err)
{
    return gh_buf_append(b, s, strlen(s), err);
}

/* Append formatted text. */
enum gh_status gh_buf_printf(struct gh_buf *b, struct gh_err *err, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;
    enum gh_status st;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return GH_ERR(err, GH_E_INTERNAL, "format error");
    if ((size_t)n < sizeof(small))
        return gh_buf_append(b, small, (size_t)n, err);
    char *big = gh_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    st = gh_buf_append(b, big, (size_t)n, err);
    free(big);
    return st;
}

/* The contents as a C string (borrowed, valid until the next change). */
const char *gh_buf_str(const struct gh_buf *b)
{
    return b->data != NULL ? b->data : "";
}

/* Take the contents: the caller frees the result; the buffer is left empty. */
char *gh_buf_steal(struct gh_buf *b, size_t *out_len)
{
    char *p = b->data != NULL ? b->data : gh_xstrdup("");
    if (out_len != NULL)
        *out_len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

/* The JSON escape sequence (RFC 8259 §7) of ch, one of '"', '\\' or a byte below 0x20, into esc:
 * the short forms where JSON has one, else \u00XX. Returns its length (2 or 6). The one table
 * gh_buf_json_str and the span writer share. */
static size_t gh_json_escape_seq(unsigned char ch, char esc[6])
{
    static const char hex[] = "0123456789abcdef";
    static const char shortform[0x5d] = {['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
                                         ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't'};

    esc[0] = '\\';
    if (ch < sizeof(shortform) && shortform[ch] != 0) {
        esc[1] = shortform[ch];
        return 2;
    }
    esc[1] = 'u';
    esc[2] = '0';
    esc[3] = '0';
    esc[4] = hex[ch >> 4];
    esc[5] = hex[ch & 15];
    return 6;
}

/* See buf.h. Runs of bytes that need no escape are appended in one piece. */
enum gh_status gh_buf_json_str(struct gh_buf *b, const char *s, struct gh_err *err)
{
    const char *run;
    enum gh_status st;

    if (s == NULL)
        return gh_buf_append(b, "null", 4, err);
    st = gh_buf_append(b, "\"", 1, err);
    for (run = s; st == GH_OK && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[6];
        size_t n;

        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        n = gh_json_escape_seq(ch, esc);
        st = gh_buf_append(b, run, (size_t)(s - run), err);
        if (st == GH_OK)
            st = gh_buf_append(b, esc, n, err);
        run = s + 1;
    }
    if (st == GH_OK)
        st = gh_buf_append(b, run, (size_t)(s - run), err);
    if (st == GH_OK)
        st = gh_buf_append(b, "\"", 1, err);
    return st;
}

/* See buf.h. */
void gh_buf_cat(struct gh_buf *b, enum gh_status *st, const char *s)
{
    if (*st == GH_OK)
        *st = gh_buf_puts(b, s, NULL);
}

/* See buf.h. */
void gh_buf_cat_json(struct gh_buf *b, enum gh_status *st, const char *s)
{
    if (*st == GH_OK)
        *st = gh_buf_json_str(b, s, NULL);
}

/* ---- spans ---- */

/* See buf.h. */
void gh_span_init(struct gh_span *w, char *mem, size_t cap)
{
    w->start = w->p = mem;
    w->end = mem + cap;
    w->full = false;
}

/* See buf.h. */
size_t gh_span_len(const struct gh_span *w)
{
    return (size_t)(w->p - w->start);
}

/* See buf.h: as much as fits. */
void gh_span_put(struct gh_span *w, const char *s, size_t n)
{
    size_t room = (size_t)(w->end - w->p);

    if (n > room) {
        n = room;
        w->full = true;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

/* See buf.h. */
void gh_span_puts(struct gh_span *w, const char *s)
{
    gh_span_put(w, s, strlen(s));
}

/* Bytes that need a JSON escape: '"', '\\' and the controls (RFC 8259 §7). */
static const unsigned char gh_span_esc[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1};

/* See buf.h. Runs of bytes without escapes are copied whole; the room for the closing quote is
 * checked with each piece, so a string that does not fit leaves the span as it was. */
void gh_span_json(struct gh_span *w, const char *s)
{
    char *mark = w->p;
    const char *run;

    if (w->full)
        return;
    if (s == NULL) {
        gh_span_lit(w, "null");
        return;
    }
    if (w->p == w->end)
        goto cut;
    *w->p++ = '"';
    run = s;
    /* Eight bytes at a time while none needs an escape (no byte < 0x20, '"' or '\\'; SWAR
     * tests, exact for "any byte"), then byte by byte from the first chunk that has one. */
    for (size_t len = strlen(s); len >= 8; len -= 8, s += 8) {
        const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
        uint64_t x, q, b;
        memcpy(&x, s, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        if ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
            break;
    }
    for (;; s++) {
        unsigned char ch = (unsigned char)*s;
        size_t n = (size_t)(s - run);
        char esc[6];
        size_t en;

        if (!gh_span_esc[ch])
            continue;
        if (ch == '\0') { /* the end: the run and the closing quote */
            if (n + 1 > (size_t)(w->end - w->p))
                goto cut;
            memcpy(w->p, run, n);
            w->p += n;
            *w->p++ = '"';
            return;
        }
        en = gh_json_escape_seq(ch, esc);
        if (n + en + 1 > (size_t)(w->end - w->p))
            goto cut;
        memcpy(w->p, run, n);
        w->p += n;
        memcpy(w->p, esc, en);
        w->p += en;
        run = s + 1;
    }
cut:
    w->p = mark;
    w->full = true;
}

/* See buf.h. */
void gh_span_u64(struct gh_span *w, unsigned long long v)
{
    char d[20];
    size_t n = sizeof(d);

    do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    gh_span_put(w, d + n, sizeof(d) - n);
}

/* See buf.h. */
void gh_span_i64(struct gh_span *w, long long v)
{
    if (v < 0) {
        gh_span_lit(w, "-");
        gh_span_u64(w, 0ULL - (unsigned long long)v);
        return;
    }
    gh_span_u64(w, (unsigned long long)v);
}

/* See buf.h. */
size_t gh_span_json_max(const char *s)
{
    return s == NULL ? 4 : 6 * strlen(s) + 2;
}
