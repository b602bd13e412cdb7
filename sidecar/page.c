/*
 * page.c - serving the admin page's files from the binary (page.h). The page is static: the
 * same bytes for everyone, no credential to fetch it; everything it shows comes from the
 * /admin/v1 API, which checks the admin's credential on every request.
 *
 * Every reply carries the page's security headers: a Content-Security-Policy that allows
 * scripts, styles, images and fetches from this origin only (no inline script, no CDN), no
 * framing (clickjacking), no <base> and forms posting only here; nosniff, so a browser never
 * runs a file as another type than the one given; no Referer leaving the page. Files are
 * revalidated on each load (no-cache) against an ETag of their content, so a new binary's page
 * is never mixed with an old cached script.
 */
#include "page.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>

#define GH_PAGE_CSP                                                                                \
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
/* The most files sidecar/www/ may hold (each gets an ETag slot). */
#define GH_PAGE_FILES_MAX 64
#define GH_PAGE_ASSETS    "/admin/assets/"

/* "\"<32 hex digits>\"": the first 16 bytes of each file's SHA-256, computed once. */
static char gh_page_etags[GH_PAGE_FILES_MAX][36];
static pthread_once_t gh_page_once = PTHREAD_ONCE_INIT;

static void gh_page_etags_init(void)
{
    static const char hex[] = "0123456789abcdef";
    GH_ASSERT(gh_page_nfiles <= GH_PAGE_FILES_MAX);
    for (size_t i = 0; i < gh_page_nfiles; i++) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        char *e = gh_page_etags[i];
        SHA256(gh_page_files[i].data, gh_page_files[i].len, d);
        *e++ = '"';
        for (int k = 0; k < 16; k++) {
            *e++ = hex[d[k] >> 4];
            *e++ = hex[d[k] & 15];
        }
        *e++ = '"';
        *e = '\0';
    }
}

/* See page.h. */
const struct gh_page_file *gh_page_file_find(const char *name)
{
    for (size_t i = 0; i < gh_page_nfiles; i++)
        if (strcmp(gh_page_files[i].name, name) == 0)
            return &gh_page_files[i];
    return NULL;
}

/* See page.h. */
const char *gh_page_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static void gh_page_headers(struct gh_req *r)
{
    gh_reply_header(r, "Content-Security-Policy", GH_PAGE_CSP);
    gh_reply_header(r, "X-Content-Type-Options", "nosniff");
    gh_reply_header(r, "Referrer-Policy", "no-referrer");
    gh_reply_header(r, "Cache-Control", "no-cache");
}

/* Does If-None-Match (a list of entity tags, or "*") name etag? Weak tags compare as strong
 * ones here (RFC 9110 §13.1.2: If-None-Match uses the weak comparison). */
static bool gh_page_not_modified(const char *inm, const char *etag)
{
    if (inm == NULL)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    return strstr(inm, etag) != NULL;
}

/* Answer with file f (its ETag; 304 when the browser has it); gh_page_headers ran. */
static enum gh_status gh_page_send(struct gh_req *r, const struct gh_page_file *f)
{
    const char *etag;

    pthread_once(&gh_page_once, gh_page_etags_init);
    etag = gh_page_etags[f - gh_page_files];
    gh_reply_header(r, "ETag", etag);
    if (gh_page_not_modified(gh_req_header(r, "If-None-Match"), etag)) {
        gh_reply(r, 304, NULL, "", 0);
        return GH_OK;
    }
    gh_reply(r, 200, gh_page_content_type(f->name), (const char *)f->data, f->len);
    return GH_OK;
}

/* See page.h: the page lives under /admin/ so that its relative links and the session
 * cookie's Path=/admin both apply. */
enum gh_status gh_page_handle_root(struct gh_req *r, struct gh_err *err)
{
    (void)err;
    gh_page_headers(r);
    gh_reply_header(r, "Location", "/admin/");
    gh_reply(r, 301, "text/plain; charset=utf-8", "", 0);
    return GH_OK;
}

/* See page.h. */
enum gh_status gh_page_handle_index(struct gh_req *r, struct gh_err *err)
{
    const struct gh_page_file *f = gh_page_file_find("index.html");
    gh_page_headers(r);
    if (GH_NEVER(f == NULL)) /* the Makefile fails without it */
        return GH_ERR(err, GH_E_NOT_FOUND, "the admin page is not built in");
    return gh_page_send(r, f);
}

/* See page.h. Names are matched against the table, so no path ever reaches a file system;
 * index.html is the page itself, at /admin/ only. */
enum gh_status gh_page_handle_asset(struct gh_req *r, struct gh_err *err)
{
    const char *path = gh_req_path(r);
    const struct gh_page_file *f = NULL;

    gh_page_headers(r);
    if (strncmp(path, GH_PAGE_ASSETS, strlen(GH_PAGE_ASSETS)) == 0) {
        const char *name = path + strlen(GH_PAGE_ASSETS);
        if (strcmp(name, "index.html") != 0)
            f = gh_page_file_find(name);
    }
    if (f == NULL)
        return GH_ERR(err, GH_E_NOT_FOUND, "no such file in the admin page");
    return gh_page_send(r, f);
}
