"""The user's notebook DeepR, kept as written: the baseline, defects included.

Defects this variant keeps on purpose (the suite measures them; `exact` fixes them):
- `to_activate` truncates a float32 difference, so the count drifts below K;
- reactivation samples *with* replacement, so duplicates reactivate fewer than needed;
- a reactivated connection gets a new random sign, and starts at lr·sign;
- weights whose sign flipped are removed, but nothing enforces a fixed sign per connection;
- only 2-, 3- and 4-D weights; `torch.nonzero` and `.sum()`→int cost two host syncs per layer.

The initial masks are not in the user's notes. Here they are exact DeepR's: K = round(c·n)
connections per layer, uniform, drawn with the same routine from the same stream of the seed
(`deepr_mask`), so at one seed both variants start from the same active set, each keeping its
initial weight's sign. The draws inside `_rewiring` use torch's global generator, as written.
"""

from __future__ import annotations

import torch
from torch import nn

from snn.deepr import select
from snn.seeds import stream_seed


class NotebookDeepR:
    def __init__(self, layers: list[nn.Module], connectivity: float, lr: float, seed: int = 0):
        self.layersList = list(layers)
        self.layersIndicies = range(len(self.layersList))
        self.connectivity = connectivity
        self.learnRate = lr
        self.training = True
        self.weightSignMasks = []
        generator = torch.Generator(device=self.layersList[0].weight.device)
        generator.manual_seed(stream_seed(seed, "deepr_mask"))
        with torch.no_grad():
            for layer in self.layersList:
                numel = layer.weight.numel()
                keep = select.initial_mask(numel, round(connectivity * numel), generator,
                                           layer.weight.device).view_as(layer.weight).float()
                self.weightSignMasks.append(torch.sign(layer.weight) * keep)
                layer.weight.data = layer.weight * keep

    def step(self) -> None:
        self.update(device=self.layersList[0].weight.device)

    def active_masks(self) -> list[torch.Tensor]:
        """Each weight's active set as a bool tensor: the user's code keeps signs, 0 where dormant."""
        return [m != 0 for m in self.weightSignMasks]

    def active_counts(self) -> list[int]:
        return [int(m.abs().sum()) for m in self.weightSignMasks]

    def update(self, device=None):
        if not self.training: return
        with torch.no_grad():
            for i in self.layersIndicies:
                (new_w,new_wsm) = self._rewiring(self.layersList[i].weight,self.weightSignMasks[i],device)
                self.layersList[i].weight.data=new_w #dont use weight = nn.Parameter, or it goes haywire
                self.weightSignMasks[i]=new_wsm

    def _rewiring(self, weights, weightSignMask, device=None):
        #remove connections below threshold
        remove_weights = ((weights * weightSignMask) >= 0)

        weightSignMask = weightSignMask * remove_weights

        #set disabled weights to zero
        weightMask = torch.abs(weightSignMask)
        weights = weights * weightMask

        #calculate connections to activate
        connection_count = torch.numel(weightMask)
        to_activate = int( (self.connectivity - (weightMask.sum()/connection_count) ) * connection_count )

        if to_activate>0:
            zero_indexes = torch.nonzero(weightMask == 0) #shape (no of zero elements, no. of weightSignMask dimensions)

            #randomly select disabled weights
            zero_ind_ind = torch.randint(0, zero_indexes.size(0), (to_activate,), device=device)

            selected_weights = zero_indexes[zero_ind_ind]

            #enable weights selected with a random sign
            new_signs = ((torch.rand(to_activate,device=device) < 0.5).float() - 0.5) * 2
            if(weightSignMask.dim()==2):
                weightSignMask[selected_weights[:,0],selected_weights[:,1]] = new_signs
                #assign initial values to weights equal to the learning rate
                weights[selected_weights[:,0],selected_weights[:,1]] = new_signs * self.learnRate

            elif(weightSignMask.dim()==3): #conv1d
                weightSignMask[selected_weights[:,0],selected_weights[:,1],selected_weights[:,2]] = new_signs
                #assign initial values to weights equal to the learning rate
                weights[selected_weights[:,0],selected_weights[:,1],selected_weights[:,2]] = new_signs * self.learnRate

            elif(weightSignMask.dim()==4): #conv2d
                weightSignMask[selected_weights[:,0],selected_weights[:,1],selected_weights[:,2],selected_weights[:,3]] = new_signs
                weights[selected_weights[:,0],selected_weights[:,1],selected_weights[:,2],selected_weights[:,3]] = new_signs * self.learnRate

            else:
                raise NotImplementedError("Not generalised enabling weights to n dimensions.")

        return (weights, weightSignMask)
