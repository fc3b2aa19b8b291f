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
        out = x.new_zeros(x.shape[0], self.n_out)
        for s, net in enumerate(self.nets):
            idx = torch.nonzero(species == s).squeeze(1)
            if not idx.numel():
                continue
            # index_select rather than []: its backward (index_add) is the faster one
            xs = x.index_select(0, idx)
            if mean is None:
                y = net(xs)
            else:
                first = net[0]
                weight = first.weight / std[s]
                y = net[1:](F.linear(xs, weight, first.bias - weight @ mean[s]))
            out = out.index_copy(0, idx, y)
        return out
