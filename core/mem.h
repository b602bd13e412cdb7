/*
 * mem.h - allocation that never returns NULL (Redis zmalloc, h2o_mem_alloc).
 *
 * On out-of-memory these print the size and abort: there is no NULL-after-malloc branch in the
 * tree. Memory from them is released with free().
 */
#ifndef GH_MEM_H
#define GH_MEM_H

#include <stddef.h>

void *gh_xmalloc(size_t n);
void *gh_xcalloc(size_t count, size_t size);
void *gh_xrealloc(void *p, size_t n);
char *gh_xstrdup(const char *s);
char *gh_xstrndup(const char *s, size_t n);
void *gh_xmemdup(const void *p, size_t n);

#endif
