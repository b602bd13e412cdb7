/*
 * form.c - the small text forms a browser sign-in speaks: Cookie headers (RFC 6265 §5.4,
 * "a=b; c=d"), application/x-www-form-urlencoded bodies and query values (WHATWG URL §5.1:
 * '+' is a space, %XX a byte), and the percent-encoding of values put in URLs and forms (RFC
 * 3986 §2.3: only unreserved characters stay as they are). Pure and fuzzed (fuzz_cookie_form).
 */
#include "http.h"

#include <string.h>

/* See http.h. The first cookie whose name equals `name` exactly wins: RFC 6265 §5.4 sends the
 * most specific path first, so a cookie planted with a longer path by a sibling application
 * would come first -- the session cookie's value is checked against the server's table anyway. */
bool gh_http_cookie_find(const char *header, const char *name, const char **out_val,
                         size_t *out_len)
{
    size_t nl = strlen(name);
    const char *p = header;

    if (header == NULL || nl == 0)
        return false;
    while (*p != '\0') {
        const char *end, *eq;
        p += strspn(p, " \t;");
        if (*p == '\0')
            break;
        end = p + strcspn(p, ";");
        eq = memchr(p, '=', (size_t)(end - p));
        if (eq != NULL) {
            const char *ne = eq;
            while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
                ne--;
            if ((size_t)(ne - p) == nl && memcmp(p, name, nl) == 0) {
                const char *v = eq + 1, *ve = end;
                v += strspn(v, " \t");
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                *out_val = v;
                *out_len = (size_t)(ve - v);
                return true;
            }
        }
        p = end;
    }
    return false;
}

static int gh_form_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one urlencoded value of n bytes into out (cap bytes with the NUL). */
static enum gh_status gh_form_decode(const char *v, size_t n, char *out, size_t cap,
                                     struct gh_err *err)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? gh_form_hex(v[i + 1]) : -1;
            int lo = i + 2 < n ? gh_form_hex(v[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return GH_ERR(err, GH_E_INVALID, "bad %%-escape in a form value"), GH_E_INVALID;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0')
            return GH_ERR(err, GH_E_INVALID, "a NUL byte in a form value"), GH_E_INVALID;
        if (o + 1 >= cap)
            return GH_ERR(err, GH_E_TOO_LARGE, "form value longer than %zu bytes", cap - 1),
                   GH_E_TOO_LARGE;
        out[o++] = c;
    }
    out[o] = '\0';
    return GH_OK;
}

/* See http.h. */
enum gh_status gh_http_form_get(const char *form, size_t len, const char *name, char *out,
                                size_t cap, struct gh_err *err)
{
    size_t nl = strlen(name), i = 0;

    GH_ASSERT(cap > 0);
    out[0] = '\0';
    while (i < len) {
        size_t start = i, end, klen;
        const char *eq;
        while (i < len && form[i] != '&')
            i++;
        end = i++;
        eq = memchr(form + start, '=', end - start);
        klen = eq != NULL ? (size_t)(eq - (form + start)) : end - start;
        if (klen == nl && memcmp(form + start, name, nl) == 0) {
            if (eq == NULL)
                return GH_OK; /* present without a value: "" */
            return gh_form_decode(eq + 1, (size_t)(form + end - (eq + 1)), out, cap, err);
        }
    }
    return GH_ERR(err, GH_E_NOT_FOUND, "no %s in the form", name), GH_E_NOT_FOUND;
}

/* See http.h. */
void gh_http_url_encode(struct gh_buf *b, enum gh_status *st, const char *src)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)src; *p != '\0' && *st == GH_OK; p++) {
        char esc[3];
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *st = gh_buf_append(b, p, 1, NULL);
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[*p >> 4];
        esc[2] = hex[*p & 15];
        *st = gh_buf_append(b, esc, 3, NULL);
    }
}

/* See http.h. */
const char *gh_req_cookie(struct gh_req *r, const char *name)
{
    const char *v;
    size_t len;

    if (!gh_http_cookie_find(gh_req_header(r, "Cookie"), name, &v, &len))
        return NULL;
    return gh_arena_strndup(gh_req_arena(r), v, len);
}
