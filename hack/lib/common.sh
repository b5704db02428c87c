# shellcheck shell=bash
# Common paths, logging and wait helpers for hack/cluster. Sourced, not executed.

HACK_DIR=${HACK_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
REPO_ROOT=$(cd "$HACK_DIR/.." && pwd)
# shellcheck source=../versions.env
. "$HACK_DIR/versions.env"

# Build/download cache (survives `down`; safe to keep across runs).
CACHE_DIR=${KASSET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kasset}
K8S_BIN=$CACHE_DIR/k8s/$K8S_VERSION/bin
COREDNS_BIN=$CACHE_DIR/coredns/$COREDNS_VERSION/bin
PKG_DIR=$CACHE_DIR/pkgs            # dpkg -x extractions
IMAGES_DIR=$CACHE_DIR/images
TOOLS_BIN=$CACHE_DIR/bin           # symlinks: etcd, containerd, ctr, coredns, ...

# Everything the running cluster owns lives here: PKI, configs, data, logs, pids, sockets.
STATE_DIR=${KASSET_STATE:-/var/lib/kasset-cluster}
PKI=$STATE_DIR/pki
KCFG=$STATE_DIR/kubeconfig          # per-component kubeconfigs
LOGS=$STATE_DIR/logs
RUN=$STATE_DIR/run                  # supervisor pid files
ADMIN_KUBECONFIG=$STATE_DIR/admin.kubeconfig
CONTAINERD_SOCK=$STATE_DIR/run/containerd/containerd.sock
TIER_FILE=$STATE_DIR/tier

NODE_NAME=${KASSET_NODE_NAME:-kasset-node}
BRIDGE=cni0
# The bridge gateway address doubles as the node IP and the apiserver advertise address,
# so nothing depends on this machine's external interface.
NODE_IP=$(echo "${CLUSTER_CIDR%/*}" | awk -F. '{print $1"."$2"."$3".1"}')
NODE_POD_CIDR="${CLUSTER_CIDR%/*}/${NODE_POD_CIDR_MASK}"
# Ports (loopback unless noted). Overridable so that a second, control-plane-only instance
# with its own KASSET_STATE can run next to the default one (the full tier's node components
# use fixed host resources: cni0, kubelet/kube-proxy ports; only one full cluster per host).
APISERVER_PORT=${KASSET_APISERVER_PORT:-6443}          # all interfaces
ETCD_PORT=${KASSET_ETCD_PORT:-2379}                    # +1 peer, +2 metrics
KCM_PORT=${KASSET_KCM_PORT:-10257}

# Our binaries first; keep the caller's PATH (go may live in /usr/local/go/bin etc.).
export PATH="$K8S_BIN:$TOOLS_BIN:${PATH:-/usr/local/bin:/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin"

log()  { printf '\033[1;34m[cluster]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[cluster] WARN:\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31m[cluster] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" = 0 ] || die "hack/cluster must run as root (it manages mounts, iptables, network interfaces)"
  [ "$(uname -s)" = Linux ] || die "hack/cluster needs Linux"
}

# wait_for TIMEOUT_SECONDS DESCRIPTION LOGFILE -- command...
# Polls command until it succeeds; on timeout prints the tail of LOGFILE and dies.
wait_for() {
  local timeout=$1 what=$2 logf=$3; shift 3; [ "${1:-}" = -- ] && shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      warn "timed out after ${timeout}s waiting for $what"
      if [ -n "$logf" ] && [ -f "$logf" ]; then
        warn "last lines of $logf:"; tail -n 25 "$logf" >&2
      fi
      die "$what not ready (see $logf)"
    fi
    sleep 0.5
  done
}

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
