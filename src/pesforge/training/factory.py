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


def build_model(config: "ModelConfig", elements: Sequence[int]) -> "Potential":
    """The potential named by ``config.name``, in ``config.dtype``, knowing ``elements``."""
    if config.name not in BUILDERS:
        raise ValueError(f"unknown model {config.name!r}; known: {sorted(BUILDERS)}")
    model = BUILDERS[config.name](config, sorted(int(z) for z in elements))
    return model.to(getattr(torch, config.dtype))
