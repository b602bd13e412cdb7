/*
 * arena.h - a bump allocator owned by one request (h2o/nginx pools).
 *
 * Everything allocated from an arena lives until gh_arena_free(); nothing is freed singly.
 * An arena is used by one thread at a time.
 */
#ifndef GH_ARENA_H
#define GH_ARENA_H

#include <stddef.h>

struct gh_arena;

/* ---- lifecycle ---- */
struct gh_arena *gh_arena_new(void);    /* caller frees with gh_arena_free */
void gh_arena_free(struct gh_arena *a); /* NULL is a no-op */
/* Forget everything allocated (earlier pointers become invalid) but keep one standard chunk,
 * so a reused arena serves the next small request without calling malloc. */
void gh_arena_reset(struct gh_arena *a);

/* ---- allocation (all results owned by the arena; abort on OOM) ---- */
void *gh_arena_alloc(struct gh_arena *a, size_t n); /* zeroed, aligned for any type */
char *gh_arena_strdup(struct gh_arena *a, const char *s);
char *gh_arena_strndup(struct gh_arena *a, const char *s, size_t n);
char *gh_arena_printf(struct gh_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
