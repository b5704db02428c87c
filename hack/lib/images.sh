# shellcheck shell=bash
# Images without a registry: a static pause image and a debootstrapped Python base image,
# both written as `docker save`-format archives (hack/lib/mkimage.py) and imported into
# containerd's k8s.io namespace under exact names. Pods must use imagePullPolicy
# IfNotPresent or Never (and non-latest tags): there is nothing to pull from.

BASE_KEY="kasset-base-${BASE_IMAGE_SUITE}-py311-r${BASE_IMAGE_REV}-$(echo "$BASE_IMAGE_PACKAGES" | md5sum | cut -c1-8)"
BASE_ROOTFS=$IMAGES_DIR/$BASE_KEY.rootfs.tar
BASE_ARCHIVE=$IMAGES_DIR/$BASE_KEY.image.tar
PAUSE_KEY="pause-$(cat "$HACK_DIR/pause/pause.c" | md5sum | cut -c1-8)"
PAUSE_ARCHIVE=$IMAGES_DIR/$PAUSE_KEY.image.tar

ctr_k8s() { "$TOOLS_BIN/ctr" -a "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# containerd's normalised name for a docker-style reference
full_ref() {
  local r=$1 first=${1%%/*}
  case $r in
    */*) case $first in *.*|*:*|localhost) echo "$r";; *) echo "docker.io/$r";; esac ;;
    *) echo "docker.io/library/$r" ;;
  esac
}

build_pause_archive() {
  [ -f "$PAUSE_ARCHIVE" ] && return 0
  mkdir -p "$IMAGES_DIR"
  local tmp; tmp=$(mktemp -d)
  gcc -static -O2 -s -o "$tmp/pause" "$HACK_DIR/pause/pause.c" || die "gcc -static failed building pause"
  tar --numeric-owner --owner=0 --group=0 -C "$tmp" -cf "$tmp/rootfs.tar" pause
  python3 "$HACK_DIR/lib/mkimage.py" --rootfs "$tmp/rootfs.tar" --tag "$PAUSE_IMAGE" \
    --entrypoint '["/pause"]' --out "$PAUSE_ARCHIVE" >/dev/null
  rm -rf "$tmp"
}

