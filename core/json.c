/*
 * json.c - strict JSON check (see json.h): RFC 8259 grammar, UTF-8 per Unicode Table 3-7, no
 * \u0000, paired surrogate escapes, unique member names per object (RFC 7493 §2.3).
 *
 * One left-to-right pass, an explicit container stack capped at GH_CAP_JSON_DEPTH (no recursion,
 * so no input can exhaust the C stack; the check runs before cJSON's recursive parser, so that
 * one is bounded too). Member names go into one open-addressing table keyed by (object serial,
 * SipHash-1-3 of the unescaped name under a per-process random key, so no input can be crafted
 * to collide). Names of closed objects are dropped when the table is rebuilt, so it holds at
 * most the members of the objects still open: small documents (the /v1/authorize hot path) stay
 * in the table inside the checker's own stack frame. Each byte is read once, a name's bytes at
 * most twice more (hash; compare on a full hash match), so the work is linear in the length.
 */
#include "json.h"
#include "caps.h"
#include "mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Slots of the table that lives on the stack: 32 members open at once before any malloc. */
#define GH_JSON_SLOTS_INLINE 64
/* Bytes of a repeated name quoted in the error message. */
#define GH_JSON_QUOTE_MAX 64

struct gh_json_slot {
    uint32_t obj;  /* serial of the object the name belongs to; 0: empty slot */
    uint32_t hash; /* keyed hash of the unescaped (folded) name */
    uint32_t off;  /* offset of the name's first byte after the opening quote */
};

enum gh_json_state { GH_JSON_VALUE, GH_JSON_NAME, GH_JSON_AFTER };

struct gh_json_ck {
    const unsigned char *s;
    size_t len, pos;
    unsigned flags;
    const char *what;
    struct gh_err *err;
    /* open containers, outermost first: the object's serial, or 0 for an array */
    uint32_t frames[GH_CAP_JSON_DEPTH];
    unsigned depth;
    /* serials of the open objects, ascending (the non-zero frames) */
    uint32_t objs[GH_CAP_JSON_DEPTH];
    unsigned nobjs;
    uint32_t nobj; /* serials handed out */
    struct gh_json_slot *slots;
    size_t cap, used; /* cap is a power of two; used <= cap / 2 */
    struct gh_json_slot inline_slots[GH_JSON_SLOTS_INLINE];
};

/* ---- keyed hash (SipHash-1-3, streamed one byte at a time) ---- */

static uint64_t gh_json_key[2];
static pthread_once_t gh_json_key_once = PTHREAD_ONCE_INIT;

/* Why random: with a fixed hash function a body of names that all collide would turn the table
 * into a list and the check quadratic. The key only protects CPU time, never a decision, so a
 * weaker fallback when getrandom fails is acceptable. */
static void gh_json_key_init(void)
{
    struct timespec ts;

    if (getrandom(gh_json_key, sizeof(gh_json_key), GRND_NONBLOCK) == (ssize_t)sizeof(gh_json_key))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gh_json_key[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u ^ (uint64_t)ts.tv_sec;
    gh_json_key[1] = (uint64_t)(uintptr_t)&ts ^ (uint64_t)(uintptr_t)gh_json_key_init;
}

struct gh_json_sip {
    uint64_t v0, v1, v2, v3, m;
    uint64_t n;
};

#define GH_JSON_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void gh_json_sip_round(struct gh_json_sip *h)
{
    h->v0 += h->v1;
    h->v1 = GH_JSON_ROTL(h->v1, 13);
    h->v1 ^= h->v0;
    h->v0 = GH_JSON_ROTL(h->v0, 32);
    h->v2 += h->v3;
    h->v3 = GH_JSON_ROTL(h->v3, 16);
    h->v3 ^= h->v2;
    h->v0 += h->v3;
    h->v3 = GH_JSON_ROTL(h->v3, 21);
    h->v3 ^= h->v0;
    h->v2 += h->v1;
    h->v1 = GH_JSON_ROTL(h->v1, 17);
    h->v1 ^= h->v2;
    h->v2 = GH_JSON_ROTL(h->v2, 32);
}

static void gh_json_sip_init(struct gh_json_sip *h)
{
    h->v0 = gh_json_key[0] ^ 0x736f6d6570736575u;
    h->v1 = gh_json_key[1] ^ 0x646f72616e646f6du;
    h->v2 = gh_json_key[0] ^ 0x6c7967656e657261u;
    h->v3 = gh_json_key[1] ^ 0x7465646279746573u;
    h->m = 0;
    h->n = 0;
}

static void gh_json_sip_byte(struct gh_json_sip *h, unsigned char b)
{
    h->m |= (uint64_t)b << (8 * (h->n & 7));
    if ((++h->n & 7) == 0) {
        h->v3 ^= h->m;
        gh_json_sip_round(h);
        h->v0 ^= h->m;
        h->m = 0;
    }
}

static uint64_t gh_json_sip_final(struct gh_json_sip *h)
{
    uint64_t b = (h->n << 56) | h->m;

    h->v3 ^= b;
    gh_json_sip_round(h);
    h->v0 ^= b;
    h->v2 ^= 0xff;
    gh_json_sip_round(h);
    gh_json_sip_round(h);
    gh_json_sip_round(h);
    return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

/* ---- bytes ---- */

static enum gh_status gh_json_fail(const struct gh_json_ck *c, size_t at, const char *why)
{
    return GH_ERR(c->err, GH_E_INVALID, "%s has %s (byte %zu)", c->what, why, at);
}

static enum gh_status gh_json_syntax(const struct gh_json_ck *c)
{
    return GH_ERR(c->err, GH_E_INVALID, "%s is not valid JSON (near byte %zu)", c->what, c->pos);
}

static void gh_json_ws(struct gh_json_ck *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\n' ||
                               c->s[c->pos] == '\r' || c->s[c->pos] == '\t'))
        c->pos++;
}

