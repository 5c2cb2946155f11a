"""Collectors that sample the observed machine, the app log and the database while a run goes on."""
