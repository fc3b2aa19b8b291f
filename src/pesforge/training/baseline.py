"""Δ-learning: train on labels minus a cheap baseline, predict baseline + Δ.

E_high(R) ≈ E_low(R) + Δ_ML(R) (Ramakrishnan et al., J. Chem. Theory Comput. 11, 2087 (2015)).
The difference between two levels of theory is smoother and smaller than either, so far fewer
expensive labels are needed. The baseline E_low comes from one of

- low-level labels stored beside the high-level ones in the data files (``energy_key`` /
  ``forces_key``, e.g. the rMD17 PBE labels kept next to CCSD(T) energies): for training and
  benchmarks; predictions for new structures then need the low level from elsewhere;
- a pesforge model file: frozen, and the run's ``model.safetensors`` is the composite
  ``baseline + Δ``, one potential usable from ASE like any other;
- an oracle (GFN2-xTB, PySCF HF/DFT; see :mod:`pesforge.models.oracle_term`): every frame is
  labelled once through :mod:`pesforge.oracles.labeling`, each label committed to
  ``baseline_labels.db`` in the run folder as it arrives (a resumed run repeats no call), and
  ``model.safetensors`` is ``OracleTerm(oracle) + Δ``.

Forces and stress are subtracted the same way when both levels have them; a frame with a
high-level force label but no baseline forces is an error, never silently dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from pesforge.data.frame import Frame
from pesforge.data.validate import DataError
from pesforge.models.potential import Potential
from pesforge.training.config import BaselineConfig, DataConfig


@dataclasses.dataclass
class BaselineLabels:
    """Baseline values for a list of frames: energies (F,) eV, forces per frame (N, 3) eV/Å
    or None, stress per frame (3, 3) eV/Å³ or None."""

    energy: np.ndarray
    forces: list[np.ndarray | None]
    stress: list[np.ndarray | None]


def from_file_keys(path: str, data: DataConfig, config: BaselineConfig) -> BaselineLabels:
    """The low-level labels stored in ``path`` under the baseline's keys."""
    from pesforge.data.readers import read

    frames = read(path, energy_key=config.energy_key, forces_key=config.forces_key or "forces",
                  stress_key=config.stress_key or "stress", allow_mixed=True, validate=False)
    for k, f in enumerate(frames):
        if f.energy is None:
            raise DataError(path, k, config.energy_key, "no baseline energy under this key")
    # Labels under the default names belong to the high level unless named as the baseline's.
    return BaselineLabels(
        energy=np.array([f.energy for f in frames]),
        forces=[f.forces if config.forces_key else None for f in frames],
        stress=[f.stress if config.stress_key else None for f in frames])


def from_model(model: Potential, frames: Sequence[Frame]) -> BaselineLabels:
    """Predictions of a (frozen) baseline model: energies, forces, and stress where the frame
    has a stress label."""
    from pesforge.training.metrics import predict

    p = predict(model, frames)
    forces = np.split(p.forces_pred, np.cumsum(p.n_atoms)[:-1])
    stress = [None if f.stress is None or p.stress_pred is None else p.stress_pred[k]
              for k, f in enumerate(frames)]
    return BaselineLabels(energy=p.energy_pred, forces=list(forces), stress=stress)


def from_oracle(spec: dict, frames: Sequence[Frame], store_path, labeling: dict) -> BaselineLabels:
    """Oracle labels of ``frames``, computed once and kept in the SQLite store ``store_path``.

    Raises:
        DataError: a frame whose oracle call failed (with the recorded reason).
    """
    from pesforge.models.oracle_term import oracle_from_spec
    from pesforge.oracles.labeling import LabelingConfig, label_pending
    from pesforge.oracles.store import LabelStore, structure_hash

    store = LabelStore(store_path)
    store.request(frames, origin="baseline")
    if store.pending():
        label_pending(store, oracle_from_spec(spec), LabelingConfig(**labeling))
    done = {f.info["call_id"]: f for f in store.labelled()}
    failed = {r.call_id: r.get("reason", "failed") for r in store.rows("failed")}
    out = []
    for frame in frames:
        key = structure_hash(frame)
        if key not in done:
            raise DataError(frame.source, None, "baseline",
                            f"the baseline oracle gave no label: {failed.get(key, 'pending')}")
        out.append(done[key])
    return BaselineLabels(energy=np.array([f.energy for f in out]),
                          forces=[f.forces for f in out], stress=[f.stress for f in out])


def subtract(frames: Sequence[Frame], low: BaselineLabels, what: str) -> list[Frame]:
    """Frames whose labels are ``high - low``; ``info["baseline_energy"]`` keeps E_low.

    Raises:
        DataError: counts differ, or a frame has high-level forces/stress but no baseline ones.
    """
    if len(frames) != len(low.energy):
        raise DataError(what, None, None,
                        f"{len(frames)} frames but {len(low.energy)} baseline labels")
    out = []
    for frame, e_low, f_low, s_low in zip(frames, low.energy, low.forces, low.stress):
        forces, stress = frame.forces, frame.stress
        if forces is not None:
            if f_low is None or f_low.shape != forces.shape:
                raise DataError(frame.source, None, "forces",
                                f"the baseline ({what}) has no matching forces")
            forces = forces - f_low
        if stress is not None:
            if s_low is None:
                raise DataError(frame.source, None, "stress", f"the baseline ({what}) has no stress")
            stress = stress - s_low
        energy = None if frame.energy is None else frame.energy - float(e_low)
        info = dict(frame.info, baseline_energy=float(e_low))
        out.append(dataclasses.replace(frame, energy=energy, forces=forces, stress=stress,
                                       info=info))
    return out


def load_baseline_model(config: BaselineConfig, device: str = "cpu") -> Potential:
    """The frozen baseline model named by ``config.model``."""
    from pesforge.models.io import load_model

    model = load_model(config.model, device=device)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def apply(train: list[Frame], validation: list[Frame], test: list[Frame], data: DataConfig,
          config: BaselineConfig, train_indices: np.ndarray, validation_indices: np.ndarray,
          output, device: str = "cpu") -> tuple[list[Frame], list[Frame], list[Frame],
                                                Potential | None]:
    """Replace the labels of every split by ``label - baseline``.

    Returns the three lists and the baseline as a potential term (a frozen model or an
    :class:`~pesforge.models.oracle_term.OracleTerm`; None for a file-key baseline).
    """
    if config.model is not None:
        model = load_baseline_model(config, device)
        return (*(subtract(f, from_model(model, f), config.model) if f else f
                  for f in (train, validation, test)), model)
    if config.oracle is not None:
        from pathlib import Path

        from pesforge.models.oracle_term import OracleTerm

        store = Path(output) / "baseline_labels.db"
        what = f"oracle {config.oracle.get('kind')}"
        return (*(subtract(f, from_oracle(config.oracle, f, store, config.labeling), what)
                  if f else f for f in (train, validation, test)), OracleTerm(config.oracle))
    low = from_file_keys(data.train_file, data, config)
    pick = lambda idx: BaselineLabels(low.energy[idx], [low.forces[i] for i in idx],  # noqa: E731
                                      [low.stress[i] for i in idx])
    what = f"{data.train_file} key {config.energy_key!r}"
    train = subtract(train, pick(train_indices), what)
    validation = subtract(validation, pick(validation_indices), what)
    if test:
        test = subtract(test, from_file_keys(data.test_file, data, config),
                        f"{data.test_file} key {config.energy_key!r}")
    return train, validation, test, None
