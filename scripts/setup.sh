#!/usr/bin/env bash
# Installs what xiaoxiang needs from Debian's archive. Idempotent and quiet
# when everything is there; works as root, and through sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-dev
  libboost1.81-dev libsqlite3-dev sqlite3 libcereal-dev pybind11-dev
  libbenchmark-dev libgtest-dev libgeographiclib-dev libssl-dev libs2-dev libabsl-dev
  python3-dev python3-numpy python3-pandas python3-pytest python3-matplotlib
  python3-venv python3-pip python3-setuptools python3-wheel
  openssl prometheus  # security: test keys and certificates; promtool checks /metrics
  libhiredis-dev redis-server redis-tools libpq-dev postgresql  # scale-out adapters and their test servers
  chromium fonts-noto-cjk  # the web tests: headless browser, CJK glyphs of the status labels
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
