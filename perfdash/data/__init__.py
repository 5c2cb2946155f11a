"""Test data perfdash creates (seeding, ledger) and removes (cleanup)."""
