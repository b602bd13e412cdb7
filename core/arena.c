/*
 * arena.c - bump allocator: chunks of GH_ARENA_CHUNK bytes, a larger request gets a chunk of its
 * own. Invariant: chunk->used <= chunk->size; every returned pointer is max_align_t aligned.
 */
#include "arena.h"
#include "mem.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GH_ARENA_CHUNK 8192

struct gh_arena_chunk {
    struct gh_arena_chunk *next;
    size_t size;
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

struct gh_arena {
    struct gh_arena_chunk *head;
};

/* A new empty arena. Caller frees with gh_arena_free(). */
struct gh_arena *gh_arena_new(void)
{
    return gh_xcalloc(1, sizeof(struct gh_arena));
}

/* Free the arena and everything allocated from it. */
void gh_arena_free(struct gh_arena *a)
{
    struct gh_arena_chunk *c, *next;

    if (a == NULL)
        return;
    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

/* See arena.h. */
void gh_arena_reset(struct gh_arena *a)
{
    struct gh_arena_chunk *c, *next, *keep = NULL;

    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        if (keep == NULL && c->size == GH_ARENA_CHUNK) {
            keep = c;
            continue;
        }
        free(c);
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
}

/* n zeroed bytes owned by the arena. */
void *gh_arena_alloc(struct gh_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    struct gh_arena_chunk *c = a->head;
    size_t need = (n + align - 1) & ~(align - 1);
    void *p;

    if (need == 0)
        need = align;
    if (c == NULL || c->size - c->used < need) {
        size_t size = need > GH_ARENA_CHUNK ? need : GH_ARENA_CHUNK;
        c = gh_xmalloc(sizeof(*c) + size);
        c->size = size;
        c->used = 0;
        /* A big one-off chunk goes behind the head so the head keeps its free space. */
        if (a->head != NULL && size > GH_ARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    p = c->data + c->used;
    c->used += need;
    memset(p, 0, n);
    return p;
}

/* A NUL-terminated copy of s owned by the arena. */
char *gh_arena_strdup(struct gh_arena *a, const char *s)
{
    return gh_arena_strndup(a, s, strlen(s));
}

/* A NUL-terminated copy of the first n bytes of s (s need not be terminated). */
char *gh_arena_strndup(struct gh_arena *a, const char *s, size_t n)
{
    char *p = gh_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* printf into arena memory. */
char *gh_arena_printf(struct gh_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    p = gh_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
