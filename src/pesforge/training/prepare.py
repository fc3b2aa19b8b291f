"""From a data config to training inputs: frames, a reproducible split, the derived statistics.

Everything computed here from the data (split indices, reference energies, energy scale,
descriptor statistics) is recorded by :func:`resolved_record` for ``resolved.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pesforge.data.batch import collate, frame_graph
from pesforge.data.frame import Frame, LevelOfTheory
from pesforge.models.potential import Potential
from pesforge.training.config import ConfigError, DataConfig

Graph = tuple[np.ndarray, np.ndarray]


@dataclass
class TrainingData:
    """Frames of one run. Indices refer to positions in the training file."""

    train: list[Frame]
    validation: list[Frame]
    test: list[Frame]
    train_indices: np.ndarray
    validation_indices: np.ndarray
    elements: list[int]
    level_of_theory: LevelOfTheory | None
    split_seed: int | None = None  # the seed the split was drawn from, when not the run's


def read_frames(path: str, config: DataConfig) -> list[Frame]:
    """All frames of ``path`` with the label keys and level of theory of ``config``."""
    from pesforge.data.readers import read

    return read(path, energy_key=config.energy_key, forces_key=config.forces_key,
                stress_key=config.stress_key, charges_key=config.charges_key,
                dipole_key=config.dipole_key, total_charge_key=config.total_charge_key,
                level_of_theory=config.level_of_theory, allow_mixed=config.allow_mixed_levels)


def n_validation(n_frames: int, config: DataConfig) -> int:
    """Validation-set size: ``n_validation`` if given, else ``validation_fraction`` of the
    frames (at least 1); at least one frame must remain for training."""
    n_val = config.n_validation or max(1, int(round(config.validation_fraction * n_frames)))
    if n_val >= n_frames:
        raise ConfigError(f"{config.train_file}: {n_frames} frame(s) cannot give {n_val} "
                          f"validation frame(s) and at least one training frame")
    return n_val


def split(n_frames: int, config: DataConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices, a reproducible function of ``seed``."""
    from pesforge.data.splits import split_indices

    n_val = n_validation(n_frames, config)
    train_idx, val_idx = split_indices(n_frames, [n_frames - n_val, n_val], seed)
    return np.asarray(train_idx, dtype=np.int64), np.asarray(val_idx, dtype=np.int64)


def load_training_data(config: DataConfig, seed: int) -> TrainingData:
    """Read the training (and test) files, check their levels of theory agree, and split.

    The split is drawn from ``config.split_seed`` when given, else from ``seed``; with
    ``config.bootstrap`` the training indices are then resampled with replacement from
    ``numpy.random.default_rng([seed, 1])``."""
    from pesforge.data.statistics import elements_of
    from pesforge.data.validate import check_level_of_theory

    frames = read_frames(config.train_file, config)
    test = read_frames(config.test_file, config) if config.test_file else []
    level = check_level_of_theory(frames + test, allow_mixed=config.allow_mixed_levels)
    train_idx, val_idx = split(len(frames), config,
                               seed if config.split_seed is None else config.split_seed)
    if config.bootstrap:
        draw = np.random.default_rng([seed, 1]).integers(0, len(train_idx), len(train_idx))
        train_idx = train_idx[draw]
    return TrainingData(train=[frames[i] for i in train_idx],
                        validation=[frames[i] for i in val_idx], test=test,
                        train_indices=train_idx, validation_indices=val_idx,
                        elements=[int(z) for z in elements_of(frames + test)],
                        level_of_theory=level, split_seed=config.split_seed)


def energy_scale(frames: Sequence[Frame], elements: Sequence[int],
                 reference_energies: np.ndarray) -> tuple[float, str]:
    """Typical size of per-atom energy variations, eV, and how it was obtained.

    The force RMS of the frames times 1 Å when they have forces, else the standard deviation
    of the per-atom energy left after subtracting the reference energies; 1 eV as a last resort.
    """
    from pesforge.data.statistics import energy_per_atom_residual_std, force_rms

    if any(f.forces is not None for f in frames):
        rms = float(force_rms(frames))
        if rms > 0:
            return rms, "force_rms"
    if sum(f.energy is not None for f in frames) > 1:
        std = energy_per_atom_residual_std(frames, elements, reference_energies)
        if std > 0:
            return std, "energy_residual_std_per_atom"
    return 1.0, "default"


