#!/usr/bin/env bash
# One command from a fresh clone to a running local fleet: installs what is missing
# (Debian packages when root, npm dependencies), builds, puts `meshrun` on PATH and
# starts `meshrun dev` (the secured setup: a throwaway trust root, nats-server on TLS with
# per-node credentials, a coordinator with TLS and users, agents alpha and beta joined with tokens).
# Extra arguments go to `meshrun dev` (e.g. --demo).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v ansible-playbook >/dev/null || need+=(ansible-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "quickstart: installing ${need[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "quickstart: missing ${need[*]}; run: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

# --include=dev: the build (tsc, esbuild) needs the dev dependencies, also where NODE_ENV=production
[ -d node_modules ] || npm ci --include=dev --no-audit --no-fund
npm run build --silent
if ! command -v meshrun >/dev/null; then
  npm link --silent >/dev/null 2>&1 || echo "quickstart: could not put meshrun on PATH; use: node $(pwd)/bin/meshrun.js" >&2
fi
exec node bin/meshrun.js dev "$@"
