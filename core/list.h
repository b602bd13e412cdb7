/*
 * list.h - a list of strings: how the config keeps a comma-separated setting, and how the modules
 * that read such a setting receive it (jwks_cache_opts, authz_verifier_opts) without seeing the
 * config.
 */
#ifndef GH_LIST_H
#define GH_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* A NULL-terminated array of count strings. Whoever fills it says who owns the strings: the
 * config owns its lists; an options struct copied from the config only borrows them. */
struct gh_list {
    char **items;
    size_t count;
};

/* True when s is an item of l (exact, case-sensitive). */
bool gh_list_contains(const struct gh_list *l, const char *s);

#endif
