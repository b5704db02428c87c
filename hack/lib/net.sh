# shellcheck shell=bash
# Host networking for the cluster. Safety rules (nothing leaves this machine):
#  * pods live on bridge cni0 (gateway = node IP); CNI bridge has ipMasq=false and pods get
#    routes only for the pod and service ranges (no default route);
#  * `blackhole` route for the whole pod CIDR (the node's /NODE_POD_CIDR_MASK on cni0 is more
#    specific and wins);
#  * the service CIDR is routed onto cni0 (not blackholed: a blackhole would make connect()
#    from host processes fail with EINVAL before kube-proxy's OUTPUT DNAT runs); a service IP
#    without a kube-proxy rule thus dies on the local bridge;
#  * chains KASSET-GUARD-OUT/-IN (mangle POSTROUTING/PREROUTING) drop any packet from/to the
#    pod or service ranges (also after DNAT, by conntrack original addresses) that would leave
#    through, or arrive on, an interface other than cni0/lo. This holds even though kube-proxy
#    installs its usual (mark-based) MASQUERADE rule, which therefore never applies outward.
# All iptables calls use the same `iptables` binary (Debian default: nft backend) as the
# kubelet and kube-proxy.

ensure_sysctls() {
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || warn "br_netfilter sysctl not available: same-node service traffic may break"
  sysctl -qw net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null || true
  # inotify limits: kubelet + containerd + many pods
  sysctl -qw fs.inotify.max_user_instances=1024 2>/dev/null || true
  sysctl -qw fs.inotify.max_user_watches=524288 2>/dev/null || true
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/$NODE_POD_CIDR_MASK" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  ip route replace blackhole "$CLUSTER_CIDR"
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
}

ensure_guard() {
  # In the mangle table so that nothing kube-proxy or the kubelet insert into filter/nat can
  # run first. OUT (POSTROUTING, sees forwarded and host-originated packets after DNAT):
  # traffic of pods/services may only leave through cni0 or lo. IN (PREROUTING): pod and
  # service addresses are unreachable from any other interface.
  local cidr
  iptables -w -t mangle -N KASSET-GUARD-OUT 2>/dev/null || iptables -w -t mangle -F KASSET-GUARD-OUT
  iptables -w -t mangle -A KASSET-GUARD-OUT -o "$BRIDGE" -j RETURN
  iptables -w -t mangle -A KASSET-GUARD-OUT -o lo -j RETURN
  for cidr in "$CLUSTER_CIDR" "$SERVICE_CIDR"; do
    iptables -w -t mangle -A KASSET-GUARD-OUT -s "$cidr" -j DROP
    iptables -w -t mangle -A KASSET-GUARD-OUT -d "$cidr" -j DROP
    iptables -w -t mangle -A KASSET-GUARD-OUT -m conntrack --ctorigsrc "$cidr" -j DROP
    iptables -w -t mangle -A KASSET-GUARD-OUT -m conntrack --ctorigdst "$cidr" -j DROP
  done
  iptables -w -t mangle -N KASSET-GUARD-IN 2>/dev/null || iptables -w -t mangle -F KASSET-GUARD-IN
  iptables -w -t mangle -A KASSET-GUARD-IN -i "$BRIDGE" -j RETURN
  iptables -w -t mangle -A KASSET-GUARD-IN -i lo -j RETURN
  for cidr in "$CLUSTER_CIDR" "$SERVICE_CIDR"; do
    iptables -w -t mangle -A KASSET-GUARD-IN -d "$cidr" -j DROP
  done
  iptables -w -t mangle -C POSTROUTING -j KASSET-GUARD-OUT 2>/dev/null \
    || iptables -w -t mangle -I POSTROUTING 1 -j KASSET-GUARD-OUT
  iptables -w -t mangle -C PREROUTING -j KASSET-GUARD-IN 2>/dev/null \
    || iptables -w -t mangle -I PREROUTING 1 -j KASSET-GUARD-IN
  # cni0 <-> cni0 forwarding must work even if another tool set FORWARD's policy to DROP.
  iptables -w -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null \
    || iptables -w -A FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
}

ensure_network() {
  touch "$STATE_DIR/network"   # tells `down` that this instance owns the host network setup
  ensure_sysctls
  ensure_bridge
  ensure_guard
}

# Remove every chain whose name starts with KUBE-, CNI- or KASSET- (and the jumps to them)
# from all tables, for both iptables and ip6tables.
cleanup_iptables() {
  local ipt table chain
  for ipt in iptables ip6tables; do
    command -v $ipt >/dev/null || continue
    for table in filter nat mangle raw; do
      $ipt -w -t $table -S >/dev/null 2>&1 || continue
      # drop rules in any chain that jump to our chains, or that we added to builtin chains
      $ipt -w -t $table -S | grep -E -- '-j (KUBE-|CNI-|KASSET-)|-A FORWARD -i cni0 -o cni0 -j ACCEPT' \
        | grep -E '^-A ' | while read -r line; do
          # shellcheck disable=SC2086
          eval "$ipt -w -t $table -D ${line#-A }" 2>/dev/null || true
        done || true
      for chain in $($ipt -w -t $table -S | awk '/^-N (KUBE-|CNI-|KASSET-)/{print $2}'); do
        $ipt -w -t $table -F "$chain" 2>/dev/null || true
      done
      for chain in $($ipt -w -t $table -S | awk '/^-N (KUBE-|CNI-|KASSET-)/{print $2}'); do
        $ipt -w -t $table -X "$chain" 2>/dev/null || true
      done
    done
  done
  # kube-proxy may create nftables tables in newer modes; remove if present.
  if command -v nft >/dev/null; then
    local fam
    for fam in ip ip6; do nft delete table $fam kube-proxy 2>/dev/null || true; done
  fi
}

cleanup_network() {
  local l
  # veths still attached to the bridge (normally gone once the pod netns are removed)
  for l in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$l" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  ip route del blackhole "$CLUSTER_CIDR" 2>/dev/null || true
  ip route del "$SERVICE_CIDR" 2>/dev/null || true
  cleanup_iptables
  conntrack -D -s "$CLUSTER_CIDR" >/dev/null 2>&1 || true
  conntrack -D -d "$SERVICE_CIDR" >/dev/null 2>&1 || true
}
