"""Step events over HTTP: the endpoint step pods post to, talking to the run
controller only through the `EventIngestSink` Protocol.
"""
