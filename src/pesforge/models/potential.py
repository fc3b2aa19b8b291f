"""The one interface every model and physics term implements, and their sum.

A :class:`Potential` maps a batch (see :mod:`pesforge.data.keys`) to per-atom energies in eV.
Total energies, forces, virial and stress are derived from that in one place,
:func:`pesforge.models.autograd.compute`. Potentials add: ``ZBL() + BPNN(...)`` is a
:class:`SumPotential` whose per-atom energies are the sum of its terms'.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from pesforge.data import keys as K

REGISTRY: dict[str, type["Potential"]] = {}


def register(name: str):
    """Class decorator: make a Potential loadable from a model file under ``name``."""

    def wrap(cls: type["Potential"]) -> type["Potential"]:
        if name in REGISTRY and REGISTRY[name] is not cls:
            raise ValueError(f"potential name {name!r} is already registered")
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return wrap


class Potential(nn.Module):
    """Batch -> per-atom energies.

    Subclasses set ``cutoff`` (Å, the neighbour-list radius they need; 0 for none), list the batch
    keys they read in ``reads``, implement :meth:`forward`, and implement :meth:`config` so that
    ``type(self)(**self.config())`` rebuilds the same architecture (weights and statistics come
    from the state dict).
    """

    name: ClassVar[str] = ""
    reads: ClassVar[tuple[str, ...]] = (K.POSITIONS, K.ATOMIC_NUMBERS)
    cutoff: float = 0.0

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-atom energies, shape (A,), eV. float64 is recommended for the returned tensor."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Potential":
        return cls(**config)

    @property
    def dtype(self) -> torch.dtype:
        for p in self.parameters():
            return p.dtype
        for b in self.buffers():
            if b.is_floating_point():
                return b.dtype
        return torch.get_default_dtype()

    def adopt_statistics(self, state: dict[str, torch.Tensor]) -> None:
        """Warm starts on new data: take the data statistics (input standardisation, energy
        scale, reference energies) from ``state``, a state dict of the same architecture fitted
        on the new data, and re-express the weights so that every energy stays the same.
        Models without an exact re-expression keep their own statistics (this default)."""

    def readout_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-atom last-layer gradient features (A, D), eV: the inputs of the model's final
        linear layer times the energy scale, so that an atom's energy is their dot product
        with that layer's weights plus terms fixed by its element. Summed over a frame, they
        are the gradient of its energy w.r.t. those weights: the feature space of kernel batch
        selection in active learning (:mod:`pesforge.active.select`)."""
        raise NotImplementedError(f"{type(self).__name__} has no readout features")

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        """Fail early, naming the keys, when a batch lacks what this potential reads."""
        missing = [k for k in self.reads if k not in batch]
        if missing:
            raise KeyError(f"{type(self).__name__} needs batch keys {missing}")

    def __add__(self, other: "Potential") -> "SumPotential":
        if not isinstance(other, Potential):
            return NotImplemented
        left = list(self.terms) if isinstance(self, SumPotential) else [self]
        right = list(other.terms) if isinstance(other, SumPotential) else [other]
        return SumPotential(left + right)


@register("sum")
class SumPotential(Potential):
    """Sum of potentials: per-atom energies add; the cutoff is the largest of the terms'."""

    def __init__(self, terms: list[Potential]):
        super().__init__()
        if not terms:
            raise ValueError("SumPotential needs at least one term")
        self.terms = nn.ModuleList(terms)
        self.cutoff = max(t.cutoff for t in terms)
        self.reads = tuple(dict.fromkeys(k for t in terms for k in t.reads))

    def forward(self, batch):
        return sum(term(batch) for term in self.terms)

    def config(self):
        return {"terms": [describe(t) for t in self.terms]}

    @classmethod
    def from_config(cls, config):
        return cls([build(t) for t in config["terms"]])


def describe(potential: Potential) -> dict[str, Any]:
    """``{"name": ..., "config": ...}``, the JSON form stored in model files."""
    if not potential.name:
        raise TypeError(f"{type(potential).__name__} is not registered; use @register")
    return {"name": potential.name, "config": potential.config()}


def build(description: dict[str, Any]) -> Potential:
    """Inverse of :func:`describe` (weights are not included)."""
    import pesforge.models  # noqa: F401  (registers the built-in potentials)
    from pesforge.physics import register_terms

    register_terms()  # the physics terms (ZBL, Coulomb, D3) load from model files too
    import pesforge.uncertainty  # noqa: F401  (registers ensembles and variance heads)

    name = description["name"]
    if name not in REGISTRY:
        raise KeyError(f"unknown potential {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name].from_config(description["config"])
