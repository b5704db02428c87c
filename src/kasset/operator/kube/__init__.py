"""The Kubernetes API client and its priority rate limiter: the only I/O to the API
server. Imports nothing else of the operator.
"""
