"""The active-learning configuration: a typed pydantic tree read from YAML.

Sections: ``oracle`` (which reference method), ``committee`` (the ensemble and how it is
retrained), ``explore`` (Langevin MD with the committee), ``select`` (which explored frames are
sent to the oracle), ``labeling`` (Dask cluster and retry policy), ``stop`` (target
uncertainty and budget) and ``final`` (the production model trained on all labels).
Units: temperatures K, times fs, forces eV/Å, lengths Å.

Example (``pesforge active-learn al.yaml``; ``--resume`` after an interruption)::

    initial: ethanol.xyz          # starting structure(s), any ASE format
    oracle: {kind: pyscf, preset: rmd17}
    committee: {n_models: 4, max_epochs: 150, model: {hidden: [64, 64], dtype: float64}}
    explore: {temperatures: [300, 600, 1000], n_steps: 400, uncertainty_ceiling: 2.0,
              bias: {kind: metadynamics, atoms: [0, 2], height: 0.05, width: 0.1}}
    # or GFN2-xTB drives the MD and the committee only scores it:
    #   explore: {driver: {kind: tblite}, temperatures: [500], n_steps: 1500}
    select: {threshold: 0.05, batch_size: 16}
    labeling: {cluster: local, n_workers: 2}
    stop: {target_uncertainty: 0.03, max_oracle_calls: 200}
    final: {model: {name: equivariant}, optimizer: {max_epochs: 300}}   # the model to ship
    output: al-ethanol
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pesforge.oracles.labeling import LabelingConfig
from pesforge.training.config import (LossConfig, ModelConfig, OptimizerConfig,
                                      load_typed)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OracleSpec(_Strict):
    """The reference method.

    ``kind``: ``pyscf`` (:class:`~pesforge.oracles.PySCFOracle`; ``preset`` e.g. ``rmd17``,
    ``settings`` its :class:`~pesforge.oracles.PySCFConfig` fields), ``tblite``
    (``settings``: :class:`~pesforge.oracles.TBLiteConfig` fields), ``emt`` (ASE's EMT), or
    ``ase`` (``calculator`` = ``"module:Class"`` built with ``settings`` as keyword arguments,
    labelled with ``level_of_theory``).
    """

    kind: Literal["pyscf", "tblite", "emt", "ase"]
    preset: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    calculator: str | None = None
    level_of_theory: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "OracleSpec":
        if self.kind == "ase" and (not self.calculator or ":" not in self.calculator):
            raise ValueError("oracle.kind 'ase' needs calculator: 'module:Class'")
        if self.kind == "ase" and not self.level_of_theory:
            raise ValueError("oracle.kind 'ase' needs level_of_theory")
        if self.preset is not None and self.kind != "pyscf":
            raise ValueError("oracle.preset is only for kind 'pyscf'")
        return self


class CommitteeConfig(_Strict):
    """The committee (deep ensemble) retrained after every labelling round.

    ``n_models`` members with seeds ``seed + k``; ``warm_start`` starts iteration i's members
    from iteration i-1's weights (and statistics); ``n_validation`` frames are held out
    (shared by all members; at least 1); ``max_epochs`` per round (``first_max_epochs`` for the
    first, cold-started round, default the same).
    """

    n_models: int = Field(4, ge=2)
    model: ModelConfig = Field(default_factory=lambda: ModelConfig(hidden=[32, 32]))
    loss: LossConfig = Field(default_factory=LossConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    max_epochs: int = Field(100, ge=1)
    first_max_epochs: int | None = Field(None, ge=1)
    n_validation: int = Field(2, ge=1)
    warm_start: bool = True
    bootstrap: bool = False


class BiasConfig(_Strict):
    """Enhanced sampling during exploration.

    ``uncertainty``: the bias energy ``-strength * sigma_E`` (eV; sigma_E the committee's
    energy std) pulls trajectories towards where the committee disagrees. ``metadynamics``:
    Gaussian hills of ``height`` eV and ``width`` Å deposited every ``pace`` steps on the
    collective variable, the distance between atoms ``atoms[0]`` and ``atoms[1]`` (Å).
    """

    kind: Literal["uncertainty", "metadynamics"]
    strength: float = Field(1.0, ge=0.0)
    atoms: tuple[int, int] | None = None
    height: float = Field(0.05, gt=0.0)
    width: float = Field(0.1, gt=0.0)
    pace: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _check(self) -> "BiasConfig":
        if self.kind == "metadynamics" and self.atoms is None:
            raise ValueError("explore.bias.kind 'metadynamics' needs atoms: [i, j] (the "
                             "distance collective variable)")
        return self


class ExploreConfig(_Strict):
    """Langevin MD with the committee's mean forces, one trajectory per starting structure,
    temperature and strain.

    ``temperatures`` K; ``n_steps`` per trajectory; ``timestep`` fs; ``friction`` 1/fs;
    a frame every ``sample_every`` steps becomes a candidate; a trajectory stops when the
    max per-atom force std exceeds ``uncertainty_ceiling`` eV/Å (that frame is kept as a
    candidate). ``strains``: isotropic linear strains applied to periodic cells (0.02 = +2 %).
    ``n_starts``: starting structures per iteration (the initial ones first, then the most
    recently labelled ones).

    ``driver``: a cheap reference method (an :class:`OracleSpec`, e.g. ``{kind: tblite}`` for
    GFN2-xTB) whose forces drive the MD instead of the committee's; the committee only
    scores the sampled frames. Its trajectories follow that method's thermal distribution
    from the first round on, where the committee's own MD follows a barely trained surface.
    The ceiling then does not stop a trajectory (nothing drives into the committee's
    nonsense), and ``bias`` (which needs the committee's forces) is not allowed.
    """

    temperatures: list[float] = Field(default_factory=lambda: [300.0])
    n_steps: int = Field(200, ge=1)
    timestep: float = Field(0.5, gt=0.0)
    friction: float = Field(0.02, gt=0.0)
    sample_every: int = Field(5, ge=1)
    uncertainty_ceiling: float = Field(1.0, gt=0.0)
    strains: list[float] = Field(default_factory=lambda: [0.0])
    n_starts: int = Field(1, ge=1)
    bias: BiasConfig | None = None
    driver: OracleSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> "ExploreConfig":
        if self.driver is not None and self.bias is not None:
            raise ValueError("explore.bias needs the committee to drive the MD; it cannot be "
                             "combined with explore.driver")
        return self


class SelectConfig(_Strict):
    """Which candidates go to the oracle: those with max per-atom force std above
    ``threshold`` eV/Å, at most ``batch_size`` per iteration, spread in a feature space
    (``space``: ``fingerprint``, the radial distribution fingerprint within
    ``descriptor_cutoff`` Å, or ``committee``, the committee's last-layer gradient features)
    by ``strategy``: ``farthest_point`` (diverse, favours extremes), ``clusters`` (k-means
    representatives, typical structures), ``cluster_maxima`` (the most uncertain member of
    each k-means cluster), ``lcmd`` (largest-cluster maximum distance from the labelled data)
    or ``max_determinant`` (greedy D-optimal design); see :mod:`pesforge.active.select`."""

    threshold: float = Field(0.05, ge=0.0)
    batch_size: int = Field(8, ge=1)
    descriptor_cutoff: float = Field(5.0, gt=0.0)
    strategy: Literal["farthest_point", "clusters", "cluster_maxima", "lcmd",
                      "max_determinant"] = "farthest_point"
    space: Literal["fingerprint", "committee"] = "fingerprint"


class StopConfig(_Strict):
    """When the loop ends: the ``quantile`` of max per-atom force std over the explored frames
    falls below ``target_uncertainty`` eV/Å, ``max_oracle_calls`` requests were made, or
    ``max_iterations`` rounds ran."""

    target_uncertainty: float = Field(0.02, ge=0.0)
    quantile: float = Field(0.95, gt=0.0, le=1.0)
    max_oracle_calls: int = Field(200, ge=1)
    max_iterations: int = Field(10, ge=1)


class FinalModelConfig(_Strict):
    """The production model, trained once the loop stops on every label it bought.

    The committee only chooses frames; this is the model to ship, typically a more accurate
    architecture (``{model: {name: equivariant}, optimizer: {max_epochs: 300}}``). It is a
    ``pesforge train`` run in ``OUTPUT/final/`` (model.safetensors, metrics.json, plots,
    checkpoint: a killed run resumes); its errors on ``test_file`` go to ``OUTPUT/final.json``.
    ``validation_fraction`` of the labels is held out for model selection.
    """

    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    validation_fraction: float = Field(0.05, gt=0.0, lt=1.0)
    max_minutes: float | None = Field(None, gt=0.0)


class ActiveLearningConfig(_Strict):
    """An active-learning campaign.

    ``initial``: a structure file (any ASE format) with the starting structure(s); the first
    round labels them and ``n_initial - 1`` copies per structure rattled by ``rattle`` Å.
    ``test_file``: optional labelled frames at the oracle's level for the report's error.
    ``final``: optional production model trained on all labels when the loop stops.
    ``output``: the campaign folder (``store.db``, one ``iter_NNN/`` per round, reports).
    """

    initial: str
    oracle: OracleSpec
    committee: CommitteeConfig = Field(default_factory=CommitteeConfig)
    explore: ExploreConfig = Field(default_factory=ExploreConfig)
    select: SelectConfig = Field(default_factory=SelectConfig)
    labeling: LabelingConfig = Field(default_factory=LabelingConfig)
    stop: StopConfig = Field(default_factory=StopConfig)
    n_initial: int = Field(4, ge=1)
    rattle: float = Field(0.05, ge=0.0)
    test_file: str | None = None
    final: FinalModelConfig | None = None
    seed: int = Field(0, ge=0)
    device: str = "cpu"
    output: str = "pesforge-active"

    def to_yaml(self, path: str | os.PathLike) -> Path:
        """Write the config as YAML, atomically."""
        from pesforge.fileio import atomic_write

        text = yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
        return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def load_active_config(path: str | os.PathLike) -> ActiveLearningConfig:
    """Read an active-learning YAML config; relative file paths stay relative to the current
    folder. Raises :class:`ConfigError` naming the file and the bad fields."""
    return load_typed(ActiveLearningConfig, path)
