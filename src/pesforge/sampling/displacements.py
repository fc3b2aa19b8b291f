"""Random atomic displacements (rattle) and homogeneous strains of periodic cells.

Amplitudes can be given directly or derived from a temperature: an Einstein oscillator of
frequency ω gives each Cartesian component ⟨u²⟩ = k_B T / (m ω²); a homogeneous strain of a
crystal of volume V with elastic modulus C has ⟨ε²⟩ = k_B T / (V C') with C' = 9B for a
hydrostatic strain ε = e·1 (bulk modulus B) and 4·C44 for a shear component ε_ab = ε_ba
(equipartition of the elastic energy ½ V ε:C:ε).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from pesforge.data.frame import Frame, voigt_to_matrix
from pesforge.sampling.provenance import derived
from pesforge.units import KB

#: Voigt names of the shear components and their (row, column).
SHEAR_COMPONENTS = {"yz": (1, 2), "xz": (0, 2), "xy": (0, 1)}


def thermal_rattle_sigma(temperature: float, masses: np.ndarray,
                         frequency_cm1: float) -> np.ndarray:
    """Per-atom Cartesian displacement std (Å) of Einstein oscillators at ``temperature`` K.

    σ_a = sqrt(k_B T / (m_a ω²)), ω the Einstein frequency (cm⁻¹, e.g. ~2/3 of the Debye
    frequency of a solid), masses in amu.
    """
    from pesforge.analysis.hessian import OMEGA_TO_CM1

    if temperature < 0 or frequency_cm1 <= 0:
        raise ValueError("need temperature >= 0 K and frequency_cm1 > 0")
    omega = frequency_cm1 / OMEGA_TO_CM1  # sqrt(eV / (Å² amu))
    return np.sqrt(KB * temperature / (np.asarray(masses, dtype=np.float64) * omega**2))


def rattle(frame: Frame, n_samples: int, sigma: float | Sequence[float] | None = None, *,
           temperature: float | None = None, frequency_cm1: float = 300.0,
           seed: int = 0) -> list[Frame]:
    """Gaussian random displacements of every atom.

    Args:
        frame: the parent structure.
        n_samples: number of frames.
        sigma: std of each Cartesian component in Å (one value, or one per atom).
        temperature: instead of ``sigma``: K, with Einstein frequency ``frequency_cm1``
            (see :func:`thermal_rattle_sigma`).
        seed: random seed.
    """
    if (sigma is None) == (temperature is None):
        raise ValueError("rattle needs exactly one of sigma (Å) or temperature (K)")
    params: dict = {"seed": seed}
    if temperature is not None:
        sigma = thermal_rattle_sigma(temperature, frame.to_atoms().get_masses(), frequency_cm1)
        params.update(temperature_K=temperature, frequency_cm1=frequency_cm1)
    else:
        params["sigma_A"] = sigma if np.isscalar(sigma) else [float(s) for s in sigma]
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64).reshape(-1, 1), (len(frame), 3))
    if (sigma < 0).any():
        raise ValueError("rattle amplitudes must be non-negative")
    rng = np.random.default_rng(seed)
    return [derived(frame, frame.positions + sigma * rng.normal(size=(len(frame), 3)),
                    generator="rattle", parameters=params, index=k) for k in range(n_samples)]


def apply_strain(frame: Frame, strain: np.ndarray, *, generator: str = "strain",
                 parameters: dict | None = None, index: int | None = None) -> Frame:
    """The frame deformed by a symmetric strain ε: cell' = cell (1 + ε), R' = R (1 + ε).

    Fractional coordinates are unchanged and the deformation has no rotation part.
    ``strain`` is (3, 3) or Voigt (xx yy zz yz xz xy, tensor components, not engineering).
    """
    if not frame.pbc.any():
        raise ValueError(f"{frame.source}: strains need a periodic cell (pbc is all False)")
    eps = voigt_to_matrix(np.asarray(strain, dtype=np.float64))
    if not np.allclose(eps, eps.T, atol=1e-12):
        raise ValueError(f"strain must be symmetric, got {eps.tolist()}")
    deformation = np.eye(3) + eps
    params = {"strain": eps.round(12).tolist(), **(parameters or {})}
    return derived(frame, frame.positions @ deformation, cell=frame.cell @ deformation,
                   generator=generator, parameters=params, index=index)


def hydrostatic_strains(frame: Frame, strains: Iterable[float]) -> list[Frame]:
    """One frame per linear strain e (cell scaled by 1 + e, volume by (1 + e)³)."""
    return [apply_strain(frame, e * np.eye(3), generator="hydrostatic_strain", index=k)
            for k, e in enumerate(strains)]


def shear_strains(frame: Frame, amplitudes: Iterable[float],
                  components: Sequence[str] = ("yz", "xz", "xy")) -> list[Frame]:
    """One frame per (amplitude, component): ε_ab = ε_ba = amplitude, other entries zero."""
    out = []
    for amplitude in amplitudes:
        for name in components:
            if name not in SHEAR_COMPONENTS:
                raise ValueError(f"unknown shear component {name!r}; use {list(SHEAR_COMPONENTS)}")
            a, b = SHEAR_COMPONENTS[name]
            eps = np.zeros((3, 3))
            eps[a, b] = eps[b, a] = amplitude
            out.append(apply_strain(frame, eps, generator="shear_strain",
                                    parameters={"component": name}, index=len(out)))
    return out


def thermal_strain_sigma(temperature: float, volume: float, modulus: float,
                         kind: str = "hydrostatic") -> float:
    """Std of a thermal strain fluctuation of a cell of ``volume`` Å³ at ``temperature`` K.

    ``modulus`` in eV/Å³ (multiply GPa by :data:`pesforge.units.GPA`): the bulk modulus B for
    ``kind="hydrostatic"`` (⟨e²⟩ = k_B T / 9VB), C44 for ``"shear"`` (⟨ε_ab²⟩ = k_B T / 4V·C44).
    """
    factor = {"hydrostatic": 9.0, "shear": 4.0}.get(kind)
    if factor is None:
        raise ValueError(f"kind must be 'hydrostatic' or 'shear', not {kind!r}")
    if volume <= 0 or modulus <= 0:
        raise ValueError("volume and modulus must be positive")
    return float(np.sqrt(KB * temperature / (factor * volume * modulus)))


def random_strains(frame: Frame, n_samples: int, *, hydrostatic: float = 0.0,
                   shear: float = 0.0, seed: int = 0) -> list[Frame]:
    """Random strains: e ~ U(-hydrostatic, hydrostatic) on the diagonal (same for all three)
    plus independent shear components ε_ab ~ U(-shear, shear); both as linear strains."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_samples):
        eps = rng.uniform(-hydrostatic, hydrostatic) * np.eye(3)
        for a, b in SHEAR_COMPONENTS.values():
            eps[a, b] = eps[b, a] = rng.uniform(-shear, shear)
        out.append(apply_strain(frame, eps, generator="random_strain",
                                parameters={"hydrostatic": hydrostatic, "shear": shear,
                                            "seed": seed}, index=k))
    return out
