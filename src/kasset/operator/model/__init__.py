"""Pure operator logic: run records, restoring a run, reading pods and reports,
building pods, status and Kubernetes Events, storage, tokens, timers. Imports only the
kasset core: no Kubernetes client, no web or metrics library.
"""
