"""Model builders keyed by ``ModelConfig.name``: (model config, elements) -> Potential.

A new architecture plugs into training by registering a builder here with :func:`builder`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from pesforge.models.potential import Potential
    from pesforge.training.config import ModelConfig

Builder = Callable[["ModelConfig", Sequence[int]], "Potential"]
BUILDERS: dict[str, Builder] = {}


def builder(name: str) -> Callable[[Builder], Builder]:
    """Decorator: register ``fn(model_config, elements) -> Potential`` under ``name``."""

    def wrap(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn

    return wrap


@builder("bpnn")
def build_bpnn(config: "ModelConfig", elements: Sequence[int]) -> "Potential":
    """A :class:`~pesforge.models.bpnn.BPNN` with default-spaced symmetry functions."""
    from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters
    from pesforge.models.bpnn import BPNN

    sf = SymmetryFunctionParameters.default(
        config.cutoff, config.angular_cutoff, n_radial=config.n_radial,
        n_angular_shells=config.n_angular_shells, angular_kind=config.angular_kind,
        zetas=config.zetas)
    return BPNN(elements, sf, hidden=config.hidden, activation=config.activation)


@builder("painn")
def build_painn(config: "ModelConfig", elements: Sequence[int]) -> "Potential":
    """A :class:`~pesforge.models.painn.PaiNN` with ``config.painn`` settings."""
    from pesforge.models.painn import PaiNN

    return PaiNN(elements, cutoff=config.cutoff, activation=config.activation,
                 **config.painn.model_dump())


@builder("equivariant")
def build_equivariant(config: "ModelConfig", elements: Sequence[int]) -> "Potential":
    """An e3nn :class:`~pesforge.models.equivariant.EquivariantPotential` with
    ``config.equivariant`` settings."""
    from pesforge.models.equivariant import EquivariantPotential

    return EquivariantPotential(elements, cutoff=config.cutoff, **config.equivariant.model_dump())


def build_model(config: "ModelConfig", elements: Sequence[int],
                frames: Sequence = ()) -> "Potential":
    """The potential named by ``config.name``, in ``config.dtype``, knowing ``elements``, with
    ``config.terms`` added and ``config.core_repulsion`` (whose radii come from the training
    ``frames``) wrapped around."""
    if config.name not in BUILDERS:
        raise ValueError(f"unknown model {config.name!r}; known: {sorted(BUILDERS)}")
    model = BUILDERS[config.name](config, sorted(int(z) for z in elements))
    if config.terms:  # physics terms: terms + model, one SumPotential saved in one file
        from pesforge.physics.terms import build_terms

        model = sum(build_terms(config.terms, elements), start=model)
    if config.core_repulsion is not None:
        from pesforge.physics.core import CoreRepulsion
        from pesforge.physics.terms import build_term
        from pesforge.physics.zbl import pair_radii_from_frames

        radii = pair_radii_from_frames(frames, config.core_repulsion.radii_scale)
        prior = build_term({**config.core_repulsion.prior, "pair_radii": radii,
                            "elements": sorted(int(z) for z in elements)})
        model = CoreRepulsion(model, prior)
    return model.to(getattr(torch, config.dtype))
