"""What `kasset dev` and `kasset graph --svg` run; `kasset.cli` imports this lazily, so the
CLI starts fast and needs the UI extra only for these two commands."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from kasset.definitions.definitions import Definitions
from kasset.local.loading import CodeLocation
from kasset.ui.auth import AuthConfig, TokenRedactingFilter, is_loopback

__all__ = ["run_dev", "write_graph_svg"]

EXIT_OK = 0
EXIT_USAGE = 2
AUTH_MODES = ("token", "none")


def write_graph_svg(defs: Definitions, svg_path: str, selection: str | None = None) -> int:
    """`kasset graph MODULE[:ATTR] --svg FILE`: the lineage as a standalone SVG file."""
    from kasset.ui.lineage import render_svg

    Path(svg_path).write_text(render_svg(defs.graph, selection=selection), encoding="utf-8")
    print(f"wrote {svg_path}", file=sys.stderr)
    return EXIT_OK


def run_dev(
    defs: Definitions,
    location: CodeLocation,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    auth: str = "token",
) -> int:
    """Serves the UI over a LocalBackend until Ctrl-C. `auth="none"` only on loopback."""
    import uvicorn

    from kasset.ui.app import create_app
    from kasset.ui.local_backend import LocalBackend

    if auth not in AUTH_MODES:
        print(f"kasset: error: --auth must be one of {', '.join(AUTH_MODES)}", file=sys.stderr)
        return EXIT_USAGE
    if auth == "none" and not is_loopback(host):
        print(
            f"kasset: error: --auth none is only allowed on a loopback address, not {host!r}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    config = AuthConfig.generate() if auth == "token" else AuthConfig.disabled()
    backend = LocalBackend(defs, location)
    app = create_app(backend, auth=config)
    server_config = uvicorn.Config(app, host=host, port=port, log_level="info")
    logging.getLogger("uvicorn.access").addFilter(TokenRedactingFilter())
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"
    login = f"{url}/login?token={config.token}" if config.token else url
    print(
        f"kasset dev: {len(defs.graph)} asset(s) from {location.to_string()}; open {login}",
        flush=True,
    )
    uvicorn.Server(server_config).run()
    return EXIT_OK
