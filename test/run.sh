#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs the real clients and servers the end-to-end
# tests drive (as root, when missing), installs npm dependencies, builds, makes the fixtures, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pair in skopeo:skopeo nginx:nginx-light caddy:caddy apache2:apache2 docker-registry:docker-registry umoci:umoci openssl:openssl curl:curl htpasswd:apache2-utils podman:podman buildah:buildah dockerd:docker.io ctr:containerd script:bsdutils setpriv:util-linux mount:mount chromium:chromium rclone:rclone; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin" command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "the tests need these Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "installing test dependencies: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin"

[ -d node_modules/@oclif/core ] || npm ci --no-audit --no-fund
npm run build
node fixtures/generate.mjs >/dev/null
rm -rf test/.work

shopt -s globstar
# One file at a time: the end-to-end files each run servers and real clients on a 2-core machine.
node --test --test-concurrency=1 --test-reporter=spec dist/test/**/*.test.js
