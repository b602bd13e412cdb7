/*
 * page.h - the admin page's files, compiled into the binary: the Makefile turns each file of
 * sidecar/www/ into bytes of the generated build/gen/www.c (od + awk), which defines the table
 * below. page.c serves them, with no credential (the page asks /admin/v1/session itself):
 *   GET /admin          301 to /admin/
 *   GET /admin/         index.html
 *   GET /admin/assets/<name>   any other file (404 for an unknown name)
 * with a Content-Security-Policy allowing only the page's own origin, nosniff, no referrer,
 * and Cache-Control: no-cache with an ETag of the file's SHA-256 (304 on If-None-Match).
 */
#ifndef GH_PAGE_H
#define GH_PAGE_H

#include "core/core.h"

#include <stddef.h>

struct gh_page_file {
    const char *name;          /* a plain file name: "index.html", "app.js" */
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
};
/* The files (static storage; generated), gh_page_nfiles of them, then a {NULL} row. */
extern const struct gh_page_file gh_page_files[];
extern const size_t gh_page_nfiles;

/* The file of that name, or NULL (borrowed, static storage). */
const struct gh_page_file *gh_page_file_find(const char *name);
/* Content-Type of a file name by its extension ("text/javascript; charset=utf-8"...). */
const char *gh_page_content_type(const char *name);

/* ---- handlers (sidecar/router.c; public: no credential) ---- */
enum gh_status gh_page_handle_root(struct gh_req *r, struct gh_err *err);  /* /admin */
enum gh_status gh_page_handle_index(struct gh_req *r, struct gh_err *err); /* /admin/ */
enum gh_status gh_page_handle_asset(struct gh_req *r, struct gh_err *err); /* /admin/assets/.. */

#endif
