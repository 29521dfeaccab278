"""One flat buffer behind many weight tensors, as multi-tensor optimisers and FSDP's flat
parameters keep them: an update over all rewired layers is then a fixed handful of passes over
one tensor, however many layers there are.

`flatten_into_buffer` copies each parameter into a slice of a new buffer and rebinds the
parameter's `.data` to that slice. The Parameter objects stay the same, so an optimiser built
before keeps working, and its in-place updates land in the buffer. Anything that later rebinds
`.data` (the notebook's `weight.data = ...`, `module.to(other_device)`) cuts a weight loose:
`FlatWeights.check` notices and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FlatWeights:
    buffer: torch.Tensor  # (N,), every rewired weight back to back, in layer order
    ends: tuple[int, ...]  # layer l occupies buffer[ends[l-1]:ends[l]]
    params: tuple[torch.Tensor, ...]
    pointers: tuple[int, ...]  # each parameter's data_ptr when it was bound to the buffer

    def slices(self) -> list[slice]:
        starts = (0,) + self.ends[:-1]
        return [slice(s, e) for s, e in zip(starts, self.ends)]

    def check(self) -> None:
        if tuple(map(torch.Tensor.data_ptr, self.params)) == self.pointers:  # every step: keep it cheap
            return
        for i, (p, ptr) in enumerate(zip(self.params, self.pointers)):
            if p.data_ptr() != ptr:
                raise RuntimeError(
                    f"rewired weight {i} ({tuple(p.shape)}) no longer lives in DeepR's flat buffer: "
                    "something rebound its .data (e.g. module.to(device) or weight.data = ...) "
                    "after DeepR was built. Move the network first, then build the rewiring.")


def flatten_into_buffer(params: list[torch.Tensor]) -> FlatWeights:
    if not params:
        raise ValueError("nothing to flatten: give at least one weight")
    dtypes = {p.dtype for p in params}
    devices = {p.device for p in params}
    if len(dtypes) > 1 or len(devices) > 1:
        raise ValueError(f"rewired weights must share one dtype and device, got {sorted(map(str, dtypes))} "
                         f"on {sorted(map(str, devices))}: convert the network before building DeepR")
    buffer = torch.cat([p.detach().reshape(-1) for p in params])
    ends, offset = [], 0
    for p in params:
        offset += p.numel()
        ends.append(offset)
        p.data = buffer[offset - p.numel():offset].view(p.shape)
    return FlatWeights(buffer=buffer, ends=tuple(ends), params=tuple(params),
                       pointers=tuple(p.data_ptr() for p in params))
