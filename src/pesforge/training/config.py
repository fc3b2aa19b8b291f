"""The training configuration: a typed pydantic tree that maps onto constructors.

``TrainConfig`` is read from YAML (:func:`load_config`), with command-line flags applied as
overrides on top; extra keys are rejected so that a typo fails instead of being ignored.
Values derived from the data (reference energies, energy scale, split indices) are not part of
the config: they go into ``resolved.json`` beside the model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(ValueError):
    """A configuration file or value that cannot be used (one-line message)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    """Where the labelled frames come from and how they are split.

    ``n_validation`` (a count) takes precedence over ``validation_fraction`` when given.
    ``charges_key``, ``dipole_key`` and ``total_charge_key`` name the optional reference
    charges (e), dipoles (e·Å) and net charges (e) in the files (see
    :func:`pesforge.data.read`); net charges, when present, are conserved by charge models.
    ``split_seed`` fixes the train/validation split independently of the run's seed (an
    ensemble's members share one split); ``bootstrap`` resamples the training frames with
    replacement, drawn from the run's seed (bagging).
    """

    train_file: str
    test_file: str | None = None
    validation_fraction: float = Field(0.05, gt=0.0, lt=1.0)
    n_validation: int | None = Field(None, ge=1)
    energy_key: str = "energy"
    forces_key: str = "forces"
    stress_key: str = "stress"
    charges_key: str = "charges"
    dipole_key: str = "dipole"
    total_charge_key: str = "total_charge"
    level_of_theory: str | None = None
    allow_mixed_levels: bool = False
    split_seed: int | None = Field(None, ge=0)
    bootstrap: bool = False


#: The names of :data:`pesforge.physics.radial.RADIAL_BASES` and ``ENVELOPES``.
RadialBasis = Literal["bessel", "gaussian"]
Envelope = Literal["polynomial", "cosine"]


class PaiNNConfig(_Strict):
    """PaiNN settings (``model.painn``); the cutoff is ``model.cutoff`` (Å) and the activation
    ``model.activation``. See :class:`pesforge.models.painn.PaiNN`."""

    features: int = Field(128, ge=1)
    interactions: int = Field(3, ge=1)
    n_radial: int = Field(20, ge=1)
    envelope_p: int = Field(6, ge=2)
    radial_basis: RadialBasis = "bessel"
    envelope: Envelope = "polynomial"


class EquivariantConfig(_Strict):
    """Settings of the e3nn equivariant model (``model.equivariant``); the cutoff is
    ``model.cutoff`` (Å). See :class:`pesforge.models.equivariant.EquivariantPotential`."""

    channels: int = Field(64, ge=1)
    lmax: int = Field(2, ge=0, le=4)
    interactions: int = Field(2, ge=1)
    correlation: int = Field(3, ge=1, le=4)
    n_radial: int = Field(8, ge=1)
    envelope_p: int = Field(6, ge=2)
    radial_hidden: int = Field(64, ge=1)
    readout_hidden: int = Field(16, ge=1)
    radial_basis: RadialBasis = "bessel"
    envelope: Envelope = "polynomial"


class CoreRepulsionConfig(_Strict):
    """Blend the model into a pair-repulsion ``prior`` (a term entry, ``{"name": "zbl"}`` or
    ``{"name": "inverse_power_repulsion", ...}``) below ``radii_scale`` x the shortest distance
    of each element pair in the training data (:class:`~pesforge.physics.CoreRepulsion`);
    pairs absent from the data keep the prior's covalent-radius default."""

    prior: dict[str, Any] = Field(default_factory=lambda: {"name": "zbl"})
    radii_scale: float = Field(0.95, gt=0.0, le=1.0)


