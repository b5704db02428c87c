# The one kasset image: the step runtime, the operator and the UI, chosen by the command
# (`kasset runtime`, `kasset operator`). Build it with hack/build-image, or plainly:
#
#   docker build -t kasset:0.1.0 .
#   docker build --build-arg EXTRAS=operator,ui,pandas -t kasset:0.1.0-pandas .
#
# BASE_IMAGE must provide python3 (3.11+) with the venv module; the public default and the
# local Debian base (python3 in /usr/bin) both work, since only `python3 -m venv` is used.
#
# Layers: the dependency venv depends on pyproject.toml and requirements/image.lock only and
# is copied as one layer; kasset itself is a second, small layer. A code change rebuilds and
# ships only that. Every version comes from requirements/image.lock (hack/lock-image writes
# it; a unit test checks it against pyproject.toml), so the same commit builds the same image.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS deps

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

# PEM certificates pip should trust while building, e.g. of a TLS-intercepting proxy.
# Only /opt/kasset of the build stages reaches the final image.
ARG EXTRA_CA_CERTS=""

# /opt/build holds the build backend; /opt/kasset is the venv the final image ships.
COPY requirements/image.lock /opt/build/image.lock
RUN set -eu; \
    python3 -m venv /opt/build; \
    python3 -m venv /opt/kasset; \
    { cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null \
        || /opt/build/bin/python -c 'import pip._vendor.certifi as c; print(open(c.where()).read())'; \
      printf '%s\n' "$EXTRA_CA_CERTS"; } >/opt/build/ca.pem; \
    PIP_CERT=/opt/build/ca.pem /opt/build/bin/pip install -c /opt/build/image.lock hatchling

# `operator,ui` by default; add `pandas` for pandas/pyarrow IO. setuptools goes: nothing
# needs it at run time (pip stays, for images built on this one). Everything is
# byte-compiled with hashes that never go stale, so a read-only root filesystem starts as
# fast as a writable one.
ARG EXTRAS=operator,ui
WORKDIR /src
COPY pyproject.toml ./
RUN set -eu; \
    /opt/build/bin/python -c 'import sys, tomllib; \
p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
extras = [e for e in sys.argv[1].split(",") if e]; \
reqs = p["dependencies"] + [r for e in extras for r in p["optional-dependencies"][e]]; \
print("\n".join(r for r in reqs if not r.startswith(p["name"] + "[")))' "$EXTRAS" \
      >/opt/build/requirements.txt; \
    PIP_CERT=/opt/build/ca.pem /opt/kasset/bin/pip install -c /opt/build/image.lock \
      -r /opt/build/requirements.txt; \
    /opt/kasset/bin/pip uninstall --yes setuptools; \
    find /opt/kasset -name __pycache__ -type d -prune -exec rm -rf {} +; \
    /opt/kasset/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/kasset/lib

# ---------------------------------------------------------------------------------------
FROM deps AS build

# A wheel from the source (no network: the backend is in /opt/build). It is installed
# twice: into the venv, to check the dependency set is complete, and under /opt/pkgroot,
# which holds only kasset's own files (package, metadata, the `kasset` script) for the
# final image's second layer.
COPY README.md ./
COPY src ./src
RUN set -eu; \
    /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /opt/build/wheels .; \
    /opt/kasset/bin/pip install --no-deps --no-compile --root /opt/pkgroot \
      /opt/build/wheels/kasset-*.whl; \
    test -x /opt/pkgroot/opt/kasset/bin/kasset; \
    /opt/kasset/bin/python -m compileall -q --invalidation-mode unchecked-hash \
      -s /opt/pkgroot -p / /opt/pkgroot/opt/kasset/lib; \
    /opt/kasset/bin/pip install --no-deps --no-compile /opt/build/wheels/kasset-*.whl; \
    /opt/kasset/bin/pip check

# ---------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}

# Graphviz lays out the UI's lineage graph (`dot`); set OS_PACKAGES="" for a runtime-only
# image without it.
ARG OS_PACKAGES=graphviz
RUN set -eu; \
    if [ -n "$OS_PACKAGES" ]; then \
      apt-get update -qq; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $OS_PACKAGES; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --gid 1000 kasset; \
    useradd --uid 1000 --gid 1000 --home-dir /home/kasset --create-home \
      --shell /usr/sbin/nologin kasset

COPY --from=deps /opt/kasset /opt/kasset
COPY --from=build /opt/pkgroot/opt/kasset /opt/kasset

ENV PATH=/opt/kasset/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Numeric, so that Kubernetes can verify runAsNonRoot without a pod-level runAsUser.
USER 1000:1000
WORKDIR /home/kasset
ENTRYPOINT ["kasset"]
CMD ["operator"]

# Last, so that a new version label reuses every layer above.
ARG VERSION=unknown
LABEL org.opencontainers.image.title="kasset" \
      org.opencontainers.image.description="kasset: runtime, operator and UI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
