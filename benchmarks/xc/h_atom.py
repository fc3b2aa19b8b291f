"""Which penalty fixes the H-atom error of the learned functional? Trains the held-out
benchmark's functional (same targets and steps) with several penalty settings and reports the
fit (fixed-density RMSE over the training reactions) and, self-consistently, the H and H2+
total-energy errors and the fractional-charge / fractional-spin deviations of H.

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/xc/h_atom.py --steps 80 \
        [--variants baseline,sie10,frac_spin,mgga]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pesforge.xc import conditions as cond
from pesforge.xc.references import build_mol, load_references
from pesforge.xc.samples import make_state_ks
from pesforge.xc.training import HARTREE_TO_KCAL, XCTrainConfig, scf_energies, train_xc

TRAIN = ["AE(H2)", "AE(LiH)", "AE(CH4)", "AE(H2O)", "IP(Li)", "IP(C)"]
VARIANTS = {
    "baseline": {},  # SIE weight 1, as in the held-out benchmark
    "sie10": {"sie_weight": 10.0},
    "frac_spin": {"frac_spin_weight": 1.0},
    "frac_both": {"frac_spin_weight": 1.0, "frac_charge_weight": 1.0},
    "mgga": {"model": {"rung": "MGGA"}},
    "mgga_sie10": {"model": {"rung": "MGGA"}, "sie_weight": 10.0},
}


def h_conditions(model) -> dict[str, float]:
    """SCF H and H2+ errors and the H fractional deviations (kcal/mol)."""
    refs = load_references()
    e = scf_energies(model, ["H", "H2+"])
    out = {f"{k} error": HARTREE_TO_KCAL * (e[k]["energy"] - refs[k]) for k in e}
    mol = build_mol("H")
    for c in (cond.fractional_charge("H", mol), cond.fractional_spin("H", mol)):
        total = sum(coef * (mol.energy_nuc() if sum(st.occupation) == 0 else make_state_ks(
            mol, st.occupation, model, grid_level=1, conv_tol=1e-9).kernel())
            for st, coef in c.terms)
        out[c.name] = HARTREE_TO_KCAL * total
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--output", default="runs/xc_h_atom")
    args = parser.parse_args()
    refs = load_references()
    rows = {"PBE": {"fit RMSE": float("nan"), **h_conditions(None)}}
    for name in args.variants.split(","):
        t0 = time.perf_counter()
        cfg = XCTrainConfig(reactions=TRAIN, steps=args.steps, lr=1e-2, **VARIANTS[name])
        out = Path(args.output) / name
        result = train_xc(cfg, refs, output=out, resume=(out / "checkpoint.safetensors").exists())
        rows[name] = {"fit RMSE": result.history[-1]["fit_rmse_kcal"],
                      **h_conditions(result.model), "seconds": time.perf_counter() - t0}
        print(name, json.dumps(rows[name]), flush=True)
    keys = ["fit RMSE", "H error", "H2+ error", "FC(H)", "FS(H)"]
    print(f"\n{'(kcal/mol)':<12}" + "".join(f"{k:>11}" for k in keys))
    for name, row in rows.items():
        print(f"{name:<12}" + "".join(f"{row[k]:>11.2f}" for k in keys))
    Path(args.output, "h_atom.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