build_base_rootfs() {
  [ -f "$BASE_ROOTFS" ] && return 0
  mkdir -p "$IMAGES_DIR" "$CACHE_DIR/logs"
  local dir; dir=$(mktemp -d "$IMAGES_DIR/rootfs.XXXXXX")
  log "debootstrap $BASE_IMAGE_SUITE (+$BASE_IMAGE_PACKAGES) for $BASE_IMAGE (first run only, ~1 min)"
  debootstrap --variant=minbase --include="$BASE_IMAGE_PACKAGES" "$BASE_IMAGE_SUITE" "$dir" \
    http://deb.debian.org/debian >"$CACHE_DIR/logs/debootstrap.log" 2>&1 \
    || { rm -rf "$dir"; die "debootstrap failed (see $CACHE_DIR/logs/debootstrap.log)"; }
  # slim down and drop host-specific files
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/* \
    "$dir"/tmp/* "$dir"/root/.cache
  : >"$dir/etc/resolv.conf"; echo kasset >"$dir/etc/hostname"
  "$dir/usr/bin/python3" --version >/dev/null 2>&1 || true
  tar --numeric-owner -C "$dir" -cf "$BASE_ROOTFS.tmp" . && mv "$BASE_ROOTFS.tmp" "$BASE_ROOTFS"
  rm -rf "$dir"
}

build_base_archive() {
  [ -f "$BASE_ARCHIVE" ] && return 0
  build_base_rootfs
  python3 "$HACK_DIR/lib/mkimage.py" --rootfs "$BASE_ROOTFS" --tag "$BASE_IMAGE" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --env PYTHONUNBUFFERED=1 --cmd '["python3"]' --out "$BASE_ARCHIVE" >/dev/null
}

# import_archive ARCHIVE REF KEY: import unless containerd already has REF from this KEY
import_archive() {
  local archive=$1 ref=$2 key=$3 marker=$STATE_DIR/images/$(echo "$2" | tr '/:' '__').imported
  mkdir -p "$STATE_DIR/images"
  if [ "$(cat "$marker" 2>/dev/null)" = "$key" ] && ctr_k8s images ls -q 2>/dev/null | grep -qxF "$ref"; then
    return 0
  fi
  log "importing $ref into containerd (k8s.io)"
  ctr_k8s images import --no-unpack=false "$archive" >>"$LOGS/images.log" 2>&1 \
    || die "ctr images import $archive failed (see $LOGS/images.log)"
  ctr_k8s images ls -q | grep -qxF "$ref" || die "$ref not present in containerd after import"
  echo "$key" >"$marker"
}

ensure_cluster_images() {
  build_pause_archive
  build_base_archive
  import_archive "$PAUSE_ARCHIVE" "$(full_ref "$PAUSE_IMAGE")" "$PAUSE_KEY"
  import_archive "$BASE_ARCHIVE" "$(full_ref "$BASE_IMAGE")" "$BASE_KEY"
}

# ---- Docker engine (only for building images; not part of the cluster) ----
DOCKERD_DIR=$CACHE_DIR/dockerd
docker_cli() {  # prefer a client that can talk to the local engine
  local c
  for c in docker /usr/bin/docker; do
    if command -v "$c" >/dev/null && "$c" version >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}

ensure_docker() {
  mkdir -p "$DOCKERD_DIR" "$CACHE_DIR/logs"
  if ! docker_cli >/dev/null; then
    # shellcheck disable=SC2086
    apt_install $DOCKER_APT_PACKAGES
    command -v dockerd >/dev/null || die "dockerd not installed"
    if ! [ -S /var/run/docker.sock ] || ! docker_cli >/dev/null; then
      log "starting dockerd (--iptables=false --bridge=none), log: $DOCKERD_DIR/dockerd.log"
      # Docker's default iptables rewrite (FORWARD policy DROP) breaks pod forwarding.
      # System PATH only: dockerd must use Debian's containerd, not the cluster's.
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        setsid "$HACK_DIR/lib/supervise.sh" dockerd "$DOCKERD_DIR" "$DOCKERD_DIR/dockerd.log" -- \
        dockerd --iptables=false --ip-masq=false --bridge=none --host unix:///var/run/docker.sock \
        </dev/null >/dev/null 2>&1 9>&- &
      wait_for 60 dockerd "$DOCKERD_DIR/dockerd.log" -- docker_cli
    fi
  fi
  local d; d=$(docker_cli)
  # make the base image available for `FROM kasset-base:...` builds
  if ! "$d" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    build_base_archive
    log "docker load $BASE_IMAGE"
    "$d" load -i "$BASE_ARCHIVE" >/dev/null || die "docker load of $BASE_ARCHIVE failed"
  fi
  log "docker engine ready ($(command -v "$d") -> server $("$d" version -f '{{.Server.Version}}' 2>/dev/null))"
}

stop_docker() {
  local pidf=$DOCKERD_DIR/dockerd.supervisor.pid
  [ -f "$pidf" ] || { log "dockerd was not started by hack/cluster"; return 0; }
  kill -TERM "$(cat "$pidf")" 2>/dev/null || true
  local i; for i in $(seq 60); do [ -f "$pidf" ] || break; sleep 0.5; done
  log "dockerd stopped"
}

# load-image IMAGE: docker image -> containerd k8s.io namespace
load_image() {
  local img=$1 d
  local last=${img##*/}
  case $last in *:*|*@*) ;; *) img=$img:latest;; esac
  case $img in *:latest) warn "'$img' uses the latest tag: kubelet would default to imagePullPolicy Always; use a fixed tag or set imagePullPolicy IfNotPresent/Never";; esac
  [ -S "$CONTAINERD_SOCK" ] || die "containerd is not running (hack/cluster up first)"
  d=$(docker_cli) || die "no Docker engine reachable (run: hack/cluster docker)"
  "$d" image inspect "$img" >/dev/null 2>&1 || die "docker has no image $img"
  log "loading $img into containerd (k8s.io)"
  "$d" save "$img" | ctr_k8s images import - >>"$LOGS/images.log" 2>&1 \
    || die "import of $img failed (see $LOGS/images.log)"
  ctr_k8s images ls -q | grep -qxF "$(full_ref "$img")" || die "$(full_ref "$img") not found in containerd after import"
  log "loaded $(full_ref "$img")"
}
