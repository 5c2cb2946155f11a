"""The result screen: the verdict of one run directory, read from its artifacts."""
