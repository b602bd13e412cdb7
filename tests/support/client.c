/*
 * client.c - one HTTP(S) request with libcurl, response kept in memory. Bounded: 10 s total.
 */
#include "support.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

/* One request on handle c (reused by the caller or not). Returns 0 on any HTTP status. */
static int gh_client_perform(CURL *c, const char *method, const char *url,
                             const char *const *headers, const char *body, const char *ca_file,
                             struct gh_http_resp *out)
{
    struct curl_slist *hl = NULL;
    struct gh_client_sink b = {0}, h = {0};
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (body != NULL)
        hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L); /* a reused handle forgets the last body */
    }
    curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
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
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = b.data != NULL ? b.data : strdup("");
    out->body_len = b.len;
    out->headers = h.data != NULL ? h.data : strdup("");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    return rc == CURLE_OK ? 0 : -1;
}

/* See support.h. */
int gh_http(const char *method, const char *url, const char *const *headers, const char *body,
            const char *ca_file, struct gh_http_resp *out)
{
    return gh_http_from(NULL, method, url, headers, body, ca_file, out);
}

struct gh_http_client {
    CURL *curl;
};

/* See support.h. "host!" makes libcurl bind the numeric address rather than look up an
 * interface by that name. */
struct gh_http_client *gh_http_client_new(const char *local_addr)
{
    struct gh_http_client *c = calloc(1, sizeof(*c));
    char iface[64];

    c->curl = curl_easy_init();
    if (local_addr != NULL) {
        snprintf(iface, sizeof(iface), "host!%s", local_addr);
        curl_easy_setopt(c->curl, CURLOPT_INTERFACE, iface);
    }
    return c;
}

/* See support.h. */
int gh_http_client_do(struct gh_http_client *c, const char *method, const char *url,
                      const char *const *headers, const char *body, struct gh_http_resp *out)
{
    return gh_client_perform(c->curl, method, url, headers, body, NULL, out);
}

/* See support.h. */
void gh_http_client_free(struct gh_http_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

/* See support.h: a one-request client. */
int gh_http_from(const char *local_ip, const char *method, const char *url,
                 const char *const *headers, const char *body, const char *ca_file,
                 struct gh_http_resp *out)
{
    struct gh_http_client *c = gh_http_client_new(local_ip);
    int rc = gh_client_perform(c->curl, method, url, headers, body, ca_file, out);
    gh_http_client_free(c);
    return rc;
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

/* See support.h. */
int gh_tcp_connect(const char *from, int port, int timeout_ms)
{
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    inet_pton(AF_INET, from, &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons((unsigned short)port);
    if (timeout_ms > 0) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
