/*
 * client.c - one HTTP(S) request with libcurl, response kept in memory. Bounded: 10 s total.
 */
#include "support.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct gh_client_sink {
    char *data;
    size_t len;
};

static size_t gh_client_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct gh_client_sink *s = userdata;
    size_t n = size * nmemb;
    s->data = realloc(s->data, s->len + n + 1);
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

/* See support.h. */
int gh_http(const char *method, const char *url, const char *const *headers, const char *body,
            const char *ca_file, struct gh_http_resp *out)
{
    return gh_http_from(NULL, method, url, headers, body, ca_file, out);
}

/* See support.h. */
int gh_http_from(const char *local_ip, const char *method, const char *url,
                 const char *const *headers, const char *body, const char *ca_file,
                 struct gh_http_resp *out)
{
    char iface[64];

    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct gh_client_sink b = {0}, h = {0};
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (body != NULL)
        hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gh_client_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, gh_client_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    if (local_ip != NULL) {
        /* "host!" makes curl take the value as an address, never an interface name */
        snprintf(iface, sizeof(iface), "host!%s", local_ip);
        curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = b.data != NULL ? b.data : strdup("");
    out->body_len = b.len;
    out->headers = h.data != NULL ? h.data : strdup("");
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

/* See support.h. The last occurrence wins (after redirects/100-continue). */
const char *gh_http_resp_header(const struct gh_http_resp *r, const char *name, char *buf,
                                size_t cap)
{
    size_t n = strlen(name);
    const char *p = r->headers, *found = NULL;
    while (p != NULL && *p) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            found = p + n + 1;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    if (found == NULL)
        return NULL;
    while (*found == ' ')
        found++;
    n = strcspn(found, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, found, n);
    buf[n] = '\0';
    return buf;
}

/* See support.h. */
void gh_http_resp_free(struct gh_http_resp *r)
{
    free(r->body);
    free(r->headers);
    r->body = NULL;
    r->headers = NULL;
}
