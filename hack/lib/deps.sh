# shellcheck shell=bash
# Installing and building everything the cluster runs. All results are cached under
# $CACHE_DIR and reused; each step is idempotent.

apt_updated=0
apt_install() {  # apt_install PKG... (only the missing ones)
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ $apt_updated = 0 ]; then
    apt-get update -qq >"$CACHE_DIR/logs/apt-update.log" 2>&1 || die "apt-get update failed (see $CACHE_DIR/logs/apt-update.log)"
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$CACHE_DIR/logs/apt-install.log" 2>&1 || die "apt-get install failed (see $CACHE_DIR/logs/apt-install.log)"
}

# A private apt configuration that knows trixie and sid. It is used only to *download*
# .debs; the system's sources, pins and upgrade candidates are not touched.
PRIVATE_APT=$CACHE_DIR/apt
private_apt() {  # private_apt apt-get|apt-cache ARGS...
  local tool=$1; shift
  "$tool" -o Dir::Etc::SourceList="$PRIVATE_APT/sources.list" \
    -o Dir::Etc::SourceParts="$PRIVATE_APT/sources.list.d" \
    -o Dir::Etc::Preferences="$PRIVATE_APT/preferences" \
    -o Dir::Etc::PreferencesParts="$PRIVATE_APT/preferences.d" \
    -o Dir::State::Lists="$PRIVATE_APT/lists" -o Dir::State::status="$PRIVATE_APT/status" \
    -o Dir::Cache="$PRIVATE_APT/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

private_apt_update() {
  [ -f "$PRIVATE_APT/lists/.updated" ] && [ -z "$(find "$PRIVATE_APT/lists/.updated" -mmin +1440)" ] && return 0
  mkdir -p "$PRIVATE_APT"/{sources.list.d,preferences.d,lists/partial,cache/archives/partial,debs}
  touch "$PRIVATE_APT/status"
  cat >"$PRIVATE_APT/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
SRC
  log "updating private apt index (trixie, sid) in $PRIVATE_APT"
  private_apt apt-get update -qq >"$CACHE_DIR/logs/private-apt.log" 2>&1 \
    || die "private apt update failed (see $CACHE_DIR/logs/private-apt.log)"
  touch "$PRIVATE_APT/lists/.updated"
}

# fetch_deb PKG/SUITE -> prints the extraction dir (cached by package file name)
fetch_deb() {
  local spec=$1 pkg=${1%%/*} existing
  existing=$(ls -d "$PKG_DIR/${pkg}_"* 2>/dev/null | sort -V | tail -1)
  if [ -n "$existing" ] && [ -f "$existing/.complete" ]; then echo "$existing"; return 0; fi
  private_apt_update
  ( cd "$PRIVATE_APT/debs" && rm -f "${pkg}_"*.deb && private_apt apt-get download -qq "$spec" ) \
    >>"$CACHE_DIR/logs/private-apt.log" 2>&1 || die "could not download $spec (see $CACHE_DIR/logs/private-apt.log)"
  local deb; deb=$(ls "$PRIVATE_APT/debs/${pkg}_"*.deb | head -1)
  local dir=$PKG_DIR/$(basename "$deb" .deb)
  rm -rf "$dir"; mkdir -p "$dir"; dpkg -x "$deb" "$dir"; touch "$dir/.complete"
  echo "$dir"
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

link_tool() { ln -sfn "$1" "$TOOLS_BIN/$(basename "$1")"; }

ensure_host_packages() {
  mkdir -p "$CACHE_DIR/logs" "$TOOLS_BIN"
  command -v apt-get >/dev/null || die "needs a Debian-based host (apt-get)"
  # shellcheck disable=SC2086
  apt_install $APT_PACKAGES
  [ -x /usr/sbin/runc ] || die "runc missing after apt-get install"
  /usr/sbin/runc --version >/dev/null 2>&1 || die "runc does not run on this host"
  local ipt; ipt=$(readlink -f "$(command -v iptables)")
  case $ipt in *nft*) ;; *) warn "iptables is $ipt (not the nft backend); all components use the same binary anyway";; esac
}

ensure_etcd() {
  [ -x "$TOOLS_BIN/etcd" ] && "$TOOLS_BIN/etcd" --version >/dev/null 2>&1 && return 0
  local dir v; dir=$(fetch_deb "$ETCD_DEB")
  v=$("$dir/usr/bin/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p')
  [ -n "$v" ] || die "etcd from $ETCD_DEB does not start on this host ($dir/usr/bin/etcd)"
  version_ge "$v" "$ETCD_MIN_VERSION" || die "etcd $v < $ETCD_MIN_VERSION"
  link_tool "$dir/usr/bin/etcd"; link_tool "$dir/usr/bin/etcdutl"
  log "etcd $v from $ETCD_DEB"
}

ensure_containerd() {
  [ -x "$TOOLS_BIN/containerd" ] && "$TOOLS_BIN/containerd" --version >/dev/null 2>&1 \
    && [ -x "$TOOLS_BIN/containerd-shim-runc-v2" ] && return 0
  local dir v; dir=$(fetch_deb "$CONTAINERD_DEB")
  v=$("$dir/usr/bin/containerd" --version 2>/dev/null | awk '{print $3}')
  [ -n "$v" ] || die "containerd from $CONTAINERD_DEB does not start on this host"
  version_ge "${v%%+*}" "$CONTAINERD_MIN_VERSION" || die "containerd $v < $CONTAINERD_MIN_VERSION"
  local b; for b in containerd containerd-shim-runc-v2 ctr; do link_tool "$dir/usr/bin/$b"; done
  log "containerd $v from $CONTAINERD_DEB"
}

ensure_k8s_binaries() {
  local c ok=1
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [ -x "$K8S_BIN/$c" ] || ok=0
  done
  if [ $ok = 1 ] && "$K8S_BIN/kubelet" --version 2>/dev/null | grep -qF "$K8S_VERSION"; then return 0; fi
  command -v go >/dev/null || die "Go toolchain not found (needed once to build Kubernetes $K8S_VERSION)"
  log "building Kubernetes $K8S_VERSION from Go modules (first run only; ~5-10 min on 2 cores)"
  log "  log: $CACHE_DIR/logs/k8s-build.log"
  local t0=$SECONDS
  GOFLAGS="${GOFLAGS:--buildvcs=false} -p=$(nproc)" nice -n 10 "$HACK_DIR/k8s-build/build.sh" "$K8S_VERSION" "$K8S_BIN" \
    >"$CACHE_DIR/logs/k8s-build.log" 2>&1 || { tail -n 30 "$CACHE_DIR/logs/k8s-build.log" >&2; die "Kubernetes build failed (see $CACHE_DIR/logs/k8s-build.log)"; }
  log "built Kubernetes $K8S_VERSION in $((SECONDS - t0))s"
}

ensure_coredns() {
  if [ ! -x "$COREDNS_BIN/coredns" ]; then
    command -v go >/dev/null || die "Go toolchain not found (needed once to build CoreDNS)"
    log "building CoreDNS $COREDNS_VERSION from its Go module (first run only)"
    mkdir -p "$COREDNS_BIN"
    ( cd /tmp && GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 GOBIN="$COREDNS_BIN" nice -n 10 \
        go install -trimpath -ldflags '-s -w' "github.com/coredns/coredns@$COREDNS_VERSION" ) \
      >"$CACHE_DIR/logs/coredns-build.log" 2>&1 || die "CoreDNS build failed (see $CACHE_DIR/logs/coredns-build.log)"
  fi
  "$COREDNS_BIN/coredns" -version >/dev/null 2>&1 || die "$COREDNS_BIN/coredns does not run"
  link_tool "$COREDNS_BIN/coredns"
}

ensure_control_plane_deps() {
  ensure_host_packages
  ensure_etcd
  ensure_k8s_binaries
}

ensure_node_deps() {
  ensure_containerd
  ensure_coredns
  local p
  for p in bridge host-local loopback; do
    CNI_COMMAND=VERSION "/usr/lib/cni/$p" </dev/null 2>/dev/null | grep -q cniVersion \
      || die "CNI plugin /usr/lib/cni/$p missing or not runnable (apt-get install containernetworking-plugins)"
  done
  command -v conntrack >/dev/null || die "conntrack missing"
}
