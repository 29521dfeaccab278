"""The seed network in other SNN libraries: each a model plug-in built from the seed network's
own layers (the same weights, drawn from the point's seed), with that library's neurons.

    snn.libraries.spikingjelly:network   SpikingJelly's LIFNode, multi-step or single-step
    snn.libraries.norse:network          Norse's LIFBoxCell, stepped through time
    snn.libraries.sinabs:network         Sinabs's LIF layer
    snn.libraries.compiled:network       snn.Leaky's recurrence in plain torch, torch.compile'd

snnTorch is the seed network itself (snn.plugin:seed_network), with its forward variants.
Each library is an optional install (`make setup-libraries`, against the project's pinned torch);
a port whose library is missing is skipped with the reason install recorded
(snn.libraries.status). Every port declares how its neuron differs from snn.Leaky by design
(bench.plugins.model.Agreement), and `snn-bench check` measures how far the spikes and gradients
then agree. See docs/libraries.md.
"""
