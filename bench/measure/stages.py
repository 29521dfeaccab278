"""The names of the timed stages that rows carry (torch-free, for the report)."""

from __future__ import annotations

from snn.names import STAGES

STEP = "step"  # the whole step, as its own row
OVERHEAD_STAGE = "harness_overhead"  # an empty stage: what timing one stage costs by itself
FLOOR_STAGE = "elementwise_floor"  # one in-place pass over the rewired weights: rewiring's floor
# The network's Linear/Conv layers alone on one step's inputs (bench.measure.floors): forward's and
# backward's floor. Timed for pipeline:fastest points, beside their steps.
FORWARD_FLOOR_STAGE, BACKWARD_FLOOR_STAGE = "synapses_forward_floor", "synapses_backward_floor"
# One batch read from the loader's dataset (the frame cache) and collated alone: data_wait's floor.
DATA_FLOOR_STAGE = "data_wait_floor"
SYNAPSE_FLOOR_STAGES = (FORWARD_FLOOR_STAGE, BACKWARD_FLOOR_STAGE)
FASTEST_FLOOR_STAGES = (DATA_FLOOR_STAGE,) + SYNAPSE_FLOOR_STAGES  # timed for pipeline:fastest only
# A model that owns its step (bench.plugins.own_step): the time outside every stage it marks.
UNMARKED_STAGE = "unmarked"
ROW_STAGES = STAGES + (STEP, OVERHEAD_STAGE, FLOOR_STAGE)  # every timed point has these rows
STORED_STAGES = STAGES + (UNMARKED_STAGE,) + ROW_STAGES[len(STAGES):] + FASTEST_FLOOR_STAGES  # and these where timed
COMPARED_STAGES = STAGES + (STEP,)  # the stages a variant and its reference are compared on
