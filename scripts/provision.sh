#!/usr/bin/env bash
# `npm test`'s first step. The integration tests start two programs for real that npm cannot install: Redis
# (redis-server, for the shared token store) and Chromium (the offline docs and the browser bundle). On Debian
# or Ubuntu this installs what is missing with apt-get, as root or with sudo, and says what it installs; on any
# other system, or without the rights, it stops at once with the command to run.
set -euo pipefail

chromium_path() {
  for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

missing=()
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
# redis-cli joins the Redis Cluster tests' nodes (redis-server's package depends on it; checked on its own anyway).
[ -x /usr/bin/redis-cli ] || missing+=(redis-tools)
chromium_path >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test: the integration tests need ${missing[*]}, which npm cannot install." >&2
  echo "  Debian or Ubuntu: sudo sh -c '$command'" >&2
  echo "  Elsewhere: install Redis (redis-server at /usr/bin/redis-server) and Chromium (set CHROMIUM_PATH to it)." >&2
  echo "  The unit tests need neither: npm run test:unit" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "npm test: the integration tests need ${missing[*]}; installing them needs root. Run:" >&2
    echo "  sudo sh -c '$command'" >&2
    echo "  (the unit tests need neither: npm run test:unit)" >&2
    exit 1
  fi
fi
echo "npm test: installing ${missing[*]} with apt-get (the integration tests start Redis and Chromium for real)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "npm test: installed ${missing[*]}"