class ModelConfig(_Strict):
    """The potential to train; ``name`` selects a builder (see :mod:`pesforge.training.factory`).

    The remaining fields are the Behler–Parrinello settings: ``cutoff`` and ``angular_cutoff``
    in Å (angular defaults to min(cutoff, 3.5 Å)), ``n_radial`` G2 shells, ``n_angular_shells``
    G4/G5 shells, angular exponents ``zetas`` (default 1, 2, 4, 8, 16), per-element MLP widths
    ``hidden`` and the weights' ``dtype``.
    """

    name: str = "bpnn"
    cutoff: float = Field(5.2, gt=0.0)
    angular_cutoff: float | None = Field(None, gt=0.0)
    n_radial: int = Field(16, ge=1)
    n_angular_shells: int = Field(4, ge=1)
    angular_kind: Literal["g4", "g5"] = "g5"
    zetas: list[float] | None = None
    hidden: list[int] = Field(default_factory=lambda: [128, 64])
    activation: str = "silu"
    dtype: Literal["float32", "float64"] = "float32"
    #: Physics terms added to the model, each ``{"name": <registered potential>, **kwargs}``,
    #: e.g. ``[{"name": "zbl"}, {"name": "d3", "method": "pbe"}]`` (see pesforge.physics).
    terms: list[dict[str, Any]] = Field(default_factory=list)
    #: Short-range takeover by a repulsive prior where the training data has no pairs.
    core_repulsion: CoreRepulsionConfig | None = None
    #: Per-architecture settings of the message-passing models (``name: painn|equivariant``).
    painn: PaiNNConfig = Field(default_factory=PaiNNConfig)
    equivariant: EquivariantConfig = Field(default_factory=EquivariantConfig)

    @model_validator(mode="after")
    def _check(self) -> "ModelConfig":
        from pesforge.nn.mlp import ACTIVATIONS
        from pesforge.training.factory import BUILDERS

        for entry in self.terms:
            from pesforge.physics.terms import build_term

            build_term(entry)  # unknown names or arguments fail here, naming the term
        if self.core_repulsion is not None:
            from pesforge.physics.terms import build_term

            prior = build_term(self.core_repulsion.prior)
            if not hasattr(prior, "switch_radii"):
                raise ValueError(f"core_repulsion.prior must be a pair repulsion (zbl, "
                                 f"inverse_power_repulsion), got {prior.name!r}")

        if self.name not in BUILDERS:
            raise ValueError(f"unknown model {self.name!r}; known: {sorted(BUILDERS)}")
        if self.angular_cutoff is not None and self.angular_cutoff > self.cutoff:
            raise ValueError("angular_cutoff must not exceed cutoff")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
        if any(h < 1 for h in self.hidden):
            raise ValueError("hidden layer widths must be positive")
        return self


class NoiseConfig(_Strict):
    """Label noise; the loss weights become 1/sigma² (a Gaussian maximum-likelihood loss).

    ``sigma_energy_per_atom`` eV/atom, ``sigma_forces`` eV/Å per component, ``sigma_stress``
    eV/Å³ per component.
    """

    sigma_energy_per_atom: float = Field(gt=0.0)
    sigma_forces: float = Field(gt=0.0)
    sigma_stress: float = Field(1.0, gt=0.0)


