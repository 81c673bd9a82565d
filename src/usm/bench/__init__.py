"""`usm bench`: runs the benchmark harness kept in the repository's bench/ directory."""
