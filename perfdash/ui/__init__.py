"""The Textual dashboard: the live screen while a run goes on, then the result screen.

`perfdash.ui.app.make_app` is the one way in, for the CLI and the tests. Only this package imports
Textual; the core publishes events and writes artifacts without knowing it exists.
"""
