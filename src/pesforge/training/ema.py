"""Exponential moving average of a model's parameters, used for validation and saving.

shadow <- d * shadow + (1 - d) * param after every optimiser step, with the warm-up
d = min(decay, (1 + n) / (10 + n)) after n updates so that early weights are forgotten fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class EMA:
    """Shadow copies of ``model``'s floating parameters (buffers are not averaged).

    Args:
        model: the model being trained.
        decay: the long-run decay in [0, 1); 0 makes the shadow equal the live weights.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.model = model
        self.decay = float(decay)
        self.n_updates = 0
        self.shadow = {name: p.detach().clone() for name, p in model.named_parameters()}

    def current_decay(self) -> float:
        n = self.n_updates
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self) -> None:
        """Blend the live parameters into the shadow (call after each optimiser step)."""
        d = self.current_decay()
        for name, p in self.model.named_parameters():
            self.shadow[name].mul_(d).add_(p.detach(), alpha=1.0 - d)
        self.n_updates += 1

    @contextmanager
    def applied(self) -> Iterator[nn.Module]:
        """Temporarily load the shadow weights into the model; restore the live ones after."""
        live = {name: p.detach().clone() for name, p in self.model.named_parameters()}
        self.copy_to(self.model)
        try:
            yield self.model
        finally:
            with torch.no_grad():
                for name, p in self.model.named_parameters():
                    p.copy_(live[name])

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Write the shadow weights into ``model`` (same architecture)."""
        for name, p in model.named_parameters():
            p.copy_(self.shadow[name])

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, float | int]]:
        """(tensors, scalars) for a checkpoint."""
        return dict(self.shadow), {"decay": self.decay, "n_updates": self.n_updates}

    def load_state_dict(self, tensors: dict[str, torch.Tensor],
                        scalars: dict[str, float | int]) -> None:
        missing = set(self.shadow) - set(tensors)
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)}")
        with torch.no_grad():
            for name in self.shadow:
                self.shadow[name].copy_(tensors[name])
        self.n_updates = int(scalars["n_updates"])
