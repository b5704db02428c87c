# shellcheck shell=bash
# Starting, checking and stopping the cluster's processes (each under hack/lib/supervise.sh).

CONTROL_PLANE_COMPONENTS=(etcd kube-apiserver kube-controller-manager)
NODE_COMPONENTS=(kube-scheduler containerd coredns kubelet kube-proxy)

# pid_is_ours PID: alive and started with our state dir on its command line (guards against
# stale pid files whose numbers were reused by unrelated processes)
pid_is_ours() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$STATE_DIR/"
}

is_running() {  # is_running NAME: its supervisor and child are alive
  local sp cp
  sp=$(cat "$RUN/$1.supervisor.pid" 2>/dev/null) || return 1
  pid_is_ours "$sp" || return 1
  grep -q supervise.sh "/proc/$sp/cmdline" 2>/dev/null || return 1
  cp=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  pid_is_ours "$cp"
}

# start_component NAME -- COMMAND...
# Starts NAME unless it is already running with the same command line and unchanged config
# (CONFIG_CHANGED, set by write_if_changed); otherwise (re)starts it. So `up` converges.
start_component() {
  local name=$1; shift; [ "$1" = -- ] && shift
  mkdir -p "$RUN" "$LOGS"
  local cmdline; cmdline=$(printf '%q ' "$@")
  if is_running "$name"; then
    if [ "$CONFIG_CHANGED" = 0 ] && [ "$(cat "$RUN/$name.cmd" 2>/dev/null)" = "$cmdline" ]; then
      return 0
    fi
    log "configuration of $name changed: restarting it"
  fi
  CONFIG_CHANGED=0
  # a leftover supervisor without child (or vice versa): stop it first
  stop_component "$name" quiet
  echo "$cmdline" >"$RUN/$name.cmd"
  # keep one previous log when it got big (logs are only appended to while running)
  if [ -f "$LOGS/$name.log" ] && [ "$(stat -c %s "$LOGS/$name.log")" -gt $((100 * 1024 * 1024)) ]; then
    mv -f "$LOGS/$name.log" "$LOGS/$name.log.1"
  fi
  log "starting $name (log: $LOGS/$name.log)"
  setsid "$HACK_DIR/lib/supervise.sh" "$name" "$RUN" "$LOGS/$name.log" -- "$@" </dev/null >/dev/null 2>&1 9>&- &
  local i; for i in $(seq 50); do [ -f "$RUN/$name.pid" ] && break; sleep 0.1; done
}

stop_component() {  # stop_component NAME [quiet]
  local name=$1 sp cp i
  sp=$(cat "$RUN/$name.supervisor.pid" 2>/dev/null || true)
  cp=$(cat "$RUN/$name.pid" 2>/dev/null || true)
  [ -z "$sp$cp" ] && return 0
  [ "${2:-}" = quiet ] || log "stopping $name"
  if pid_is_ours "$sp" && grep -q supervise.sh "/proc/$sp/cmdline" 2>/dev/null; then
    kill -TERM "$sp" 2>/dev/null || true
    for i in $(seq 200); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sp" 2>/dev/null || true
  fi
  if pid_is_ours "$cp"; then
    kill -TERM "$cp" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$cp" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$cp" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.supervisor.pid" "$RUN/$name.pid" "$RUN/$name.cmd"
}

# ---------------- component command lines ----------------

start_etcd() {
  mkdir -p "$STATE_DIR/etcd"; chmod 700 "$STATE_DIR/etcd"
  # --unsafe-no-fsync: a throwaway test cluster; much faster on VM disks.
  start_component etcd -- "$TOOLS_BIN/etcd" --name kasset --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "kasset=http://127.0.0.1:$((ETCD_PORT + 1))" \
    --listen-metrics-urls "http://127.0.0.1:$((ETCD_PORT + 2))" \
    --quota-backend-bytes 8589934592 --auto-compaction-mode periodic --auto-compaction-retention 30m \
    --unsafe-no-fsync --log-level warn
  wait_for 60 etcd "$LOGS/etcd.log" -- curl -fsS "http://127.0.0.1:$((ETCD_PORT + 2))/health"
}

start_apiserver() {
  start_component kube-apiserver -- "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$PKI/ca.crt" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction,PodSecurity \
    --allow-privileged=true --anonymous-auth=true --profiling=false \
    --event-ttl 1h --service-node-port-range 30000-32767 \
    --v=1
  wait_for 120 "kube-apiserver /readyz" "$LOGS/kube-apiserver.log" -- kubectl_admin get --raw /readyz
}

start_controller_manager() {
  start_component kube-controller-manager -- "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$KCFG/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$KCFG/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$KCFG/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
    --use-service-account-credentials=true --service-cluster-ip-range "$SERVICE_CIDR" \
    --allocate-node-cidrs=false --controllers '*,-bootstrapsigner,-tokencleaner' \
    --profiling=false --v=1
  wait_for 60 kube-controller-manager "$LOGS/kube-controller-manager.log" -- \
    curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
}

start_scheduler() {
  start_component kube-scheduler -- "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$KCFG/scheduler.kubeconfig" \
    --authentication-kubeconfig "$KCFG/scheduler.kubeconfig" \
    --authorization-kubeconfig "$KCFG/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1
  wait_for 60 kube-scheduler "$LOGS/kube-scheduler.log" -- curl -fsSk https://127.0.0.1:10259/healthz
}

start_containerd() {
  write_containerd_config
  write_registry_hosts
  write_cni_config
  start_component containerd -- "$TOOLS_BIN/containerd" --config "$STATE_DIR/containerd/config.toml"
  wait_for 60 containerd "$LOGS/containerd.log" -- "$TOOLS_BIN/ctr" -a "$CONTAINERD_SOCK" version
}

start_coredns() {
  write_corefile
  start_component coredns -- "$TOOLS_BIN/coredns" -conf "$STATE_DIR/coredns/Corefile"
  wait_for 60 coredns "$LOGS/coredns.log" -- curl -fsS http://127.0.0.1:18181/ready
}

start_kubelet() {
  write_kubelet_config
  mkdir -p "$STATE_DIR/kubelet/root"
  start_component kubelet -- "$K8S_BIN/kubelet" \
    --config "$STATE_DIR/kubelet/config.yaml" \
    --kubeconfig "$KCFG/node.kubeconfig" \
    --root-dir "$STATE_DIR/kubelet/root" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
  wait_for 60 kubelet "$LOGS/kubelet.log" -- curl -fsS http://127.0.0.1:10248/healthz
}

start_kube_proxy() {
  write_kube_proxy_config
  start_component kube-proxy -- "$K8S_BIN/kube-proxy" --config "$STATE_DIR/kube-proxy/config.yaml" --v=1
  wait_for 60 kube-proxy "$LOGS/kube-proxy.log" -- curl -fsS http://127.0.0.1:10256/healthz
}
