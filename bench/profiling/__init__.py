"""Profiling passes (line_profiler, torch.profiler), kept apart from timing runs."""
