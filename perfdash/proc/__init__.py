"""Child processes: starting, supervising and stopping them; shared by the run, the data steps
and the demo."""
