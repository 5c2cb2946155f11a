"""The run's common clock: every series on one time axis, recorded as `timeline.csv` and
published live as `TimelineTicked`."""
