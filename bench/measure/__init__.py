"""Measuring one point or group: sessions, the group runner, timers, traffic, workload, environment."""
