/*
 * list.c - lists of strings (see list.h).
 */
#include "list.h"

#include <string.h>

/* True when s is an item of l (exact, case-sensitive). */
bool gh_list_contains(const struct gh_list *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}
