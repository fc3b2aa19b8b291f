"""Composing physics terms with a learned model: build terms from config entries, split a sum
into its learned part and its fixed terms, and subtract fixed terms from reference labels.

A model trained beside fixed terms (ZBL, D3, fixed-charge Coulomb) learns the labels minus
those terms; its reference energies and energy scale are therefore fitted to the residual
labels (:func:`subtract_terms`), so that ``terms + model`` reproduces the data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def build_term(entry: dict[str, Any]):
    """A registered potential from a config entry ``{"name": "zbl", **constructor_kwargs}``."""
    from pesforge.models.potential import REGISTRY
    from pesforge.physics import register_terms

    register_terms()

    if "name" not in entry:
        raise ValueError(f"a term entry needs a 'name' key, got {entry!r}")
    kwargs = {k: v for k, v in entry.items() if k != "name"}
    name = entry["name"]
    if name not in REGISTRY:
        raise ValueError(f"unknown term {name!r}; known: {sorted(REGISTRY)}")
    try:
        return REGISTRY[name].from_config(kwargs)
    except TypeError as err:
        raise ValueError(f"term {name!r}: {err}") from err


def build_terms(entries: Sequence[dict[str, Any]], elements: Sequence[int] = ()) -> list:
    """Terms from config entries; terms that take ``elements`` (ZBL, charges) get the training
    elements unless the entry names them, which keeps their cutoffs tight."""
    import inspect

    from pesforge.models.potential import REGISTRY
    from pesforge.physics import register_terms

    register_terms()

    terms = []
    for entry in entries:
        entry = dict(entry)
        cls = REGISTRY.get(entry.get("name", ""))
        if cls is not None and elements and "elements" not in entry \
                and "elements" in inspect.signature(cls.__init__).parameters:
            entry["elements"] = sorted(int(z) for z in elements)
        terms.append(build_term(entry))
    return terms


def learned_and_fixed(potential) -> tuple[Any, list]:
    """(the one term that has ``fit_statistics``, the parameter-free other terms) of a sum
    (nested composites such as :class:`~pesforge.physics.CoreRepulsion` are flattened; its
    blend is the identity on training data).

    A potential that is not a sum is returned as the learned part with no fixed terms.
    """
    def flatten(p):
        parts = getattr(p, "terms", None)
        return [p] if parts is None else [q for part in parts for q in flatten(part)]

    terms = flatten(potential)
    learned = [t for t in terms if hasattr(t, "fit_statistics")]
    if len(learned) != 1:
        raise TypeError(f"expected exactly one term with fit_statistics, found {len(learned)} "
                        f"in {[type(t).__name__ for t in terms]}")
    # Terms with trainable parameters (a learned-charge Coulomb term) change during training;
    # only parameter-free terms (ZBL, D3, fixed charges) are subtracted from the labels.
    fixed = [t for t in terms if t is not learned[0]
             and not any(p.requires_grad for p in t.parameters())]
    return learned[0], fixed


def fixed_labels(terms: Sequence, frames: Sequence, chunk: int = 32) -> list[dict]:
    """Energy (eV), forces (N, 3) eV/Å and stress (3, 3) eV/Å³ of the sum of ``terms`` on
    each frame (stress only for frames with a stress label)."""
    from pesforge.data import keys as K
    from pesforge.data.batch import collate
    from pesforge.models.autograd import compute
    from pesforge.models.potential import SumPotential

    if not terms:
        return [{"energy": 0.0, "forces": np.zeros((len(f), 3)), "stress": np.zeros((3, 3))}
                for f in frames]
    total = SumPotential(list(terms))
    out = []
    for start in range(0, len(frames), chunk):
        part = list(frames[start:start + chunk])
        stress = any(f.stress is not None for f in part)
        batch = collate(part, total.cutoff, dtype=torch.float64)
        res = compute(total, batch, forces=True, stress=stress)
        forces = torch.split(res[K.FORCES], batch[K.N_ATOMS].tolist())
        for s, frame in enumerate(part):
            out.append({"energy": float(res[K.ENERGY][s]), "forces": forces[s].numpy(),
                        "stress": res[K.STRESS][s].numpy() if stress else np.zeros((3, 3))})
    return out


def subtract_terms(terms: Sequence, frames: Sequence) -> list:
    """Frames whose labels have the fixed ``terms`` removed (new frames; inputs unchanged)."""
    if not terms:
        return list(frames)
    out = []
    for frame, fixed in zip(frames, fixed_labels(terms, frames)):
        out.append(dataclasses.replace(
            frame,
            energy=None if frame.energy is None else frame.energy - fixed["energy"],
            forces=None if frame.forces is None else frame.forces - fixed["forces"],
            stress=None if frame.stress is None else frame.stress - fixed["stress"]))
    return out
