"""Normal-mode sampling: Boltzmann amplitudes give k_B T / 2 of harmonic energy per mode."""

import numpy as np
import pytest
import torch

from pesforge.analysis.hessian import OMEGA_TO_CM1, model_hessian, normal_modes, rigid_body_modes
from pesforge.data import Frame
from pesforge.data import keys as K
from pesforge.models.potential import Potential
from pesforge.sampling import hessian_of, mode_variances, normal_mode_samples, provenance
from pesforge.units import KB

# a bent, non-planar 5-atom molecule (Å)
POSITIONS = np.array([[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [-0.4, 1.0, 0.1],
                      [-0.3, -0.5, 0.9], [1.6, 0.8, -0.3]])
NUMBERS = [6, 1, 1, 8, 1]


class Springs(Potential):
    """Harmonic springs between all pairs, E = sum_{i<j} k_ij/2 (r_ij - r0_ij)², at rest at
    ``POSITIONS``: a rotation-invariant model whose Hessian there has exactly six zero modes."""

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS)
    cutoff = 0.0

    def __init__(self):
        super().__init__()
        ref = torch.tensor(POSITIONS)
        self.register_buffer("r0", torch.cdist(ref, ref))
        n = len(POSITIONS)
        k = 5.0 + 20.0 * torch.rand(n, n, generator=torch.Generator().manual_seed(1),
                                    dtype=torch.float64)
        self.register_buffer("k", 0.5 * (k + k.T))

    def forward(self, batch):
        pos = batch[K.POSITIONS]
        diff = pos[:, None, :] - pos[None, :, :]
        r = torch.sqrt((diff**2).sum(-1) + torch.eye(len(pos), dtype=pos.dtype))
        pair = 0.5 * self.k * (r - self.r0 - torch.eye(len(pos), dtype=pos.dtype)) ** 2
        return 0.5 * pair.sum(1)  # half of each pair to each atom


def frame():
    return Frame(numbers=NUMBERS, positions=POSITIONS, source="mol.xyz:0")


def test_mean_harmonic_energy_per_mode_is_kT_over_2():
    model = Springs()
    hessian = model_hessian(model, frame())
    temperature, n = 300.0, 4000
    samples = normal_mode_samples(frame(), n, temperature, hessian=hessian, seed=3,
                                  min_frequency_cm1=1.0)
    masses = frame().to_atoms().get_masses()
    freqs, modes = normal_modes(hessian, masses, POSITIONS)
    assert len(freqs) == 3 * 5 - 6
    x = np.stack([s.positions - POSITIONS for s in samples]).reshape(n, -1)  # (n, 3N)
    # normal coordinates by mass-weighted projection onto the (mass-orthonormal) modes
    q = x @ (modes.reshape(len(freqs), -1) * np.repeat(masses, 3)).T
    omega = freqs / OMEGA_TO_CM1
    per_mode = 0.5 * (omega * q) ** 2
    kt2 = 0.5 * KB * temperature
    tol = 4 * np.sqrt(2.0 / n)  # 4 standard errors of a chi-square(1) mean
    assert np.allclose(per_mode.mean(0) / kt2, 1.0, atol=tol)
    harmonic = 0.5 * np.einsum("si,ij,sj->s", x, hessian, x)
    assert harmonic.mean() / (len(freqs) * kt2) == pytest.approx(1.0, abs=tol / 2)
    # no translation or rotation in the displacements
    rigid = rigid_body_modes(POSITIONS, masses)
    assert np.abs((x * np.sqrt(np.repeat(masses, 3))) @ rigid.T).max() < 1e-10
    info = provenance(samples[0])
    assert info["generator"] == "normal_modes" and info["parent"] == "mol.xyz:0"
    assert info["parameters"]["temperature_K"] == temperature and samples[0].energy is None


def test_model_energy_and_oracle_hessian_paths():
    """Low-T samples have the model's (anharmonic) energy close to the harmonic one, and the
    finite-difference Hessian of a frame -> (E, F) function matches the autograd one."""
    from pesforge.analysis.hessian import as_energy_forces

    model = Springs()
    samples = normal_mode_samples(frame(), 50, 20.0, reference=model, seed=0,
                                  min_frequency_cm1=1.0)
    energy_forces = as_energy_forces(model)
    energies = np.array([energy_forces(s)[0] for s in samples])
    assert energies.mean() == pytest.approx(9 * 0.5 * KB * 20.0, rel=0.3)
    fd = hessian_of(lambda f: energy_forces(f), frame(), delta=1e-3)
    assert np.allclose(fd, model_hessian(model, frame()), atol=1e-5)


def test_quantum_variances_limits_and_soft_modes_warn():
    freqs = np.array([500.0, 1500.0, 3000.0])
    from ase.units import invcm
    omega = freqs / OMEGA_TO_CM1
    hot = mode_variances(freqs, 1e6, quantum=True)
    assert np.allclose(hot, mode_variances(freqs, 1e6), rtol=1e-3)
    cold = mode_variances(freqs, 1.0, quantum=True)  # zero-point: <V> = hbar omega / 4
    assert np.allclose(0.5 * omega**2 * cold, freqs * invcm / 4, rtol=1e-6)
    flat = np.zeros((15, 15))
    with pytest.warns(UserWarning, match="leaving out 9 mode"):
        out = normal_mode_samples(frame(), 2, 300.0, hessian=flat)
    assert np.allclose(out[0].positions, POSITIONS)
    with pytest.raises(ValueError, match="temperature"):
        normal_mode_samples(frame(), 2, -1.0, hessian=flat)
