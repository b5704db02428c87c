# shellcheck shell=bash
# Local PKI with openssl: one CA signs everything. Generated once per state dir and kept
# across `down`/`up` so kubeconfigs stay valid (`down --purge` removes it).

_sign() {  # _sign NAME SUBJECT EXT_FILE_CONTENT
  local name=$1 subj=$2 ext=$3
  [ -f "$PKI/$name.crt" ] && return 0
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null \
    || die "openssl failed signing $name"
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
  chmod 600 "$PKI/$name.key"
}

_client() {  # _client NAME CN [O]
  local subj="/CN=$2"; [ -n "${3:-}" ] && subj="/O=$3$subj"
  _sign "$1" "$subj" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
}

ensure_pki() {
  mkdir -p "$PKI"; chmod 700 "$PKI"
  if [ ! -f "$PKI/ca.crt" ]; then
    log "generating PKI in $PKI"
    openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -sha256 -days 3650 -subj "/CN=kasset-cluster-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI/ca.crt" 2>/dev/null || die "openssl failed creating the CA"
    chmod 600 "$PKI/ca.key"
  fi
  local d=$CLUSTER_DOMAIN
  _sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$d,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP"
  _sign kubelet-server "/CN=$NODE_NAME" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1"
  if [ ! -f "$PKI/sa.key" ]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    chmod 600 "$PKI/sa.key"
  fi
  _client admin kasset-admin system:masters
  _client controller-manager system:kube-controller-manager
  _client scheduler system:kube-scheduler
  _client kube-proxy system:kube-proxy
  _client node "system:node:$NODE_NAME" system:nodes
  _client apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  _client coredns system:kasset:coredns
}

# write_kubeconfig FILE CERTNAME  (certs embedded, server on loopback)
write_kubeconfig() {
  local file=$1 name=$2
  umask 077
  cat >"$file.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kasset
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$name.crt")
    client-key-data: $(base64 -w0 "$PKI/$name.key")
contexts:
- name: kasset
  context: {cluster: kasset, user: $name}
current-context: kasset
KC
  mv "$file.tmp" "$file"
  umask 022
}

ensure_kubeconfigs() {
  mkdir -p "$KCFG"
  local n
  for n in controller-manager scheduler kube-proxy node coredns; do
    [ -f "$KCFG/$n.kubeconfig" ] || write_kubeconfig "$KCFG/$n.kubeconfig" "$n"
  done
  [ -f "$ADMIN_KUBECONFIG" ] || write_kubeconfig "$ADMIN_KUBECONFIG" admin
}
