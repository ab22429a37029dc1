#!/usr/bin/env bash
# Installs the system programs the tests drive as real peers, from Debian's packages, where
# they are missing: chromium (the browser chat test), tinyproxy (the HTTP proxy tests),
# dante-server and microsocks (the SOCKS5 tests: Dante without authentication, microsocks with
# a password), stunnel4 (TLS in front of tinyproxy: the https:// proxy tests) and
# redis-server (the hub's Redis backplane tests), and Node.js with npm where missing (the
# browser test installs playwright-core itself: tests/browser, npm ci).
# Nothing is started here: each test starts and stops its own server on loopback.
set -euo pipefail
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
[[ -x /usr/bin/tinyproxy ]] || need+=(tinyproxy)
[[ -x /usr/sbin/danted ]] || need+=(dante-server)
[[ -x /usr/bin/microsocks ]] || need+=(microsocks)
[[ -x /usr/bin/stunnel4 ]] || need+=(stunnel4)
[[ -x /usr/bin/redis-server ]] || need+=(redis-server)
command -v npm >/dev/null || need+=(nodejs npm)
if [[ ${#need[@]} -gt 0 ]]; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be stale or absent on a fresh machine: refresh once on failure.
    $sudo apt-get install -y -q "${need[@]}" >/dev/null ||
        { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${need[@]}" >/dev/null; }
    echo "deps: installed ${need[*]}"
fi
