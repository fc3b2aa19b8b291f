"""Normal-mode sampling of molecules: Boltzmann-distributed displacements along harmonic modes.

Each vibrational mode i (frequency ω_i, translations and rotations projected out by
:func:`pesforge.analysis.hessian.normal_modes`) gets an independent Gaussian normal coordinate
with the equipartition variance ⟨q_i²⟩ = k_B T / ω_i² (classical), or the quantum harmonic
oscillator's (ħ / 2ω_i) coth(ħω_i / 2k_B T); the mean harmonic energy is then k_B T / 2 per mode
(classical). Cf. the normal-mode sampling of Smith, Isayev & Roitberg, Chem. Sci. 8, 3192 (2017).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from pesforge.data.frame import Frame
from pesforge.sampling.provenance import derived
from pesforge.units import KB


def hessian_of(reference: Any, frame: Frame, *, delta: float = 0.005) -> np.ndarray:
    """The (3N, 3N) Hessian (eV/Å²) of ``reference`` at ``frame``.

    A :class:`~pesforge.models.Potential` is differentiated by autograd; an object with a
    ``hessian(frame)`` method (an oracle with analytic second derivatives) is asked for it;
    any other Oracle, ASE calculator or ``frame -> (E, F)`` function gets central differences
    of its forces with step ``delta`` Å.
    """
    from pesforge.analysis.hessian import finite_difference_hessian, model_hessian
    from pesforge.models.potential import Potential

    if isinstance(reference, Potential):
        return model_hessian(reference, frame)
    if callable(getattr(reference, "hessian", None)):
        return np.asarray(reference.hessian(frame), dtype=np.float64)
    return finite_difference_hessian(reference, frame, delta=delta)


def mode_variances(frequencies_cm1: np.ndarray, temperature: float, *,
                   quantum: bool = False) -> np.ndarray:
    """⟨q²⟩ (Å² amu) of each normal coordinate at ``temperature`` K.

    Classical k_B T / ω², or quantum (ħω / 2ω²) coth(ħω / 2 k_B T); ω in sqrt(eV/(Å² amu)).
    """
    from ase.units import invcm

    from pesforge.analysis.hessian import OMEGA_TO_CM1

    freq = np.asarray(frequencies_cm1, dtype=np.float64)
    omega = freq / OMEGA_TO_CM1
    kt = KB * temperature
    if not quantum:
        return kt / omega**2
    hbar_omega = freq * invcm  # eV
    return 0.5 * hbar_omega / np.tanh(hbar_omega / (2 * kt)) / omega**2


def normal_mode_samples(frame: Frame, n_samples: int, temperature: float, *,
                        reference: Any = None, hessian: np.ndarray | None = None,
                        quantum: bool = False, min_frequency_cm1: float = 50.0,
                        delta: float = 0.005, seed: int = 0) -> list[Frame]:
    """Displace a molecule along its normal modes with Boltzmann amplitudes.

    Args:
        frame: a (near-)minimum structure, N atoms.
        n_samples: number of frames to generate.
        temperature: K.
        reference: where the Hessian comes from (see :func:`hessian_of`) when ``hessian`` is None.
        hessian: (3N, 3N) eV/Å², e.g. computed once and reused.
        quantum: use the quantum oscillator variance (zero-point motion) instead of k_B T/ω².
        min_frequency_cm1: modes below this (soft, or imaginary when the structure is not a
            minimum) are left out with a warning: their Boltzmann amplitude is unbounded.
        delta: finite-difference step (Å) for oracle Hessians.
        seed: random seed.

    Returns:
        Unlabelled frames with ``info`` recording generator ``"normal_modes"``, the
        temperature, seed, the frequencies used and the parent's source.
    """
    from pesforge.analysis.hessian import normal_modes

    if temperature <= 0:
        raise ValueError(f"temperature must be positive (K), got {temperature}")
    if len(frame) < 2:
        raise ValueError(f"{frame.source}: normal-mode sampling needs at least 2 atoms")
    if hessian is None:
        if reference is None:
            raise ValueError("normal_mode_samples needs a hessian or a reference to compute it")
        hessian = hessian_of(reference, frame, delta=delta)
    masses = frame.to_atoms().get_masses()
    frequencies, modes = normal_modes(hessian, masses, frame.positions)
    keep = frequencies >= min_frequency_cm1
    if not keep.all():
        skipped = ", ".join(f"{f:.1f}" for f in frequencies[~keep])
        warnings.warn(f"{frame.source}: leaving out {int((~keep).sum())} mode(s) below "
                      f"{min_frequency_cm1} cm^-1 ({skipped}; negative = imaginary)",
                      stacklevel=2)
    frequencies, modes = frequencies[keep], modes[keep]
    sigma = np.sqrt(mode_variances(frequencies, temperature, quantum=quantum))
    rng = np.random.default_rng(seed)
    params = {"temperature_K": temperature, "quantum": quantum, "seed": seed,
              "frequencies_cm1": [round(float(f), 2) for f in frequencies]}
    out = []
    for k in range(n_samples):
        q = rng.normal(size=len(sigma)) * sigma
        displacement = np.einsum("m,mnc->nc", q, modes)
        out.append(derived(frame, frame.positions + displacement, generator="normal_modes",
                           parameters=params, index=k))
    return out