class LossConfig(_Strict):
    """Weights of the mean-squared errors of per-atom energy, forces and stress, given either
    directly or as label noise (``noise``); the two forms are mutually exclusive.

    Defaults when neither is given: energy 1, forces 100, stress 1 (squared errors of eV/atom,
    eV/Å and eV/Å³; forces dominate, as in MACE's default weighting).

    ``kind``: ``mse`` (the above) or ``gaussian_nll``, which adds a variance head
    (:class:`pesforge.uncertainty.noise.NoiseHead`, hidden widths ``variance_hidden``) and
    trains energies and forces by their Gaussian negative log-likelihood with the predicted
    (aleatoric) variances; the weights then multiply mean NLLs. ``noise`` fixes the variances
    instead, so it cannot be combined with ``gaussian_nll``.

    ``charges_weight`` (1/e²) and ``dipole_weight`` (1/(e·Å)²), default 0, weight mean-squared
    errors of the atomic charges and dipole components of the model's charge model (a
    ``coulomb`` term in ``model.terms``) against reference charges / dipoles in the data;
    each is active only for frames with such labels (always mean-squared errors, also beside
    ``noise`` or ``gaussian_nll``). Dipoles sum_i q_i r_i about the coordinate origin are
    defined for molecules only: a dipole weight > 0 with dipole labels on periodic frames is
    an error. In YAML::

        loss: {energy_weight: 1, forces_weight: 100, dipole_weight: 10, charges_weight: 0}
    """

    energy_weight: float | None = Field(None, ge=0.0)
    forces_weight: float | None = Field(None, ge=0.0)
    stress_weight: float | None = Field(None, ge=0.0)
    charges_weight: float = Field(0.0, ge=0.0)
    dipole_weight: float = Field(0.0, ge=0.0)
    noise: NoiseConfig | None = None
    kind: Literal["mse", "gaussian_nll"] = "mse"
    variance_hidden: list[int] = Field(default_factory=lambda: [32])

    @model_validator(mode="after")
    def _exclusive(self) -> "LossConfig":
        given = [n for n in ("energy_weight", "forces_weight", "stress_weight")
                 if getattr(self, n) is not None]
        if self.kind == "gaussian_nll" and self.noise is not None:
            raise ValueError("loss.noise fixes the label variances; kind gaussian_nll learns "
                             "them: give one, not both")
        if any(h < 1 for h in self.variance_hidden):
            raise ValueError("variance_hidden widths must be positive")
        if self.noise is not None and given:
            raise ValueError(f"give either loss.noise or loss weights, not both (got noise and "
                             f"{', '.join(given)})")
        return self

    def weights(self) -> tuple[float, float, float]:
        """(energy, forces, stress) weights actually used."""
        if self.noise is not None:
            n = self.noise
            return (1.0 / n.sigma_energy_per_atom**2, 1.0 / n.sigma_forces**2,
                    1.0 / n.sigma_stress**2)
        return (1.0 if self.energy_weight is None else self.energy_weight,
                100.0 if self.forces_weight is None else self.forces_weight,
                1.0 if self.stress_weight is None else self.stress_weight)


class SchedulerConfig(_Strict):
    """The learning-rate schedule, by ``kind``:

    ``plateau`` (ReduceLROnPlateau on the validation loss): multiply the learning rate by
    ``factor`` after ``patience`` epochs without improvement, never below ``min_lr``;
    ``cosine``: from ``optimizer.lr`` down to ``min_lr`` along half a cosine over
    ``optimizer.max_epochs`` epochs (a fixed, annealed end point whatever the noise of the
    validation loss; set ``max_epochs`` to the epochs the budget allows)."""

    kind: Literal["plateau", "cosine"] = "plateau"
    factor: float = Field(0.5, gt=0.0, lt=1.0)
    patience: int = Field(10, ge=0)
    min_lr: float = Field(1e-6, ge=0.0)


class OptimizerConfig(_Strict):
    """AdamW with gradient clipping, an exponential moving average of the weights (used for
    validation and the saved model), plateau scheduling and early stopping."""

    lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    batch_size: int = Field(16, ge=1)
    grad_clip: float | None = Field(10.0, gt=0.0)
    ema_decay: float | None = Field(0.99, ge=0.0, lt=1.0)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    early_stopping_patience: int | None = Field(50, ge=1)
    max_epochs: int = Field(1000, ge=1)


