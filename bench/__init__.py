"""bench: the harness that builds, times and reports on `snn` configurations."""
