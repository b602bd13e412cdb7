/*
 * mem.c - aborting allocators. Aborting is the policy: a daemon that cannot allocate a few
 * bytes cannot answer correctly, and a half-handled OOM is how security checks fail open.
 */
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void gh_mem_oom(size_t n)
{
    fprintf(stderr, "level=error mod=mem msg=\"out of memory\" size=%zu\n", n);
    abort();
}

/* malloc or abort. Caller frees with free(). */
void *gh_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        gh_mem_oom(n);
    return p;
}

/* calloc or abort (overflow of count*size also aborts). Caller frees with free(). */
void *gh_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        gh_mem_oom(count * size);
    return p;
}

/* realloc or abort. */
void *gh_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        gh_mem_oom(n);
    return q;
}

/* strdup or abort. Caller frees. */
char *gh_xstrdup(const char *s)
{
    return gh_xstrndup(s, strlen(s));
}

/* Copy at most n bytes of s and NUL-terminate. Caller frees. */
char *gh_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = gh_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Copy n bytes. Caller frees. */
void *gh_xmemdup(const void *p, size_t n)
{
    void *q = gh_xmalloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}
