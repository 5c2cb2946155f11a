"""A run's event stream over HTTP: `perfdash run --serve HOST:PORT` and `perfdash attach http://...`.

The server tails the run's own recording (events.ndjson, already redacted) for each client and
sends it as server-sent events; it never sits on the run's bus, so a slow or vanished client can
only delay itself. Every request needs the bearer token (always, loopback included); anything
else gets a bare 401 that says nothing about the run. Nothing here imports Textual.
"""
