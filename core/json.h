/*
 * json.h - strict JSON: a document that means one thing (RFC 8259 grammar with the I-JSON rules
 * of RFC 7493 §2.1-2.3 that matter here).
 *
 * cJSON keeps every copy of a repeated member name (GetObjectItem finds the first, other readers
 * the last), cuts a string at \u0000 and passes invalid UTF-8 through to every later reply. So
 * every untrusted JSON text is checked here first, in one pass over its bytes, and refused
 * (GH_E_INVALID, the message says what and at which byte) when it has
 *   - a member name twice in one object, compared after unescaping ("a" and "\u0061" are the
 *     same; with GH_JSON_NAMES_NOCASE also "userName" and "username");
 *   - \u0000 or any raw control character (raw NUL included) in a string;
 *   - invalid UTF-8 (overlong forms, UTF-8-encoded surrogates, code points above U+10FFFF,
 *     bytes 0xC0, 0xC1, 0xF5..0xFF, truncated sequences) or an unpaired \uD800-style escape;
 *   - anything RFC 8259 does not allow (leading zeros, bytes after the value, ...) or nesting
 *     deeper than GH_CAP_JSON_DEPTH.
 * A leading UTF-8 byte order mark is ignored (RFC 8259 §8.1 allows it; cJSON skips it).
 * Noncharacters (U+FFFE, U+FDD0...) are valid UTF-8 and accepted.
 */
#ifndef GH_JSON_H
#define GH_JSON_H

#include "err.h"

#include <cjson/cJSON.h>
#include <stddef.h>

enum gh_json_flags {
    /* Member names that differ only in ASCII case are duplicates: SCIM attribute names are
     * case-insensitive (RFC 7643 §2.1), so {"userName":..,"username":..} names one attribute
     * twice. Other routes compare names exactly (JWT claim names are case-sensitive, RFC 7519
     * §4; so are the /v1/authorize and admin API members). */
    GH_JSON_NAMES_NOCASE = 1u << 0,
};

/* Check that s (len bytes; need not be NUL-terminated) is strict JSON. `what` names the text in
 * the message ("request body", "policy"). Linear in len, no recursion, no allocation for
 * documents with up to a few dozen members open at once. Thread-safe. */
enum gh_status gh_json_check(const char *s, size_t len, unsigned flags, const char *what,
                             struct gh_err *err);
/* gh_json_check, then cJSON. *out_json is owned by the caller (cJSON_Delete). An empty text is
 * refused ("<what> is empty; JSON expected"). */
enum gh_status gh_json_parse(const char *s, size_t len, unsigned flags, const char *what,
                             cJSON **out_json, struct gh_err *err);

#endif
