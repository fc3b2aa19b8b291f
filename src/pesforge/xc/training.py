"""Training the learned functional against reference energy differences.

Non-self-consistent: each state's density is fixed (from a PBE, or the current model's, SCF) and
E[theta] = E_rest + E_xc^theta[n] with E_rest = E_tot - E_xc at that density. With
``scf_every = k > 0`` the densities are re-converged with the current model every k steps
(SCF in the loop): at a converged SCF the variational principle makes dE_SCF/dtheta =
dE_xc^theta[n]/dtheta at fixed n (Hellmann–Feynman), so the gradient at each refresh is exact
(also for fixed fractional occupations, which are variational in the orbitals).

Exact conditions that are not built in enter as penalties: one-electron self-interaction
freedom E_xc[n] + J[n] = 0 (H atom, H2+), fractional-charge linearity and fractional-spin
constancy (:mod:`pesforge.xc.conditions`).

With an output folder, a checkpoint (weights, Adam state, history and the density matrices
of every state; safetensors + JSON, written atomically) follows every step, and
``resume=True`` continues from the last completed step without repeating any SCF.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field

from pesforge.xc import conditions as cond
from pesforge.xc.functional import NeuralXC, NeuralXCConfig
from pesforge.xc.pyscf_hook import make_ks
from pesforge.xc.references import Reaction, atomisation, build_mol, electron_affinity, ionisation
from pesforge.xc.samples import (  # noqa: F401
    FixedDensitySample,
    State,
    converge_state,
    prepare_sample,
    rebuild_sample,
)

HARTREE_TO_KCAL = 627.509474
CHECKPOINT = "checkpoint.safetensors"
#: Config fields a resumed run may change; anything else must match the checkpoint.
RESUMABLE_CHANGES = ("steps",)
#: Loss terms besides the fit, with the config field of their weight.
PENALTIES = {"sie": "sie_weight", "frac_charge": "frac_charge_weight",
             "frac_spin": "frac_spin_weight"}


class XCTrainConfig(BaseModel):
    """What to fit and how (energies in Hartree internally, losses in (kcal/mol)^2)."""

    model_config = ConfigDict(extra="forbid")
    reactions: list[str] = Field(default_factory=lambda: ["AE(H2)", "AE(LiH)", "IP(Li)"],
                                 description="AE(X) atomisation or IP(X) ionisation energies.")
    sie_species: list[str] = Field(default_factory=lambda: ["H", "H2+"],
                                   description="One-electron systems for the SIE penalty.")
    sie_weight: float = Field(1.0, ge=0, description="Weight of the SIE penalty.")
    frac_charge_species: list[str] = Field(
        default_factory=lambda: ["H"], description="Species X for the fractional-charge "
        "penalty E(N-1/2) - [E(N-1) + E(N)]/2 (always monitored in the history).")
    frac_charge_weight: float = Field(0.0, ge=0, description="Its weight (0: monitor only).")
    frac_spin_species: list[str] = Field(
        default_factory=lambda: ["H"], description="Species with one unpaired electron for "
        "the fractional-spin penalty E(half alpha, half beta) - E(integer spin).")
    frac_spin_weight: float = Field(0.0, ge=0, description="Its weight (0: monitor only).")
    steps: int = Field(100, ge=0)
    lr: float = Field(1e-2, gt=0)
    scf_every: int = Field(0, ge=0, description="Re-converge densities every k steps (0: never).")
    basis: str = "cc-pvdz"
    grid_level: int = Field(1, ge=0, le=9)
    seed: int = 0
    model: NeuralXCConfig = Field(default_factory=NeuralXCConfig)


def parse_reaction(text: str) -> Reaction:
    """``AE(X)``, ``IP(X)`` or ``EA(X)`` -> :class:`Reaction`."""
    kinds = {"AE": atomisation, "IP": ionisation, "EA": electron_affinity}
    head, _, rest = text.partition("(")
    if head not in kinds or not rest.endswith(")"):
        raise ValueError(f"reaction {text!r}: expected AE(species), IP(species) or EA(species)")
    return kinds[head](rest[:-1])


@dataclass
class XCTrainResult:
    """The trained model, one history record per step, and the final samples by state name."""

    model: NeuralXC
    history: list[dict]
    samples: dict[str, FixedDensitySample]


@dataclass
class TrainingProblem:
    """What a config fixes: the reactions, the exact conditions of each penalty, the
    one-electron SIE states, every state to converge (by name) and each species' molecule."""

    reactions: list[Reaction]
    conditions: dict[str, list[cond.Condition]]
    sie_states: list[State]
    states: dict[str, State]
    mols: dict[str, object]