static int gh_json_hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The four hex digits at s[at..at+3] as a code unit; false when they are not there. */
static bool gh_json_hex4(const unsigned char *s, size_t len, size_t at, uint32_t *out)
{
    uint32_t u = 0;

    if (len < 4 || at > len - 4)
        return false;
    for (size_t k = 0; k < 4; k++) {
        int v = gh_json_hexval(s[at + k]);
        if (v < 0)
            return false;
        u = u << 4 | (uint32_t)v;
    }
    *out = u;
    return true;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode Table 3-7), or 0. The second byte's
 * range is what rules out overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4). */
static size_t gh_json_utf8(const unsigned char *p, size_t avail)
{
    unsigned char b0 = p[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED)
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < need; k++)
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 0;
    return need;
}

/* The string whose opening quote is at c->pos; on success c->pos is past its closing quote. */
static enum gh_status gh_json_string(struct gh_json_ck *c)
{
    const unsigned char *s = c->s;
    size_t i = c->pos + 1, n = c->len, k;
    uint32_t u, lo;

    for (;;) {
        if (i >= n)
            return gh_json_syntax(c);
        if (s[i] == '"')
            break;
        if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '\\') {
            i++;
        } else if (s[i] == '\\') {
            if (i + 1 >= n)
                return gh_json_fail(c, i, "a bad escape");
            if (strchr("\"\\/bfnrt", s[i + 1]) != NULL && s[i + 1] != '\0') {
                i += 2;
                continue;
            }
            if (s[i + 1] != 'u' || !gh_json_hex4(s, n, i + 2, &u))
                return gh_json_fail(c, i, "a bad escape");
            /* Why: cJSON ends the string at U+0000, so "directory\u0000evil" would be
             * decided as "directory" while the text says something else. */
            if (u == 0)
                return gh_json_fail(c, i, "\\u0000 in a string");
            if (u >= 0xDC00 && u <= 0xDFFF)
                return gh_json_fail(c, i, "an unpaired UTF-16 surrogate escape");
            if (u >= 0xD800 && u <= 0xDBFF &&
                (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u' ||
                 !gh_json_hex4(s, n, i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF))
                return gh_json_fail(c, i, "an unpaired UTF-16 surrogate escape");
            i += u >= 0xD800 && u <= 0xDBFF ? 12 : 6;
        } else if (s[i] < 0x20) {
            return gh_json_fail(c, i,
                                s[i] == 0 ? "a NUL byte" : "a raw control character in a string");
        } else {
            k = gh_json_utf8(s + i, n - i);
            if (k == 0)
                return gh_json_fail(c, i, "invalid UTF-8");
            i += k;
        }
    }
    c->pos = i + 1;
    return GH_OK;
}

static bool gh_json_digits(const struct gh_json_ck *c, size_t *i)
{
    size_t start = *i;
    while (*i < c->len && c->s[*i] >= '0' && c->s[*i] <= '9')
        (*i)++;
    return *i > start;
}

/* RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool gh_json_number(struct gh_json_ck *c)
{
    size_t i = c->pos;

    if (i < c->len && c->s[i] == '-')
        i++;
    if (i < c->len && c->s[i] == '0')
        i++;
    else if (!gh_json_digits(c, &i))
        return false;
    if (i < c->len && c->s[i] == '.') {
        i++;
        if (!gh_json_digits(c, &i))
            return false;
    }
    if (i < c->len && (c->s[i] == 'e' || c->s[i] == 'E')) {
        i++;
        if (i < c->len && (c->s[i] == '+' || c->s[i] == '-'))
            i++;
        if (!gh_json_digits(c, &i))
            return false;
    }
    c->pos = i;
    return true;
}

static bool gh_json_literal(struct gh_json_ck *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->len - c->pos < n || memcmp(c->s + c->pos, lit, n) != 0)
        return false;
    c->pos += n;
    return true;
}

/* ---- member names ---- */

/* Reads the unescaped bytes of a name already checked by gh_json_string. */
struct gh_json_name {
    size_t pos; /* next unread byte of the JSON text */
    unsigned char b[4];
    unsigned n, k; /* bytes in b, bytes of b handed out */
};

/* The next byte of the name (ASCII folded to lower case under GH_JSON_NAMES_NOCASE), or -1 at
 * its end. An escape yields the UTF-8 bytes of its code point, so "\u00e9" reads as the raw
 * bytes C3 A9 do. */
static int gh_json_name_byte(const struct gh_json_ck *c, struct gh_json_name *r)
{
    const unsigned char *s = c->s;
    uint32_t u = 0, lo = 0;
    unsigned char b;

    if (r->k == r->n) {
        size_t i = r->pos;
        r->k = 0;
        if (s[i] == '"')
            return -1;
        if (s[i] != '\\') {
            r->b[0] = s[i];
            r->n = 1;
            r->pos = i + 1;
        } else if (s[i + 1] != 'u') {
            static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
            const char *p = strchr(from, s[i + 1]);
            r->b[0] = p != NULL ? (unsigned char)to[p - from] : s[i + 1];
            r->n = 1;
            r->pos = i + 2;
        } else {
            (void)gh_json_hex4(s, c->len, i + 2, &u);
            r->pos = i + 6;
            if (u >= 0xD800 && u <= 0xDBFF) {
                (void)gh_json_hex4(s, c->len, i + 8, &lo);
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                r->pos = i + 12;
            }
            if (u < 0x80) {
                r->b[0] = (unsigned char)u;
                r->n = 1;
            } else if (u < 0x800) {
                r->b[0] = (unsigned char)(0xC0 | u >> 6);
                r->b[1] = (unsigned char)(0x80 | (u & 0x3F));
                r->n = 2;
            } else if (u < 0x10000) {
                r->b[0] = (unsigned char)(0xE0 | u >> 12);
                r->b[1] = (unsigned char)(0x80 | (u >> 6 & 0x3F));
                r->b[2] = (unsigned char)(0x80 | (u & 0x3F));
                r->n = 3;
            } else {
                r->b[0] = (unsigned char)(0xF0 | u >> 18);
                r->b[1] = (unsigned char)(0x80 | (u >> 12 & 0x3F));
                r->b[2] = (unsigned char)(0x80 | (u >> 6 & 0x3F));
                r->b[3] = (unsigned char)(0x80 | (u & 0x3F));
                r->n = 4;
            }
        }
    }
    b = r->b[r->k++];
    if ((c->flags & GH_JSON_NAMES_NOCASE) && b >= 'A' && b <= 'Z')
        b = (unsigned char)(b - 'A' + 'a');
    return b;
}

static uint32_t gh_json_name_hash(const struct gh_json_ck *c, size_t off)
{
    struct gh_json_name r = {off, {0}, 0, 0};
    struct gh_json_sip h;
    uint64_t v;
    int b;

    gh_json_sip_init(&h);
    while ((b = gh_json_name_byte(c, &r)) >= 0)
        gh_json_sip_byte(&h, (unsigned char)b);
    v = gh_json_sip_final(&h);
    return (uint32_t)(v ^ v >> 32);
}

static bool gh_json_name_eq(const struct gh_json_ck *c, size_t a, size_t b)
{
    struct gh_json_name ra = {a, {0}, 0, 0}, rb = {b, {0}, 0, 0};
    int x, y;

    do {
        x = gh_json_name_byte(c, &ra);
        y = gh_json_name_byte(c, &rb);
    } while (x == y && x >= 0);
    return x == y;
}

static size_t gh_json_slot_index(const struct gh_json_ck *c, uint32_t obj, uint32_t hash)
{
    return (size_t)(hash ^ obj * 0x9E3779B1u) & (c->cap - 1);
}

