"""perfdash: the cockpit for a performance-test run (k6 + Artillery against a backend on PostgreSQL)."""

__version__ = "0.1.0"
