"""Helpers of the model tests: random orthogonal matrices, batches and rotated copies."""

from __future__ import annotations

import numpy as np
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame

ELEMENTS = (1, 6, 8)


def orthogonal(seed: int, reflect: bool) -> torch.Tensor:
    """A random (3, 3) float64 rotation (det +1) or rotation-reflection (det -1)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if (np.linalg.det(q) < 0) != reflect:
        q[:, 0] *= -1
    return torch.tensor(q, dtype=torch.float64)


def systems_batch(cutoff: float, dtype=torch.float64) -> dict[str, torch.Tensor]:
    """The molecule and the rattled triclinic periodic cell of the physics fixtures."""
    systems = T.fixtures.default_systems(ELEMENTS)[:2]
    return collate([Frame.from_atoms(a) for a in systems], cutoff, dtype=dtype)


def transformed(batch: dict[str, torch.Tensor], rotation: torch.Tensor) -> dict:
    """The same batch with positions and cell rows mapped r -> R r (edges unchanged)."""
    out = dict(batch)
    out[K.POSITIONS] = batch[K.POSITIONS] @ rotation.T
    out[K.CELL] = batch[K.CELL] @ rotation.T
    return out


def assert_close_relative(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-9,
                          what: str = "") -> None:
    """max |actual - expected| <= rtol * max |expected| (expected must not be ~0)."""
    scale = expected.abs().max().item()
    assert scale > 1e-6, f"{what}: reference is ~0, the test would be vacuous"
    error = (actual - expected).abs().max().item()
    assert error <= rtol * scale, f"{what}: relative error {error / scale:.2e} > {rtol:.0e}"


def perturb(model: torch.nn.Module, scale: float = 0.1, seed: int = 0) -> None:
    """Add normal noise to every parameter so nothing is at a symmetric initial value."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))


def rotation_and_wigner(seed: int, reflect: bool, irreps_list) -> tuple:
    """A random rotation (times -1 when ``reflect``) and the representation matrix of each
    irreps, both built in float64 from the same random Euler angles (no matrix -> angle
    inversion, which loses precision near the poles)."""
    from e3nn import o3

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its generators in the default dtype
    try:
        angles = torch.tensor(np.random.default_rng(seed).uniform(0, 2 * np.pi, 3))
        angles[1] = angles[1] / 2
        rotation = o3.angles_to_matrix(*angles)
        parity = torch.tensor(1.0 if reflect else 0.0)
        rotation = -rotation if reflect else rotation
        return rotation, [irreps.D_from_angles(*angles, parity) for irreps in irreps_list]
    finally:
        torch.set_default_dtype(previous)