class BaselineConfig(_Strict):
    """Δ-learning baseline (see :mod:`pesforge.training.baseline`): the model learns
    ``label - baseline`` and the saved model predicts ``baseline + Δ``.

    Give exactly one source: ``model`` (a pesforge model file, frozen; the saved model is the
    composite), ``oracle`` (``{"kind": "tblite" | "pyscf", "config": {...}}``; frames are
    labelled once, in parallel as ``labeling`` (a :class:`~pesforge.oracles.labeling.
    LabelingConfig` dict) says, and the saved model is oracle + Δ) or ``energy_key``
    (low-level labels stored in the data files, with optional ``forces_key``, ``stress_key``).
    """

    model: str | None = None
    oracle: dict[str, Any] | None = None
    labeling: dict[str, Any] = Field(default_factory=dict)
    energy_key: str | None = None
    forces_key: str | None = None
    stress_key: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "BaselineConfig":
        if sum(x is not None for x in (self.model, self.oracle, self.energy_key)) != 1:
            raise ValueError("give exactly one of baseline.model, baseline.oracle or "
                             "baseline.energy_key")
        if self.oracle is not None:
            from pesforge.models.oracle_term import ORACLE_KINDS

            if self.oracle.get("kind") not in ORACLE_KINDS:
                raise ValueError(f"baseline.oracle.kind must be one of {sorted(ORACLE_KINDS)}")
        if self.energy_key is None and (self.forces_key or self.stress_key):
            raise ValueError("baseline.forces_key/stress_key go with baseline.energy_key")
        return self

    @classmethod
    def parse(cls, text: str) -> "BaselineConfig":
        """From the command line: a model file path, ``labels:ENERGY[,FORCES[,STRESS]]``,
        ``oracle:tblite`` or ``oracle:pyscf[:PRESET]`` (e.g. ``oracle:pyscf:rmd17``)."""
        if text.startswith("labels:"):
            keys = [k.strip() or None for k in text.removeprefix("labels:").split(",")]
            if not keys[0] or len(keys) > 3:
                raise ValueError(f"--baseline {text!r}: expected a model file or "
                                 f"labels:ENERGY[,FORCES[,STRESS]]")
            return cls(**dict(zip(("energy_key", "forces_key", "stress_key"), keys)))
        if text.startswith("oracle:"):
            kind, _, preset = text.removeprefix("oracle:").partition(":")
            if kind == "pyscf" and preset:
                from pesforge.oracles.pyscf_oracle import PRESETS

                if preset not in PRESETS:
                    raise ValueError(f"--baseline {text!r}: unknown PySCF preset {preset!r}; "
                                     f"known: {sorted(PRESETS)}")
                return cls(oracle={"kind": kind, "config": PRESETS[preset]})
            return cls(oracle={"kind": kind, "config": {}})
        return cls(model=text)


class TrainConfig(_Strict):
    """Everything a training run needs. ``max_minutes`` limits the wall time of one
    invocation (a resumed run gets a fresh budget); ``output`` is the run folder.

    ``feature_cache``: when the model has fixed features (BPNN) and the frames are small
    molecules without stress labels, precompute features and their Jacobians once and train
    on them (:mod:`pesforge.training.feature_cache`; same forces, fewer operations per step;
    CPU only).
    """

    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    baseline: BaselineConfig | None = None
    max_minutes: float | None = Field(None, gt=0.0)
    seed: int = Field(0, ge=0)
    device: str = "cpu"
    feature_cache: bool = True
    output: str = "pesforge-run"

    def to_yaml(self, path: str | os.PathLike) -> Path:
        """Write the config as YAML, atomically."""
        from pesforge.fileio import atomic_write

        text = yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

        def write(tmp: str) -> None:
            Path(tmp).write_text(text)

        return atomic_write(path, write)


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree["a"]["b"] = value`` for ``dotted = "a.b"``, creating levels as needed."""
    *parents, leaf = dotted.split(".")
    node = tree
    for p in parents:
        child = node.setdefault(p, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {dotted}: {p} is not a section")
        node = child
    node[leaf] = value


def format_validation_error(err: ValidationError) -> str:
    """One line naming each bad field: ``loss: give either ...; data.train_file: missing``."""
    parts = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"]) or "config"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        if e["type"] == "missing" and e["loc"] == ("data",):
            where, msg = "data.train_file", "required (the training data file)"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def load_typed(model: type[BaseModel], path: str | os.PathLike | None = None,
               overrides: dict[str, Any] | None = None):
    """Read a YAML file (optional) into the pydantic ``model``, after applying ``overrides``
    (dotted keys such as ``"data.train_file"``; ``None`` values are ignored).

    Raises:
        ConfigError: a missing file, unreadable YAML, or values pydantic rejects (the message
            names the file and each bad field).
    """
    tree: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            tree = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path} is not valid YAML: {err}".replace("\n", " ")) from err
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: the top level of a config must be a mapping")
    for key, value in (overrides or {}).items():
        if value is not None:
            set_dotted(tree, key, value)
    try:
        return model.model_validate(tree)
    except ValidationError as err:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}invalid config: {format_validation_error(err)}") from err


def load_config(path: str | os.PathLike | None = None,
                overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A :class:`TrainConfig` from a YAML file and overrides (see :func:`load_typed`)."""
    return load_typed(TrainConfig, path, overrides)
