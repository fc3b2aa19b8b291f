"""Multilayer perceptrons, one per element, applied to atoms grouped by element."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"silu": nn.SiLU, "tanh": nn.Tanh, "celu": nn.CELU, "softplus": nn.Softplus,
               "gelu": nn.GELU}


def mlp(n_in: int, hidden: list[int], n_out: int, activation: str = "silu") -> nn.Sequential:
    """Linear layers with a smooth activation between them (none after the last)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
    layers: list[nn.Module] = []
    sizes = [n_in, *hidden]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
    layers.append(nn.Linear(sizes[-1], n_out))
    return nn.Sequential(*layers)


class ElementMLPs(nn.Module):
    """One MLP per element, its weights shared by every atom of that element.

    ``forward(x, species)`` maps (A, n_in) features and (A,) element indices to (A, n_out).
    With ``mean`` and ``std`` (n_elements, n_in), each element's inputs are standardised as
    (x - mean[s]) / std[s]; the standardisation is folded into the first layer's weights and
    bias (W / std, b - (W / std) mean), so the (A, n_in) standardised copy never exists.
    """

    def __init__(self, n_elements: int, n_in: int, hidden: list[int], n_out: int = 1,
                 activation: str = "silu"):
        super().__init__()
        self.nets = nn.ModuleList(mlp(n_in, hidden, n_out, activation) for _ in range(n_elements))
        self.n_out = n_out

    def forward(self, x: torch.Tensor, species: torch.Tensor, mean: torch.Tensor | None = None,
                std: torch.Tensor | None = None) -> torch.Tensor:
        return self._per_element(x, species, mean, std, self.n_out, head=True)

    def hidden(self, x: torch.Tensor, species: torch.Tensor, mean: torch.Tensor | None = None,
               std: torch.Tensor | None = None) -> torch.Tensor:
        """The inputs of each element's output layer, (A, n_elements * H): an atom's H
        last-hidden activations in its element's block of columns, zeros elsewhere. The output
        is linear in them, so they are the gradient of the output w.r.t. that layer's weights."""
        nets = self.nets
        width = nets[0][-1].in_features
        h = self._per_element(x, species, mean, std, width, head=False)
        out = h.new_zeros(len(h), len(nets), width)
        out[torch.arange(len(h), device=h.device), species] = h
        return out.reshape(len(h), len(nets) * width)

    def _per_element(self, x, species, mean, std, width: int, head: bool) -> torch.Tensor:
        out = x.new_zeros(x.shape[0], width)
        for s, net in enumerate(self.nets):
            idx = torch.nonzero(species == s).squeeze(1)
            if not idx.numel():
                continue
            # index_select rather than []: its backward (index_add) is the faster one
            xs = x.index_select(0, idx)
            layers = net if head else net[:-1]
            if mean is None:
                y = layers(xs)
            elif not len(layers):  # no hidden layer: the standardised inputs
                y = (xs - mean[s]) / std[s]
            else:
                first = layers[0]
                weight = first.weight / std[s]
                y = layers[1:](F.linear(xs, weight, first.bias - weight @ mean[s]))
            out = out.index_copy(0, idx, y)
        return out
