"""Settings every benchmark shares, so saved runs stay comparable."""

THREADS = 1  # torch intra-op threads, set explicitly in every benchmark and recorded
