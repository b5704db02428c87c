"""kasset's web UI: FastAPI + Jinja2 pages over a `Backend` (local runs for `kasset dev`,
the Kubernetes API for the operator). Import `kasset.ui.app` for the factories; this
package itself imports nothing heavy, so `kasset.ui.lineage` works without FastAPI."""

__all__: list[str] = []
