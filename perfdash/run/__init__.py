"""Running a suite: preflight, child-process supervision, k6, Artillery and the orchestrator."""
