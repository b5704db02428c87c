# shellcheck shell=bash
# Configuration files for node components, all written under $STATE_DIR.

# write_if_changed FILE < content: only touch FILE when the content differs (kube-proxy
# exits when its config file changes, so an idempotent `up` must not rewrite it). Sets
# CONFIG_CHANGED=1 when it did write, so the caller can restart the component.
CONFIG_CHANGED=0
write_if_changed() {
  local f=$1 tmp; tmp=$(mktemp "$(dirname "$1")/.$(basename "$1").XXXXXX")
  cat >"$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; else mv "$tmp" "$f"; chmod 644 "$f"; CONFIG_CHANGED=1; fi
}

write_containerd_config() {
  mkdir -p "$STATE_DIR/containerd" "$STATE_DIR/run/containerd" "$STATE_DIR/cni/net.d"
  write_if_changed "$STATE_DIR/containerd/config.toml" <<EOT
version = 3
root = '$STATE_DIR/containerd/root'
state = '$STATE_DIR/run/containerd'

[grpc]
  address = '$CONTAINERD_SOCK'

[ttrpc]
  address = ''

[debug]
  level = 'info'

[metrics]
  address = ''

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    # Images cannot be pulled (no registry); never try.
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'docker.io/$PAUSE_IMAGE'
    # Every registry resolves to a dead loopback endpoint (see write_registry_hosts): a
    # missing image fails at once instead of sending traffic off the machine.
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = '$STATE_DIR/containerd/certs.d'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    # No CAP_SYS_RESOURCE in this environment's bounding set: negative oom_score_adj values
    # (-998 for sandboxes, -997 for Guaranteed pods) fail in runc with EACCES. Clamp them
    # to containerd's own score instead.
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = '/usr/sbin/runc'
          Root = '$STATE_DIR/run/runc'
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['/usr/lib/cni']
      conf_dir = '$STATE_DIR/cni/net.d'
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
EOT
}

write_registry_hosts() {
  mkdir -p "$STATE_DIR/containerd/certs.d/_default"
  write_if_changed "$STATE_DIR/containerd/certs.d/_default/hosts.toml" <<EOT
# No registries: all pulls go to a closed loopback port (connection refused).
server = "http://127.0.0.1:9"

[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOT
}

write_cni_config() {
  mkdir -p "$STATE_DIR/cni/net.d" "$STATE_DIR/cni/ipam"
  write_if_changed "$STATE_DIR/cni/net.d/10-kasset.conflist" <<EOT
{
  "cniVersion": "1.0.0",
  "name": "kasset",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$CLUSTER_CIDR"}, {"dst": "$SERVICE_CIDR"}]
      }
    }
  ]
}
EOT
}

write_kubelet_config() {
  mkdir -p "$STATE_DIR/kubelet" "$STATE_DIR/pod-logs"
  write_if_changed "$STATE_DIR/kubelet/config.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-server.crt
tlsPrivateKeyFile: $PKI/kubelet-server.key
rotateCertificates: false
serverTLSBootstrap: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_SVC_IP]
clusterDomain: $CLUSTER_DOMAIN
# No host resolv.conf for pods: DNS never leaves the cluster.
resolvConf: ""
maxPods: 250
podPidsLimit: -1
serializeImagePulls: false
# Locally imported images cannot be re-pulled: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
imageMinimumGCAge: 876000h
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
  imagefs.inodesFree: "1%"
evictionPressureTransitionPeriod: 30s
podLogsDir: $STATE_DIR/pod-logs
staticPodPath: ""
enableDebuggingHandlers: true
localStorageCapacityIsolation: true
nodeStatusReportFrequency: 1m
registerNode: true
oomScoreAdj: 0
EOT
}

write_kube_proxy_config() {
  mkdir -p "$STATE_DIR/kube-proxy"
  write_if_changed "$STATE_DIR/kube-proxy/config.yaml" <<EOT
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KCFG/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
detectLocalMode: ClusterCIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the bridge address (never on an external interface).
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: 0
iptables:
  localhostNodePorts: false
  masqueradeAll: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOT
}

write_corefile() {
  mkdir -p "$STATE_DIR/coredns"
  write_if_changed "$STATE_DIR/coredns/Corefile" <<EOT
# Cluster DNS, host process bound on the bridge address. Answers $CLUSTER_DOMAIN from the
# API; everything else gets NXDOMAIN. There is deliberately no 'forward' plugin.
$CLUSTER_DOMAIN:53 in-addr.arpa:53 ip6.arpa:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $KCFG/coredns.kubeconfig kasset
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    template ANY ANY in-addr.arpa ip6.arpa {
        rcode NXDOMAIN
    }
    cache 5
    loadbalance
}
.:53 {
    bind $NODE_IP
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
EOT
}

# Objects the cluster needs once the apiserver is up (idempotent kubectl apply).
cluster_addons_yaml() {
  cat <<EOT
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "kasset:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "kasset:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "kasset:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:kasset:coredns"}
---
# CoreDNS runs on the host (bridge IP); a selector-less Service + EndpointSlice point at it.
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $DNS_SVC_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels:
    kubernetes.io/service-name: kube-dns
    endpointslice.kubernetes.io/managed-by: hack-cluster.kasset.io
addressType: IPv4
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
endpoints:
- addresses: ["$NODE_IP"]
  conditions: {ready: true}
  nodeName: $NODE_NAME
EOT
}
