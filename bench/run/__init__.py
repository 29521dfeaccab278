"""Running a plan: the sweep loop, executors (in-process, Ray), data preparation, progress."""
