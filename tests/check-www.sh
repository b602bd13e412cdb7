#!/usr/bin/env bash
# tests/check-www.sh - `make check-www`: the admin page's files (sidecar/www/) keep the rules the
# daemon's Content-Security-Policy (default-src 'self') and the sign-in design rely on. Needs
# node (package nodejs). Prints every problem and exits non-zero when there is one.
#  1. app.js parses as an ES module (node --check on a .mjs copy).
#  2. index.html has no inline script, inline style or on* handler attribute (CSP would block
#     them: the page would silently lose that code), and loads nothing from another origin.
#  3. app.js never writes HTML from strings (innerHTML, outerHTML, insertAdjacentHTML,
#     document.write), never evaluates strings (eval, new Function), and never keeps anything in
#     browser storage or cookies (the break-glass admin token lives in a variable only).
#  4. app.css loads nothing from another origin (@import, url(http…)).
set -uo pipefail
cd "$(dirname "$0")/.."
www=sidecar/www
bad=0
fail() {
    echo "check-www: $*" >&2
    bad=1
}

for f in index.html app.js app.css; do
    [ -s "$www/$f" ] || fail "$www/$f is missing or empty"
done

# 1. syntax
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$www/app.js" "$tmp/app.mjs"
if ! out=$(node --check "$tmp/app.mjs" 2>&1); then
    fail "app.js does not parse as an ES module:"
    echo "$out" >&2
fi

# 2. index.html
if grep -nE '<script(\s[^>]*)?>' "$www/index.html" | grep -vE '<script[^>]*\ssrc="/admin/assets/[a-z]+\.js"' ; then
    fail "index.html: a <script> without src=\"/admin/assets/…\" (inline scripts are blocked by the CSP)"
fi
if grep -nE '<style|\sstyle=|\son[a-z]+=' "$www/index.html"; then
    fail "index.html: inline style or event handler attribute (blocked by the CSP)"
fi
if grep -nE '(src|href)="(https?:)?//' "$www/index.html"; then
    fail "index.html: loads from another origin (no CDN)"
fi

# 3. app.js (comment lines may name what the code must not do)
code_lines() {
    grep -nE "$1" "$www/app.js" | grep -vE '^[0-9]+:\s*(\*|//|/\*)'
}
if code_lines '\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\('; then
    fail "app.js: HTML or code built from strings (use DOM nodes and textContent)"
fi
if code_lines '\b(localStorage|sessionStorage|indexedDB)\b|document\.cookie'; then
    fail "app.js: browser storage or cookies (the admin token stays in memory only)"
fi
if code_lines '(fetch|import)\s*\(\s*["'"'"'`](https?:)?//'; then
    fail "app.js: a request to another origin"
fi

# 4. app.css
if grep -nE '@import|url\(\s*["'"'"']?(https?:)?//' "$www/app.css"; then
    fail "app.css: loads from another origin"
fi

[ "$bad" -eq 0 ] && echo "check-www: sidecar/www ok (app.js parses; no inline code, no foreign origin, no HTML from strings, no storage)"
exit "$bad"
