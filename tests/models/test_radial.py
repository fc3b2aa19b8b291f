"""The radial kernels: Bessel and Gaussian bases and the polynomial envelope against their closed
forms."""

import math

import pytest
import torch

from pesforge.physics.cutoffs import polynomial_envelope
from pesforge.physics.radial import bessel_basis, gaussian_basis, radial_embedding


def test_envelope_is_one_at_origin_and_c2_smooth_at_cutoff():
    r_cut = 4.0
    r = torch.tensor([1e-9, r_cut * (1 - 1e-7)], dtype=torch.float64, requires_grad=True)
    u = polynomial_envelope(r, r_cut, p=6)
    (du,) = torch.autograd.grad(u.sum(), r, create_graph=True)
    (d2u,) = torch.autograd.grad(du.sum(), r)
    assert u[0].item() == pytest.approx(1.0, abs=1e-12)
    assert abs(u[1].item()) < 1e-12 and abs(du[1].item()) < 1e-9 and abs(d2u[1].item()) < 1e-5
    outside = polynomial_envelope(torch.tensor([r_cut, 5.0], dtype=torch.float64), r_cut)
    assert torch.all(outside == 0)
    with pytest.raises(ValueError, match="p >= 2"):
        polynomial_envelope(r, r_cut, p=1)


def test_envelope_matches_dimenet_closed_form():
    r_cut, p = 5.0, 5
    r = torch.linspace(0.1, 4.9, 17, dtype=torch.float64)
    d = r / r_cut
    expected = (1 - (p + 1) * (p + 2) / 2 * d**p + p * (p + 2) * d ** (p + 1)
                - p * (p + 1) / 2 * d ** (p + 2))
    assert torch.allclose(polynomial_envelope(r, r_cut, p), expected, atol=1e-14)


def test_bessel_basis_closed_form_and_orthonormality():
    r_cut, n = 5.0, 6
    r = torch.linspace(1e-4, r_cut, 200001, dtype=torch.float64)[1:]
    basis = bessel_basis(r, r_cut, n)
    k = 3
    assert basis[1000, k - 1].item() == pytest.approx(
        math.sqrt(2 / r_cut) * math.sin(k * math.pi * r[1000].item() / r_cut) / r[1000].item())
    # r * basis are orthonormal sine functions on [0, r_c]: integral of r^2 b_k b_l dr = delta
    weighted = basis * r[:, None]
    gram = torch.trapezoid(weighted[:, :, None] * weighted[:, None, :], r, dim=0)
    assert torch.allclose(gram, torch.eye(n, dtype=torch.float64), atol=1e-4)
    assert radial_embedding(r, r_cut, n)[-1].abs().max().item() < 1e-12


def test_gaussian_basis_centres_and_widths():
    r = torch.tensor([0.0, 1.25, 3.0], dtype=torch.float64)
    values = gaussian_basis(r, 5.0, 5)  # centres 0, 1.25, ..., 5 Å; width 1.25 Å
    assert values.shape == (3, 5)
    assert values[0, 0] == 1.0 and values[1, 1] == 1.0
    assert float(values[2, 2]) == pytest.approx(math.exp(-0.5 * (0.5 / 1.25) ** 2), rel=1e-14)
    with pytest.raises(ValueError, match="n >= 2"):
        gaussian_basis(r, 5.0, 1)


def test_models_reject_unknown_radial_names():
    from pesforge.models.painn import PaiNN

    with pytest.raises(ValueError, match="radial_basis must be one of"):
        PaiNN([1, 8], radial_basis="chebyshev")
    pytest.importorskip("e3nn")
    from pesforge.models import EquivariantPotential

    with pytest.raises(ValueError, match="envelope"):
        EquivariantPotential([1, 8], envelope="step")
