"""The operator process: command line, leader election, standby server, kopf handlers,
the HTTP server, and the service that wires the layers below together.

Top layer (see docs/internals.md): it may import every other operator package.
"""
