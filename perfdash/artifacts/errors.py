"""The errors of the artifacts package: one base class, so a caller can catch every artifact
problem at once, and one subclass per artifact reader, so a caller can tell which file failed."""

from __future__ import annotations

from pathlib import Path

DAMAGED_FIX = "the file was edited or damaged (restore it, or run the suite again)"


class ArtifactError(OSError):
    """An artifact (or the results directory) cannot be created, written or read; the message is
    one sentence saying which file, what is wrong and how to fix it."""


class NotRegularFileError(OSError):
    """An artifact path that is a FIFO, a device or a directory: refused without reading from it."""


class UnreadableArtifact(ArtifactError):
    """A run artifact that is missing, unreadable or not of the shape its reader declares.

    `reason` is the short clause ("summary.json is missing") that callers embed in their own
    sentences; str() is the whole sentence, with the fix (an empty `fix`: the reason says it).
    """

    def __init__(self, path: Path, reason: str, fix: str = DAMAGED_FIX, *, missing: bool = False) -> None:
        self.path = path
        self.reason = reason
        self.missing = missing
        super().__init__(reason if not fix or reason.endswith(fix) else f"{reason}: {fix}")
