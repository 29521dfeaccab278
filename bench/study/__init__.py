"""Convergence studies: the notebook's DeepR observations as experiments anyone can rerun.

spec (the study file), train (one run), runner (resumable), analysis (spikes, time-to-accuracy,
verdicts: pure), report (HTML and PNG).
"""
