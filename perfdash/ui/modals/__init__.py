"""Dialogs shared by both screens: help, artifacts, file viewer, cleanup, quit confirmation."""