def build_problem(config: XCTrainConfig, references: dict[str, float]) -> TrainingProblem:
    """Parse and check the config's targets against ``references`` (species -> Ha)."""
    reactions = [parse_reaction(r) for r in config.reactions]
    missing = [sp for r in reactions for sp, _ in r.terms if sp not in references]
    if missing:
        raise KeyError(f"no reference energy for {sorted(set(missing))} (needed by reactions)")
    species = ({sp for r in reactions for sp, _ in r.terms} | set(config.sie_species)
               | set(config.frac_charge_species) | set(config.frac_spin_species))
    mols = {sp: build_mol(sp, config.basis) for sp in sorted(species)}
    for sp in config.sie_species:
        if mols[sp].nelectron != 1:
            raise ValueError(f"SIE penalty species {sp!r} has {mols[sp].nelectron} electrons")
    conditions = {"frac_charge": [cond.fractional_charge(sp, mols[sp])
                                  for sp in config.frac_charge_species],
                  "frac_spin": [cond.fractional_spin(sp, mols[sp])
                                for sp in config.frac_spin_species]}
    states = [State(sp) for r in reactions for sp, _ in r.terms]
    states += [State(sp) for sp in config.sie_species]
    states += [st for group in conditions.values() for c in group for st in c.states]
    return TrainingProblem(reactions=reactions, conditions=conditions,
                           sie_states=[State(sp) for sp in config.sie_species],
                           states={st.name: st for st in states}, mols=mols)


def loss_terms(model: NeuralXC, problem: TrainingProblem, references: dict[str, float],
               samples: dict[str, FixedDensitySample]) -> dict[str, torch.Tensor]:
    """Mean squares ((kcal/mol)^2, 0-d tensors) of the reaction-energy errors ('fit') and of
    each penalty ('sie': E_xc + J of one-electron states; 'frac_charge', 'frac_spin': the
    condition deviations), at the samples' fixed densities."""

    def mean_square(values):
        if not values:
            return torch.zeros((), dtype=torch.float64)
        return (torch.stack(list(values)) * HARTREE_TO_KCAL).pow(2).mean()

    energies = {}

    def energy(name):
        if name not in energies:
            energies[name] = samples[name].energy(model)
        return energies[name]

    terms = {"fit": mean_square([sum(c * (energy(sp) - references[sp]) for sp, c in r.terms)
                                 for r in problem.reactions]),
             "sie": mean_square([samples[st.name].xc_energy(model) + samples[st.name].coulomb
                                 for st in problem.sie_states])}
    for key, group in problem.conditions.items():
        terms[key] = mean_square([cond.deviation(c, samples, model) for c in group])
    return terms


