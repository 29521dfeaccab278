"""snn: the system under test — the seed SNN, DeepR rewiring, DVS Gesture data, the training step.

`snn` never imports `bench`: the harness measures this package, not the other way round.
"""
