"""Following a run from outside the process that carries it out: `perfdash attach`, the server
behind `run --serve` and anything else that reads a run while it is written.

A run is followed through its recording, `events.ndjson` (already redacted by the bus and the
recorder), so a follower never touches the run's process: it reads what the run appends. The
follower catches up on everything recorded so far, then follows; it never hands on a line the run
has not finished writing, skips to the newest samples when it falls behind, and notices a run that
died (its lock, `perfdash.run.liveness`) within a second or two. Nothing here imports Textual.
"""
