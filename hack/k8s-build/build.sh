#!/usr/bin/env bash
# Build Kubernetes server/node binaries + kubectl from the Go modules published on the
# Go module proxy (no git clone). Usage: build.sh VERSION OUTDIR
#
# A throwaway module requires k8s.io/kubernetes@VERSION and replaces every staging module
# (listed in that version's own go.mod `replace ( k8s.io/x => ./staging/... )` block)
# with its published v0.MINOR.PATCH release.
set -euo pipefail
VERSION=${1:?version, e.g. v1.34.4}
OUT=${2:?output dir}
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

staging_version="v0.${VERSION#v1.}"              # v1.34.4 -> v0.34.4
ver_nov=${VERSION#v}; major=${ver_nov%%.*}; rest=${ver_nov#*.}; minor=${rest%%.*}

work=$(mktemp -d "${TMPDIR:-/tmp}/kasset-k8s-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo ">> fetching k8s.io/kubernetes@${VERSION} go.mod"
gomod=$(go mod download -json "k8s.io/kubernetes@${VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$gomod" ] || { echo "could not download go.mod for k8s.io/kubernetes@${VERSION}" >&2; exit 1; }
godir=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")
staging=$(awk '/=> \.\/staging\//{print $1}' "$gomod" | sort -u)
[ -n "$staging" ] || { echo "no staging replaces found in $gomod" >&2; exit 1; }
echo ">> $(echo "$staging" | wc -l) staging modules -> ${staging_version}"

{
  echo "module kasset.local/k8s-build"
  echo
  echo "go ${godir}"
  echo
  grep '^godebug' "$gomod" || true
  echo
  echo "require k8s.io/kubernetes ${VERSION}"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m ${staging_version}"; done
  echo ")"
} > go.mod

{
  echo "//go:build tools"
  echo
  echo "package tools"
  echo
  echo "import ("
  for c in "${COMPONENTS[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ")"
} > tools.go

echo ">> go mod tidy"
go mod tidy

commit=$(go mod download -json "k8s.io/kubernetes@${VERSION}" | sed -n 's/.*"Hash": *"\([0-9a-f]*\)".*/\1/p' | head -1 || true)
[ -n "$commit" ] || commit=0000000000000000000000000000000000000000
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ld=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X ${pkg}.gitVersion=${VERSION}"
  ld+=" -X ${pkg}.gitMajor=${major}"
  ld+=" -X ${pkg}.gitMinor=${minor}"
  ld+=" -X ${pkg}.gitCommit=${commit}"
  ld+=" -X ${pkg}.gitTreeState=clean"
  ld+=" -X ${pkg}.buildDate=${build_date}"
done

mkdir -p "$OUT.tmp"
pkgs=(); for c in "${COMPONENTS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
echo ">> go build ${COMPONENTS[*]} (GOFLAGS=${GOFLAGS:-})"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w${ld}" -o "$OUT.tmp/" "${pkgs[@]}"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
echo ">> built into $OUT"; ls -la "$OUT"