def graphs_of(frames: Sequence[Frame], cutoff: float) -> list[Graph]:
    """Neighbour lists of every frame, computed once and reused by every epoch."""
    return [frame_graph(f, cutoff) for f in frames]


def fit_statistics(model: Potential, frames: Sequence[Frame], graphs: Sequence[Graph],
                   elements: Sequence[int], chunk: int = 64) -> dict:
    """Least-squares reference energies, energy scale and descriptor statistics from the
    training frames, set on ``model`` (via its ``fit_statistics``), and the descriptor
    statistics of learned charge heads (see :func:`fit_charge_statistics`). Returns the
    values."""
    from pesforge.data.statistics import fit_reference_energies

    fit_charge_statistics(model, frames, graphs, chunk)
    if not hasattr(model, "fit_statistics") and hasattr(model, "terms"):
        # A model plus fixed physics terms: fit the learned part to the labels minus the terms.
        from pesforge.physics.terms import learned_and_fixed, subtract_terms

        model, fixed = learned_and_fixed(model)
        frames = subtract_terms(fixed, frames)
    if not hasattr(model, "fit_statistics"):
        raise TypeError(f"{type(model).__name__} has no fit_statistics method")
    if any(f.energy is not None for f in frames):
        reference = np.asarray(fit_reference_energies(frames, list(elements)), dtype=np.float64)
    else:
        reference = np.zeros(len(elements))
    scale, source = energy_scale(frames, elements, reference)
    batches = (collate(frames[s:s + chunk], model.cutoff, dtype=model.dtype,
                       graphs=graphs[s:s + chunk]) for s in range(0, len(frames), chunk))
    model.fit_statistics(batches, reference_energies=reference, energy_scale=scale)
    return {"reference_energies_eV": {str(z): float(e) for z, e in zip(elements, reference)},
            "energy_scale_eV": scale, "energy_scale_source": source}


def fit_charge_statistics(model: Potential, frames: Sequence[Frame], graphs: Sequence[Graph],
                          chunk: int = 64) -> int:
    """Fit the per-element feature mean and std of every submodule of ``model`` that has
    ``fit_feature_statistics`` (a learned charge head,
    :class:`~pesforge.physics.charges.LearnedCharges`) on the training frames; returns how
    many were fitted."""
    heads = [m for m in model.modules() if hasattr(m, "fit_feature_statistics")]
    for head in heads:
        head.fit_feature_statistics(
            collate(frames[s:s + chunk], model.cutoff, dtype=model.dtype,
                    graphs=graphs[s:s + chunk]) for s in range(0, len(frames), chunk))
    return len(heads)


def feature_summary(model: Potential) -> dict:
    """A compact summary of a model's descriptor statistics (per element), if it has any."""
    if not hasattr(model, "feature_mean"):
        return {}
    mean: torch.Tensor = model.feature_mean.double()
    std: torch.Tensor = model.feature_std.double()
    return {"n_features": int(mean.shape[1]),
            "per_element": {str(z): {"mean_abs_mean": float(mean[k].abs().mean()),
                                     "min_std": float(std[k].min()),
                                     "max_std": float(std[k].max())}
                            for k, z in enumerate(model.elements)}}


def resolved_record(data: TrainingData, statistics: dict, model: Potential, seed: int) -> dict:
    """The derived values of a run, for ``resolved.json``."""
    from pesforge import __version__

    level = data.level_of_theory
    return {
        "pesforge_version": __version__,
        "level_of_theory": None if level is None else level.to_dict(),
        "elements": data.elements,
        **statistics,
        "features": feature_summary(model),
        "split": {"seed": seed, **({} if data.split_seed is None
                                   else {"split_seed": data.split_seed}),
                  "train_indices": data.train_indices.tolist(),
                  "validation_indices": data.validation_indices.tolist()},
        "n_frames": {"train": len(data.train), "validation": len(data.validation),
                     "test": len(data.test)},
    }
