#!/usr/bin/env bash
# tests/check-examples.sh BINARY - `make check-examples`: the deployment examples that no test
# runs are checked here (nginx and Caddy run in tests/e2e/test_proxies.c, Envoy's check requests
# too). Needs systemd-analyze (package systemd; no running systemd) and objdump; prints one line
# per check, and every problem, and exits non-zero when there is one.
#  1. examples/systemd/gatehouse.service passes `systemd-analyze verify`, in a scratch root that
#     holds BINARY at the unit's ExecStart path, kill(1) for ExecReload and systemd's own units.
#     verify only warns about an unknown or malformed option (exit 0), so any message fails.
#     The exposure score of `systemd-analyze security` is printed.
#  2. examples/kubernetes/envoy-configmap.yaml embeds examples/envoy/envoy.yaml verbatim.
#  3. The Dockerfile's runtime stage installs a package providing every library BINARY needs
#     (its DT_NEEDED entries, found through dpkg -S on this Debian 12 build machine).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: tests/check-examples.sh path/to/gatehouse}
bad=0
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# 1. systemd
unit=examples/systemd/gatehouse.service
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/etc/systemd/system" "$root$(dirname "$exec_start")"
ln -s usr/bin "$root/bin"
cp "$bin" "$root$exec_start"
cp "$(readlink -f /bin/kill)" "$root/usr/bin/kill"
cp -r /usr/lib/systemd "$root/usr/lib/"
cp "$unit" "$root/etc/systemd/system/"
if ! out=$(systemd-analyze verify --root="$root" gatehouse.service 2>&1) || [ -n "$out" ]; then
    echo "$unit: systemd-analyze verify:"
    echo "$out"
    bad=1
else
    score=$(systemd-analyze security --offline=yes --root="$root" gatehouse.service 2>&1 | tail -n 1)
    echo "$unit: systemd-analyze verify ok; security: ${score#→ }"
fi

# 2. the Envoy ConfigMap
if sed -n '/^  envoy.yaml: |$/,$p' examples/kubernetes/envoy-configmap.yaml | tail -n +2 |
    sed 's/^    //' | diff -u examples/envoy/envoy.yaml -; then
    echo "examples/kubernetes/envoy-configmap.yaml: embeds examples/envoy/envoy.yaml"
else
    echo "examples/kubernetes/envoy-configmap.yaml must embed examples/envoy/envoy.yaml verbatim"
    bad=1
fi

# 3. the Dockerfile's runtime libraries
runtime=$(awk '/^FROM /{stage++} stage==2' Dockerfile | tr -d '\\' | tr -s ' \n' '\n\n' |
    sed -n '/^--no-install-recommends$/,/^&&$/p' | grep -v -e '^--' -e '^&&$')
missing=""
for lib in $(objdump -p "$bin" | awk '/NEEDED/{print $2}'); do
    case $lib in libc.so.* | ld-linux*) continue ;; esac
    path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
    if [ -z "$pkg" ] || ! grep -qx "$pkg" <<<"$runtime"; then
        missing="$missing $lib (${pkg:-no package})"
    fi
done
if [ -n "$missing" ]; then
    echo "Dockerfile: the runtime stage lacks the package of:$missing"
    bad=1
else
    echo "Dockerfile: the runtime stage provides every library $bin needs ($(echo $runtime))"
fi
exit $bad
