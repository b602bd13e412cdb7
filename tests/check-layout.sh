#!/usr/bin/env bash
# tests/check-layout.sh - `make check-layout`: includes only go down the floors, and no file
# includes itself through others (no cycles). The floors, lowest first; a folder may include its
# own files and those of lower floors only (two folders on one floor never include each other):
#   0 core      buf, arena, err, log, mem, lists, JSON, the HTTP server and route matching,
#               the metrics registry, the failed-authentication table
#   1 jwks store
#   2 scim policies
#   3 authz
#   4 sidecar   main, daemon wiring, config table, route table, ops endpoints
# Reads `#include "…"` lines of every tracked .c/.h in those folders; prints each violation.
set -uo pipefail
cd "$(dirname "$0")/.."
declare -A floor=([core]=0 [jwks]=1 [store]=1 [scim]=2 [policies]=2 [authz]=3 [sidecar]=4)
bad=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in $(git ls-files '*.c' '*.h'); do
    dir=${f%%/*}
    [ -n "${floor[$dir]+x}" ] || continue
    while read -r inc; do
        case $inc in
        */*) target=$inc ;;
        *) target=$(dirname "$f")/$inc ;;
        esac
        tdir=${target%%/*}
        [ -n "${floor[$tdir]+x}" ] || continue
        echo "$f $target" >>"$edges"
        if [ "$tdir" != "$dir" ] && [ "${floor[$tdir]}" -ge "${floor[$dir]}" ]; then
            echo "layout: $f includes $inc: $dir (floor ${floor[$dir]}) may not include $tdir (floor ${floor[$tdir]})"
            bad=1
        fi
    done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
# a cycle between files: tsort names it
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
    sed 's/^/layout: /' "$edges.err"
    bad=1
fi
rm -f "$edges.err"
[ "$bad" = 0 ] && echo "layout: ok ($(wc -l <"$edges") includes checked)"
exit "$bad"