def train_xc(config: XCTrainConfig, references: dict[str, float],
             output: str | Path | None = None, resume: bool = False,
             callback: Callable[[dict], None] | None = None) -> XCTrainResult:
    """Fit a :class:`NeuralXC` to ``references`` (species -> total energy, Ha).

    With ``output``, write ``checkpoint.safetensors`` after every step and ``xc.safetensors``
    and ``history.json`` at the end (all atomically); ``resume`` continues from the checkpoint
    (the config may differ only in :data:`RESUMABLE_CHANGES`), rebuilding the samples from the
    stored density matrices. ``callback(record)`` runs after each step's checkpoint.
    """
    checkpoint = None if output is None else Path(output) / CHECKPOINT
    if resume and (checkpoint is None or not checkpoint.is_file()):
        raise FileNotFoundError(f"cannot resume: {checkpoint} does not exist")
    if not resume and checkpoint is not None and checkpoint.exists():
        raise ValueError(f"{output} already holds an XC training run; resume it or choose "
                         f"another output folder")
    torch.manual_seed(config.seed)
    problem = build_problem(config, references)
    model = NeuralXC(config.model)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    if resume:
        start, history, samples = _restore(checkpoint, config, problem, model, opt)
    else:
        start, history = 0, []
        samples = _converge_all(problem, None, config.grid_level, {})
    t0 = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    for step in range(start, config.steps):
        if config.scf_every and step and step % config.scf_every == 0:
            samples = _converge_all(problem, model, config.grid_level, samples)
        terms = loss_terms(model, problem, references, samples)
        loss = terms["fit"] + sum(getattr(config, w) * terms[k] for k, w in PENALTIES.items())
        opt.zero_grad()
        loss.backward()
        opt.step()
        record = {"step": step, "fit_rmse_kcal": float(terms["fit"].detach().sqrt())}
        record.update({f"{k}_rms_kcal": float(terms[k].detach().sqrt()) for k in PENALTIES})
        record["seconds"] = round(time.perf_counter() - t0, 3)
        history.append(record)
        if checkpoint is not None:
            _save(checkpoint, config, step + 1, model, opt, history, samples)
        if callback is not None:
            callback(record)
    if output is not None:
        from pesforge.fileio import write_json
        from pesforge.xc.functional import save_functional

        save_functional(model, Path(output) / "xc.safetensors",
                        extra={"train_config": config.model_dump()})
        write_json(Path(output) / "history.json", history)
    return XCTrainResult(model=model, history=history, samples=samples)


def _converge_all(problem: TrainingProblem, model, grid_level: int, previous: dict
                  ) -> dict[str, FixedDensitySample]:
    """Every state converged with ``model`` (None: PBE), starting from the previous density."""
    return {name: converge_state(st, problem.mols[st.species], model, grid_level,
                                 previous[name].dm if name in previous else None)
            for name, st in problem.states.items()}


def _save(path: Path, config, completed: int, model, opt, history, samples) -> None:
    from pesforge.training.checkpoint import save_checkpoint

    save_checkpoint(path, {
        "kind": "pesforge.xc training", "config": config.model_dump(), "completed": completed,
        "model": model.state_dict(), "optimizer": opt.state_dict(), "history": history,
        "dms": {k: torch.from_numpy(s.dm.copy()) for k, s in samples.items()},
        "converged": {k: s.converged for k, s in samples.items()}})


def _restore(path: Path, config, problem: TrainingProblem, model, opt):
    """``(completed steps, history, samples)`` from a checkpoint; loads model and Adam."""
    from pesforge.training.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    if state.get("kind") != "pesforge.xc training":
        raise ValueError(f"{path} is not an XC training checkpoint")
    saved, current = dict(state["config"]), config.model_dump()
    changed = sorted(k for k in set(saved) | set(current)
                     if saved.get(k) != current.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        raise ValueError(f"cannot resume {path}: the config differs ({detail})")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    samples = {name: rebuild_sample(st, problem.mols[st.species], state["dms"][name].numpy(),
                                    config.grid_level, state["converged"][name])
               for name, st in problem.states.items()}
    return state["completed"], state["history"], samples

def scf_energies(model: NeuralXC | None, names, basis: str = "cc-pvdz", grid_level: int = 1
                 ) -> dict[str, dict]:
    """Self-consistent total energies (Ha), convergence and SCF cycle counts per species."""
    out = {}
    for name in names:
        mf = make_ks(build_mol(name, basis), model, grid_level=grid_level, conv_tol=1e-9)
        mf.kernel()
        out[name] = {"energy": float(mf.e_tot), "converged": bool(mf.converged),
                     "cycles": int(getattr(mf, "cycles", -1))}
    return out


def reaction_errors(energies: dict[str, float], references: dict[str, float], reactions
                    ) -> dict[str, float]:
    """Predicted minus reference reaction energy (kcal/mol) for each reaction text."""
    out = {}
    for text in reactions:
        r = parse_reaction(text)
        out[text] = HARTREE_TO_KCAL * sum(
            c * (energies[sp] - references[sp]) for sp, c in r.terms)
    return out