static bool gh_json_obj_open(const struct gh_json_ck *c, uint32_t obj)
{
    unsigned lo = 0, hi = c->nobjs;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (c->objs[mid] == obj)
            return true;
        if (c->objs[mid] < obj)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void gh_json_slot_put(struct gh_json_ck *c, const struct gh_json_slot *e)
{
    size_t i = gh_json_slot_index(c, e->obj, e->hash);
    while (c->slots[i].obj != 0)
        i = (i + 1) & (c->cap - 1);
    c->slots[i] = *e;
    c->used++;
}

/* Rebuild the table with only the names of still-open objects, doubling it while those fill
 * more than a quarter of it (so at least a quarter of the slots are inserted before the next
 * rebuild: linear overall). */
static void gh_json_rehash(struct gh_json_ck *c)
{
    struct gh_json_slot *old = c->slots, keep[GH_JSON_SLOTS_INLINE / 4];
    size_t oldcap = c->cap, live = 0, nkeep = 0;

    for (size_t i = 0; i < oldcap; i++)
        if (old[i].obj != 0 && gh_json_obj_open(c, old[i].obj))
            live++;
    while (live + 1 > c->cap / 4)
        c->cap *= 2;
    c->used = 0;
    if (c->cap == oldcap && old == c->inline_slots) {
        /* still fits on the stack: set the few live names aside and refill in place */
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].obj != 0 && gh_json_obj_open(c, old[i].obj))
                keep[nkeep++] = old[i];
        memset(c->inline_slots, 0, sizeof(c->inline_slots));
        for (size_t i = 0; i < nkeep; i++)
            gh_json_slot_put(c, &keep[i]);
        return;
    }
    c->slots = gh_xcalloc(c->cap, sizeof(*c->slots));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].obj != 0 && gh_json_obj_open(c, old[i].obj))
            gh_json_slot_put(c, &old[i]);
    if (old != c->inline_slots)
        free(old);
}

/* A printable copy of the raw name at off for the error message. */
static const char *gh_json_quote(const struct gh_json_ck *c, size_t off, char *out, size_t cap)
{
    size_t o = 0;
    /* the name was checked: an escape's second byte is there and printable */
    for (size_t i = off; i < c->len && c->s[i] != '"' && o + 2 < cap; i++) {
        unsigned char ch = c->s[i];
        if (ch == '\\') {
            out[o++] = '\\';
            ch = c->s[++i];
        }
        out[o++] = (char)(ch < 0x20 || ch > 0x7e || ch == '"' ? '?' : ch);
    }
    out[o] = '\0';
    return out;
}

/* Record the name whose opening quote is at name_at in the innermost object; refuse a repeat. */
static enum gh_status gh_json_member(struct gh_json_ck *c, size_t name_at)
{
    struct gh_json_slot e;
    size_t i;
    char q[GH_JSON_QUOTE_MAX + 1];

    e.obj = c->frames[c->depth - 1];
    e.off = (uint32_t)(name_at + 1);
    e.hash = gh_json_name_hash(c, e.off);
    if (c->used + 1 > c->cap / 2)
        gh_json_rehash(c);
    for (i = gh_json_slot_index(c, e.obj, e.hash); c->slots[i].obj != 0;
         i = (i + 1) & (c->cap - 1)) {
        if (c->slots[i].obj == e.obj && c->slots[i].hash == e.hash &&
            gh_json_name_eq(c, c->slots[i].off, e.off))
            return GH_ERR(c->err, GH_E_INVALID,
                          "%s has the member name \"%s\" twice in one object%s (byte %zu)", c->what,
                          gh_json_quote(c, e.off, q, sizeof(q)),
                          (c->flags & GH_JSON_NAMES_NOCASE) ? " (names are case-insensitive)" : "",
                          name_at);
    }
    c->slots[i] = e;
    c->used++;
    return GH_OK;
}

/* ---- the document ---- */

static enum gh_status gh_json_open(struct gh_json_ck *c, bool object)
{
    /* Why: bounded state and, after this check, bounded recursion in cJSON. */
    if (c->depth == GH_CAP_JSON_DEPTH)
        return GH_ERR(c->err, GH_E_INVALID, "%s nests deeper than %d levels (byte %zu)", c->what,
                      GH_CAP_JSON_DEPTH, c->pos);
    c->frames[c->depth++] = object ? ++c->nobj : 0;
    if (object)
        c->objs[c->nobjs++] = c->nobj;
    c->pos++;
    return GH_OK;
}

static void gh_json_close(struct gh_json_ck *c)
{
    if (c->frames[--c->depth] != 0)
        c->nobjs--;
    c->pos++;
}

static enum gh_status gh_json_run(struct gh_json_ck *c)
{
    enum gh_json_state state = GH_JSON_VALUE;
    enum gh_status st = GH_OK;
    size_t at;

