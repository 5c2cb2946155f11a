"""Reading a run's artifacts into checks, one overall status and the summary."""
