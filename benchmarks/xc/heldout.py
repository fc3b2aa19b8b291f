"""Held-out benchmark of the learned functional vs PBE (cc-pVDZ, CCSD(T)/cc-pVDZ references).

Trains on a few atomisation energies and IPs (with the one-electron SIE penalty and, if asked,
the fractional-charge / fractional-spin penalties), then reports, self-consistently:
MAE of held-out atomisation energies, IPs and electron affinities; each held-out reaction with
the unseen ions and radicals it involves; SCF iterations per species (learned vs PBE); and the
exact conditions (H and H2+ errors, fractional charge and spin of H and of the unseen Li).

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/xc/heldout.py [--steps 80] [--rung MGGA]
        [--sie-weight 1] [--frac-charge-weight 0] [--frac-spin-weight 0] [--scf-every 0]

PBE's self-consistent results are cached in ``--pbe-cache`` (they do not depend on the run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pesforge.xc import conditions as cond
from pesforge.xc.references import SPECIES, build_mol, load_references
from pesforge.xc.samples import make_state_ks
from pesforge.xc.training import (
    HARTREE_TO_KCAL,
    XCTrainConfig,
    parse_reaction,
    reaction_errors,
    scf_energies,
    train_xc,
)

TRAIN = ["AE(H2)", "AE(LiH)", "AE(CH4)", "AE(H2O)", "IP(Li)", "IP(C)"]
HELDOUT = {"atomisation": ["AE(NH3)", "AE(HF)", "AE(N2)", "AE(CO)", "AE(OH)", "AE(CN)"],
           "ionisation": ["IP(N)", "IP(O)", "IP(H2O)", "IP(NH3)"],
           "electron affinity": ["EA(OH)", "EA(F)"]}
CONDITION_SPECIES = ("H", "Li")


def species_of(reactions) -> set[str]:
    return {sp for text in reactions for sp, _ in parse_reaction(text).terms}


def kind(name: str) -> str:
    """closed shell / radical / cation / anion of a species."""
    _, charge, two_s = SPECIES[name]
    return "cation" if charge > 0 else "anion" if charge < 0 else \
        "radical" if two_s else "closed shell"


def condition_deviations(model) -> dict[str, float]:
    """Self-consistent fractional-charge and fractional-spin deviations (kcal/mol)."""
    out = {}
    for sp in CONDITION_SPECIES:
        mol = build_mol(sp)
        for c in (cond.fractional_charge(sp, mol), cond.fractional_spin(sp, mol)):
            total = 0.0
            for state, coef in c.terms:
                if sum(state.occupation) == 0:
                    total += coef * mol.energy_nuc()
                    continue
                mf = make_state_ks(mol, state.occupation, model, grid_level=1, conv_tol=1e-9)
                total += coef * mf.kernel()
            out[c.name] = HARTREE_TO_KCAL * total
    return out


def evaluate(model, names, refs, train_species) -> dict:
    """SCF energies, reaction errors and conditions of one functional (None: PBE)."""
    res = scf_energies(model, names)
    energies = {k: v["energy"] for k, v in res.items()}
    everything = TRAIN + [r for group in HELDOUT.values() for r in group]
    return {"scf": res, "errors": reaction_errors(energies, refs, everything),
            "H error": HARTREE_TO_KCAL * (energies["H"] - refs["H"]),
            "H2+ error": HARTREE_TO_KCAL * (energies["H2+"] - refs["H2+"]),
            "conditions": condition_deviations(model)}


def mae(errors, reactions) -> float:
    return float(np.mean([abs(errors[r]) for r in reactions]))


def report(results: dict, train_species: set[str]) -> None:
    pbe, ml = results["PBE"], results["learned"]
    print(f"\n{'MAE vs CCSD(T) (kcal/mol)':<40}{'PBE':>9}{'learned':>9}")
    rows = [("training set", TRAIN)] + [(f"held-out {g}", r) for g, r in HELDOUT.items()]
    held = [r for group in HELDOUT.values() for r in group]
    unseen = lambda r: sorted(species_of([r]) - train_species)  # noqa: E731
    rows.append(("held-out, involving an unseen ion",
                 [r for r in held if any(kind(s) in ("cation", "anion") for s in unseen(r))]))
    rows.append(("held-out, involving an unseen radical",
                 [r for r in held if any(kind(s) == "radical" for s in unseen(r))]))
    for label, reactions in rows:
        print(f"{label:<40}{mae(pbe['errors'], reactions):>9.2f}"
              f"{mae(ml['errors'], reactions):>9.2f}")
    print(f"\n{'held-out':<12}{'unseen ions / radicals':<30}{'PBE':>9}{'learned':>9}")
    for r in held:
        tags = ", ".join(f"{s} ({kind(s)})" for s in unseen(r) if kind(s) != "closed shell")
        print(f"{r:<12}{tags:<30}{pbe['errors'][r]:>9.2f}{ml['errors'][r]:>9.2f}")
    print(f"\n{'exact conditions, SCF (kcal/mol)':<40}{'PBE':>9}{'learned':>9}")
    for key in ("H error", "H2+ error"):
        print(f"{key:<40}{pbe[key]:>9.2f}{ml[key]:>9.2f}")
    for key in pbe["conditions"]:
        print(f"{key + ' deviation':<40}{pbe['conditions'][key]:>9.2f}"
              f"{ml['conditions'][key]:>9.2f}")
    print(f"\n{'SCF cycles (1e-9)':<26}{'kind':<14}{'train':<7}{'PBE':>5}{'learned':>8}")
    for name in pbe["scf"]:
        print(f"{name:<26}{kind(name):<14}{'yes' if name in train_species else 'no':<7}"
              f"{pbe['scf'][name]['cycles']:>5}{ml['scf'][name]['cycles']:>8}")
    for group in ("closed shell", "radical", "cation", "anion", None):
        names = [n for n in pbe["scf"] if group is None or kind(n) == group]
        pbe_mean, ml_mean = (np.mean([res["scf"][n]["cycles"] for n in names])
                             for res in (pbe, ml))
        print(f"{'mean, ' + (group or 'all'):<47}{pbe_mean:>5.2f}{ml_mean:>8.2f}")
    for label, res in results.items():
        bad = [n for n, v in res["scf"].items() if not v["converged"]]
        print(f"unconverged ({label}): {bad or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--scf-every", type=int, default=0)
    parser.add_argument("--rung", default="GGA", choices=["GGA", "MGGA"])
    parser.add_argument("--sie-weight", type=float, default=1.0)
    parser.add_argument("--frac-charge-weight", type=float, default=0.0)
    parser.add_argument("--frac-spin-weight", type=float, default=0.0)
    parser.add_argument("--output", default="runs/xc_benchmark")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--pbe-cache", default="runs/xc_benchmark_pbe.json")
    args = parser.parse_args()
    refs = load_references()
    t0 = time.perf_counter()
    cfg = XCTrainConfig(reactions=TRAIN, steps=args.steps, lr=1e-2, scf_every=args.scf_every,
                        sie_weight=args.sie_weight, frac_charge_weight=args.frac_charge_weight,
                        frac_spin_weight=args.frac_spin_weight, model={"rung": args.rung})
    result = train_xc(cfg, refs, output=args.output, resume=args.resume)
    last = result.history[-1]
    print(f"training: {args.rung}, {args.steps} steps, scf_every={args.scf_every}, weights "
          f"SIE {args.sie_weight} / frac. charge {args.frac_charge_weight} / frac. spin "
          f"{args.frac_spin_weight}, {time.perf_counter() - t0:.0f} s; final (fixed-density) "
          f"fit RMSE {last['fit_rmse_kcal']:.2f}, SIE RMS {last['sie_rms_kcal']:.2f}, FC(H) "
          f"{last['frac_charge_rms_kcal']:.2f}, FS(H) {last['frac_spin_rms_kcal']:.2f} kcal/mol")
    everything = TRAIN + [r for group in HELDOUT.values() for r in group]
    names = sorted(species_of(everything) | {"H", "H2+"})
    train_species = species_of(TRAIN) | set(cfg.sie_species)
    cache = Path(args.pbe_cache)
    if cache.is_file():
        pbe = json.loads(cache.read_text())
    else:
        pbe = evaluate(None, names, refs, train_species)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(pbe, indent=1))
    t1 = time.perf_counter()
    results = {"PBE": pbe, "learned": evaluate(result.model, names, refs, train_species)}
    print(f"learned-functional SCF evaluation: {time.perf_counter() - t1:.0f} s")
    report(results, train_species)
    Path(args.output, "benchmark.json").write_text(json.dumps(
        {"args": vars(args), "history_last": last, **results}, indent=1))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