    if (c->len >= 3 && memcmp(c->s, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3;
    for (;;) {
        gh_json_ws(c);
        if (c->pos >= c->len && !(state == GH_JSON_AFTER && c->depth == 0))
            return gh_json_syntax(c);
        switch (state) {
        case GH_JSON_VALUE:
            state = GH_JSON_AFTER;
            switch (c->s[c->pos]) {
            case '{':
                st = gh_json_open(c, true);
                gh_json_ws(c);
                if (st == GH_OK && c->pos < c->len && c->s[c->pos] == '}')
                    gh_json_close(c);
                else
                    state = GH_JSON_NAME;
                break;
            case '[':
                st = gh_json_open(c, false);
                gh_json_ws(c);
                if (st == GH_OK && c->pos < c->len && c->s[c->pos] == ']')
                    gh_json_close(c);
                else
                    state = GH_JSON_VALUE;
                break;
            case '"':
                st = gh_json_string(c);
                break;
            case 't':
            case 'f':
            case 'n':
                if (!gh_json_literal(c, "true") && !gh_json_literal(c, "false") &&
                    !gh_json_literal(c, "null"))
                    st = gh_json_syntax(c);
                break;
            default:
                if (!gh_json_number(c))
                    st = gh_json_syntax(c);
                break;
            }
            break;
        case GH_JSON_NAME:
            if (c->s[c->pos] != '"')
                return gh_json_syntax(c);
            at = c->pos;
            st = gh_json_string(c);
            if (st == GH_OK)
                st = gh_json_member(c, at);
            if (st)
                return st;
            gh_json_ws(c);
            if (c->pos >= c->len || c->s[c->pos] != ':')
                return gh_json_syntax(c);
            c->pos++;
            state = GH_JSON_VALUE;
            break;
        case GH_JSON_AFTER:
            if (c->depth == 0)
                return c->pos == c->len ? GH_OK : gh_json_syntax(c);
            if (c->s[c->pos] == ',') {
                c->pos++;
                state = c->frames[c->depth - 1] != 0 ? GH_JSON_NAME : GH_JSON_VALUE;
            } else if (c->s[c->pos] == (c->frames[c->depth - 1] != 0 ? '}' : ']')) {
                gh_json_close(c);
            } else {
                return gh_json_syntax(c);
            }
            break;
        }
        if (st)
            return st;
    }
}

/*
 * Check that s[0..len) is strict JSON (see json.h). Nothing is kept: a table that outgrows the
 * stack is freed before returning. Thread-safe (the hash key is set once).
 */
enum gh_status gh_json_check(const char *s, size_t len, unsigned flags, const char *what,
                             struct gh_err *err)
{
    struct gh_json_ck ck = {0}, *c = &ck;
    enum gh_status st;

    /* names are stored as 32-bit offsets; every input cap is far below 4 GiB */
    if (len > UINT32_MAX - 1)
        return GH_ERR(err, GH_E_TOO_LARGE, "%s is larger than 4 GiB", what);
    pthread_once(&gh_json_key_once, gh_json_key_init);
    c->s = (const unsigned char *)s;
    c->len = len;
    c->flags = flags;
    c->what = what;
    c->err = err;
    c->slots = c->inline_slots;
    c->cap = GH_JSON_SLOTS_INLINE;
    st = gh_json_run(c);
    if (c->slots != c->inline_slots)
        free(c->slots);
    return st;
}

/*
 * gh_json_check, then cJSON over the same bytes. On success *out_json is the caller's
 * (cJSON_Delete); on failure it is NULL and err says why.
 */
enum gh_status gh_json_parse(const char *s, size_t len, unsigned flags, const char *what,
                             cJSON **out_json, struct gh_err *err)
{
    const char *end = NULL;
    enum gh_status st;

    *out_json = NULL;
    if (len == 0)
        return GH_ERR(err, GH_E_INVALID, "%s is empty; JSON expected", what);
    st = gh_json_check(s, len, flags, what, err);
    if (st)
        return st;
    /* The BOM is skipped here: cJSON 1.7.15 skips it too but then fails on some scalars after
     * it ("\xEF\xBB\xBF5"; found by fuzz_json_strict). */
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        len -= 3;
    }
    /* Checked text parses; should cJSON still fail (out of memory), it is a refusal too. */
    *out_json = cJSON_ParseWithLengthOpts(s, len, &end, false);
    if (*out_json == NULL)
        return GH_ERR(err, GH_E_INVALID, "%s is not valid JSON (near byte %zu)", what,
                      end != NULL && end >= s ? (size_t)(end - s) : (size_t)0);
    return GH_OK;
}
