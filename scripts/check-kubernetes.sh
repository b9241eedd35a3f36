#!/usr/bin/env bash
# Checks deploy/kubernetes without a cluster (scripts/kubernetes/check_kubernetes.py):
#
#   1. renders the overlays base, dev and production with `kubectl kustomize` (where kubectl is
#      installed) and with the small renderer scripts/kubernetes/render.py, which must agree;
#   2. validates every object against the Kubernetes OpenAPI schema with a pinned
#      kubernetes-validate (strict), installed into .cache/kubernetes-check/, and checks the
#      restricted Pod Security Standard, requests and limits, probes on the endpoints each
#      service serves, variables known to `--help`, replicas, strategies, budgets, Services,
#      NetworkPolicies and every Secret/ConfigMap reference;
#   3. runs the dev overlay natively: every container of the sigstack image with its command line,
#      environment and volumes from the rendered objects, against a fresh PostgreSQL database,
#      the init Job storing its Secret and ConfigMaps through a stand-in API server; Jobs exit 0,
#      pods pass their probes, two Rekor replicas serve one log, sigstore-python (pinned, the
#      interop suites' venv in .cache/interop/) signs and verifies through the TUF pod, the CT
#      log's and Rekor's keys rotate as docs/kubernetes.md says, the pkcs11 overlay's TSA pod
#      runs on a SoftHSM2 token (scripts/softhsm.sh), everything stops on SIGTERM.
#
# PostgreSQL comes from scripts/with-postgres.sh (DATABASE_URL, else 127.0.0.1:5432, else a
# throwaway cluster); a fresh database is created and dropped again.
#
# Ends with `kubernetes-check: N passed, M failed[, K skipped]`; exit status 1 if any failed.
# Knobs: SIGSTACK_BIN (a built binary; default: cargo build -p sigstack, debug),
#        KEEP_KUBERNETES_CHECK_DIR=1 (keep the scratch directory with every pod's log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# shellcheck source=scripts/native-check.sh
source "$ROOT/scripts/native-check.sh"
native_check_begin kubernetes-check KEEP_KUBERNETES_CHECK_DIR
CACHE="$ROOT/.cache/kubernetes-check"

# --- the validator, pinned, in .cache ---------------------------------------------------------
REQS="$ROOT/scripts/kubernetes/requirements.txt"
VENV="$CACHE/venv"
# shellcheck source=scripts/pinned-venv.sh
source "$ROOT/scripts/pinned-venv.sh"
pinned_venv "$VENV" "$REQS" "the validator"
PY="$VENV/bin/python"
# sigstore-python, the venv the interop suites share (scripts/interop/lib.sh: same pins, same
# place, the same lock): it signs and verifies through the dev overlay's TUF repository.
SIGSTORE_VENV="$ROOT/.cache/interop/venv-sigstore"
pinned_venv "$SIGSTORE_VENV" "$ROOT/scripts/interop/requirements-sigstore.txt" sigstore-python \
    --only-binary :all: --no-deps

# SoftHSM2, for a pod of the pkcs11 overlay (installed with apt-get when missing; skipped if it
# cannot be).
SOFTHSM_MODULE=$(bash "$ROOT/scripts/softhsm.sh" 2>/dev/null) || SOFTHSM_MODULE=""

native_check_binary
native_check_database kubernetes_check
native_check_workdir kubernetes-check

# --- the checks -------------------------------------------------------------------------------
set +e
"$PY" scripts/kubernetes/check_kubernetes.py \
    --sigstack "$SIGSTACK" \
    --database-url "$DB_URL" \
    --sigstore-python "$SIGSTORE_VENV/bin/sigstore" \
    --softhsm-module "$SOFTHSM_MODULE" \
    --work "$WORK/run"
rc=$?
set -e
closing_printed=1
exit "$rc"
