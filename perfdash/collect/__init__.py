"""Collectors that sample the observed machine, the app log and the database while a run goes on.

Collector
---------
Every collector has the `Collector` protocol of `perfdash.collect.base`: a `name`, the
`columns` of timeline.csv its events fill, `start()`, `stop()` (returns once nothing more will be
written or published) and `finish(run_dir, record)`, called after every collector has stopped,
which writes the artifacts it kept in memory and its part of the run's record (`RunNotes`:
`problem()`, `not_measured`, `app_log`, `health`). To add one:

1. Write its module here: the class, and a factory `def my_thing(setup: Setup) -> MyThing | None`
   that builds it from the run's `Setup` (bus, run paths, environment, base and database URLs,
   logs) or returns None where it has nothing to measure. Publish live values as events on
   `setup.bus`; the timeline recorder folds the events it knows into its columns.
2. Add one line to `BUILT_IN` in `perfdash.collect.registry` (`Entry("my-thing", my_thing)`),
   and a settings key in perfdash.settings if it needs one.

`perfdash run` and `perfdash watch` then both build, start, stop and finish it through the one
lifecycle in `perfdash.session.collectors`; neither names a collector by its type. A collector
that fails to stop or to finish is a problem of the run, never the end of the others' artifacts.
Tests and plugins add one at run time with `perfdash.collect.registry.register()`.
"""
