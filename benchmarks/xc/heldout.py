"""Held-out benchmark of the learned functional vs PBE (cc-pVDZ, CCSD(T)/cc-pVDZ references).

Trains on a few atomisation energies and IPs (with the one-electron SIE penalty), then reports,
self-consistently, MAE of held-out atomisation energies, IPs and electron affinities (ions and
radicals not in training), the H atom error, and SCF iterations, for PBE and the learned model.

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/xc/heldout.py [--steps 150] [--scf-every 0]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from pesforge.xc.references import load_references
from pesforge.xc.training import (XCTrainConfig, parse_reaction, reaction_errors, scf_energies,
                                  train_xc)

TRAIN = ["AE(H2)", "AE(LiH)", "AE(CH4)", "AE(H2O)", "IP(Li)", "IP(C)"]
HELDOUT = {"atomisation": ["AE(NH3)", "AE(HF)", "AE(N2)", "AE(CO)", "AE(OH)", "AE(CN)"],
           "ionisation": ["IP(N)", "IP(O)", "IP(H2O)", "IP(NH3)"],
           "electron affinity": ["EA(OH)", "EA(F)"]}


def _species(reactions):
    from pesforge.xc.references import electron_affinity

    out = set()
    for text in reactions:
        r = electron_affinity(text[3:-1]) if text.startswith("EA") else parse_reaction(text)
        out |= {sp for sp, _ in r.terms}
    return sorted(out)


def _errors(energies, refs, reactions):
    from pesforge.xc.references import electron_affinity

    out = {}
    for text in reactions:
        if text.startswith("EA"):
            r = electron_affinity(text[3:-1])
            out[text] = 627.509474 * sum(c * (energies[s] - refs[s]) for s, c in r.terms)
        else:
            out.update(reaction_errors(energies, refs, [text]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--scf-every", type=int, default=0)
    parser.add_argument("--output", default="runs/xc_benchmark")
    args = parser.parse_args()
    refs = load_references()
    t0 = time.perf_counter()
    cfg = XCTrainConfig(reactions=TRAIN, steps=args.steps, lr=1e-2, scf_every=args.scf_every)
    result = train_xc(cfg, refs, output=args.output)
    print(f"training: {args.steps} steps, scf_every={args.scf_every}, "
          f"{time.perf_counter() - t0:.0f} s; final fit RMSE "
          f"{result.history[-1]['fit_rmse_kcal']:.2f} kcal/mol, SIE RMS "
          f"{result.history[-1]['sie_rms_kcal']:.2f} kcal/mol")
    everything = TRAIN + [r for group in HELDOUT.values() for r in group]
    names = sorted(set(_species(everything)) | {"H"})
    summary = {}
    for label, model in (("PBE", None), ("learned", result.model)):
        res = scf_energies(model, names)
        energies = {k: v["energy"] for k, v in res.items()}
        row = {"train MAE": np.mean(np.abs(list(_errors(energies, refs, TRAIN).values())))}
        for group, reactions in HELDOUT.items():
            row[f"held-out {group} MAE"] = np.mean(np.abs(list(
                _errors(energies, refs, reactions).values())))
        row["H atom error"] = 627.509474 * (energies["H"] - refs["H"])
        row["mean SCF cycles"] = float(np.mean([v["cycles"] for v in res.values()]))
        row["unconverged"] = [k for k, v in res.items() if not v["converged"]]
        summary[label] = row
    print(f"{'(kcal/mol)':<30}{'PBE':>10}{'learned':>10}")
    for key in summary["PBE"]:
        if key == "unconverged":
            continue
        print(f"{key:<30}{summary['PBE'][key]:>10.2f}{summary['learned'][key]:>10.2f}")
    print("unconverged:", json.dumps({k: v["unconverged"] for k, v in summary.items()}))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
