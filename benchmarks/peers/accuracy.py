"""Equal-budget accuracy: pesforge (painn, equivariant) vs mace-torch and SchNetPack's PaiNN on
rMD17 split 01.

Usage (project venv; the peer codes run as subprocesses in benchmarks/.venv-peers (MACE) and
benchmarks/.venv-schnetpack, made by benchmarks/peers/setup_env.sh):
    .venv/bin/python benchmarks/peers/accuracy.py --molecule ethanol --minutes 20
        [--codes painn,equivariant,mace,schnetpack] [--n-train 950 --n-val 50 --n-test 1000]
        [--threads 2] [--out benchmarks/results_peers]
        [--lr 5e-3 --batch-size N --patience 5]   (pesforge codes' optimiser)
        [--set model.painn.n_radial=8 ...]          (any further pesforge config override)

Codes (``--codes``, comma-separated):
    painn, equivariant  pesforge's models of that name, trained in this process (float32,
                        cutoff 5 Å);
    mace                mace-torch's mace_run_train, MACE-small-like (64x0e, r = 5 Å,
                        correlation 3, 2 interactions);
    schnetpack          SchNetPack 2.0.4 PaiNN (128 features, 3 interactions, cutoff 5 Å) with
                        SchNetPack's MD17 recipe, by benchmarks/peers/schnetpack_train.py.

Every code gets the same data (the first n_train + n_val frames of rMD17 split 01's train file,
n_val of them for validation; the first n_test frames of the test file) and the same wall-clock
training budget. The validation frames are a random draw, the same in every code: pesforge's
split (seed 0), which MACE's ``--valid_fraction`` with ``--seed 0`` reproduces and which is
passed to SchNetPack as a list of indices. pesforge stops by its own ``max_minutes`` and the
SchNetPack driver by its own deadline; mace_run_train has no time budget, so it runs under a
timeout and is then restarted from its latest checkpoint with ``--max_num_epochs`` equal to that
checkpoint's epoch, which only evaluates and saves.
Prints force and energy MAE on the test frames for each code (meV/Å; meV per structure, MACE
meV/atom) and the force MAE ratios against MACE and, for pesforge, against SchNetPack.
For a smoke run: --minutes 1 --n-train 40 --n-val 10 --n-test 50.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
PEER = HERE.parent / ".venv-peers" / "bin"
SCHNETPACK = HERE.parent / ".venv-schnetpack" / "bin"
RMD17 = HERE.parents[1] / ".." / "shared" / "data" / "rmd17"


def write_subsets(molecule: str, n_train: int, n_val: int, n_test: int, folder: Path) -> dict:
    """rMD17 NPZ subsets (pesforge) and extxyz copies with REF_ labels (MACE), in eV and Å."""
    from ase import Atoms
    from ase.io import write

    from pesforge.units import KCAL_PER_MOL

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, n in (("train", n_train + n_val), ("test", n_test)):
        data = np.load(RMD17 / f"rmd17_{molecule}_{split}_01.npz")
        if n > len(data["energies"]):
            raise SystemExit(f"{split}: asked for {n} frames, the file has {len(data['energies'])}")
        subset = {k: data[k][:n] for k in ("coords", "energies", "forces")}
        npz = folder / f"{molecule}_{split}.npz"
        np.savez(npz, nuclear_charges=data["nuclear_charges"], **subset)
        frames = []
        for r, e, f in zip(subset["coords"], subset["energies"], subset["forces"]):
            atoms = Atoms(numbers=data["nuclear_charges"], positions=r)
            atoms.info["REF_energy"] = float(e) * KCAL_PER_MOL
            atoms.arrays["REF_forces"] = f * KCAL_PER_MOL
            frames.append(atoms)
        xyz = folder / f"{molecule}_{split}.xyz"
        write(xyz, frames, format="extxyz")
        paths[split] = (str(npz), str(xyz))
    return paths


def _pesforge_config(name: str, paths: dict, args, folder: Path):
    from pesforge.training import load_config

    overrides = {"data.train_file": paths["train"][0], "data.test_file": paths["test"][0],
                 "data.n_validation": args.n_val, "model.name": name, "model.cutoff": 5.0,
                 "model.dtype": "float32", "max_minutes": args.minutes,
                 "optimizer.batch_size": args.batch_size or (8 if name == "painn" else 4),
                 "optimizer.lr": args.lr, "optimizer.scheduler.patience": args.patience,
                 "seed": args.seed, "data.split_seed": 0, "output": str(folder / name)}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    return load_config(None, overrides)


def run_pesforge(name: str, paths: dict, args, folder: Path) -> dict:
    from pesforge.training import train

    start = time.perf_counter()
    result = train(_pesforge_config(name, paths, args, folder), progress=False)
    test = result.metrics.get("test", {})
    return {"code": f"pesforge-{name}", "epochs": len(result.history),
            "minutes": (time.perf_counter() - start) / 60,
            "force_mae_meV_per_A": test.get("force_mae_meV_per_A"),
            "energy_mae_meV": test.get("energy_mae_meV")}


def _mace_args(paths: dict, args, folder: Path, max_epochs: int) -> list[str]:
    return [str(PEER / "mace_run_train"), "--name", "mace", "--model", "MACE",
            "--train_file", paths["train"][1], "--test_file", paths["test"][1],
            "--valid_fraction", f"{args.n_val / (args.n_train + args.n_val):.6f}",
            "--energy_key", "REF_energy", "--forces_key", "REF_forces",
            "--E0s", "average", "--r_max", "5.0", "--num_channels", "64",
            "--max_L", "0", "--correlation", "3", "--num_interactions", "2",
            "--batch_size", "5", "--max_num_epochs", str(max_epochs), "--eval_interval", "1",
            "--ema", "--amsgrad", "--default_dtype", "float32", "--device", "cpu",
            "--error_table", "PerAtomMAE", "--seed", "0",
            "--work_dir", str(folder), "--restart_latest"]


def run_mace(paths: dict, args, folder: Path) -> dict:
    """MACE-small-like (64x0e, r = 5 Å, correlation 3, 2 interactions), as in the issue."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    start = time.perf_counter()
    # mace_run_train's own logs stop before a crash's traceback: keep its output
    with open(folder / "mace_train.log", "w") as log_file:
        try:
            subprocess.run(_mace_args(paths, args, folder, 100000), env=env, cwd=folder,
                           timeout=args.minutes * 60, stdout=log_file,
                           stderr=subprocess.STDOUT, check=False)
        except subprocess.TimeoutExpired:
            pass
    minutes = (time.perf_counter() - start) / 60
    epochs = [int(m.group(1)) for p in (folder / "checkpoints").glob("*.pt")
              if (m := re.search(r"epoch-(\d+)", p.name))]
    if not epochs:
        return {"code": "mace", "minutes": minutes,
                "note": f"no checkpoint within the budget; see {folder / 'mace_train.log'}"}
    last = max(epochs)
    proc = subprocess.run(_mace_args(paths, args, folder, last), env=env, cwd=folder,
                          capture_output=True, text=True, check=False)
    log = "\n".join(p.read_text() for p in sorted((folder / "logs").glob("*.log")))
    table = _last_test_row(log + proc.stdout + proc.stderr)
    return {"code": "mace", "epochs": last + 1, "minutes": minutes, **table}


def validation_indices(paths: dict, args, folder: Path) -> list[int]:
    """0-based indices, in the train file, of the frames pesforge validates on: a random draw
    of n_val frames from the run's seed (``pesforge.training.prepare.split``, as in
    ``load_training_data``)."""
    from pesforge.training.prepare import split

    config = _pesforge_config("painn", paths, args, folder)
    seed = config.seed if config.data.split_seed is None else config.data.split_seed
    return [int(i) for i in split(args.n_train + args.n_val, config.data, seed)[1]]


def run_schnetpack(paths: dict, args, folder: Path) -> dict:
    """SchNetPack PaiNN (schnetpack_train.py in benchmarks/.venv-schnetpack) on pesforge's
    validation frames; the driver stops at the budget itself, the timeout here only guards
    against a hang."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    val = folder / "validation_indices.json"
    val.write_text(json.dumps(validation_indices(paths, args, folder)))
    command = [str(SCHNETPACK / "python"), str(HERE / "schnetpack_train.py"),
               "--train", paths["train"][1], "--test", paths["test"][1],
               "--val-indices", str(val), "--minutes", str(args.minutes),
               "--threads", str(args.threads), "--work-dir", str(folder),
               "--seed", str(args.seed)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True,
                              timeout=args.minutes * 60 + 600, check=False)
    except subprocess.TimeoutExpired:
        return {"code": "schnetpack-painn", "minutes": (time.perf_counter() - start) / 60,
                "note": "timed out"}
    (folder / "schnetpack.log").write_text(proc.stdout + proc.stderr)
    rows = [line for line in proc.stdout.splitlines() if line.startswith('{"code"')]
    if proc.returncode or not rows:
        return {"code": "schnetpack-painn", "minutes": (time.perf_counter() - start) / 60,
                "note": f"exit {proc.returncode}, see {folder / 'schnetpack.log'}"}
    return json.loads(rows[-1])


def _last_test_row(text: str) -> dict:
    """Force / energy MAE of the last row of MACE's last 'Error-table on TEST' (PerAtomMAE),
    in meV/atom and meV/Å."""
    at = text.rfind("Error-table on TEST")
    rows = [line for line in text[at:].splitlines()[1:]
            if re.match(r"\s*\|\s*\S+\s*\|\s*[-\d.]+\s*\|", line)] if at >= 0 else []
    if not rows:
        return {"note": "no test error table found in the MACE log"}
    cells = [c.strip() for c in rows[0].strip().strip("|").split("|")]
    # columns: config_type | MAE E / meV / atom | MAE F / meV / A | relative F MAE %
    return {"energy_mae_meV_per_atom": float(cells[1]), "force_mae_meV_per_A": float(cells[2])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--molecule", default="ethanol")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--codes", default="painn,equivariant,mace")
    parser.add_argument("--n-train", type=int, default=950)
    parser.add_argument("--n-val", type=int, default=50)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-3, help="pesforge codes' learning rate")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="pesforge codes' batch size (default: painn 8, equivariant 4)")
    parser.add_argument("--patience", type=int, default=5,
                        help="pesforge codes' plateau-schedule patience, epochs")
    parser.add_argument("--seed", type=int, default=0,
                        help="initialisation seed of pesforge's and SchNetPack's models (the "
                        "validation split stays seed 0's, MACE's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="further pesforge config override, e.g. model.painn.n_radial=8 "
                             "(repeatable; VALUE is read as YAML)")
    parser.add_argument("--out", default=str(HERE.parent / "results_peers"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out) / f"{args.molecule}_{time.strftime('%Y%m%d-%H%M%S')}"
    paths = write_subsets(args.molecule, args.n_train, args.n_val, args.n_test, out / "data")
    runners = {"mace": lambda: run_mace(paths, args, out / "mace"),
               "schnetpack": lambda: run_schnetpack(paths, args, out / "schnetpack")}
    rows = []
    for code in args.codes.split(","):
        row = runners[code]() if code in runners else run_pesforge(code, paths, args, out)
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / "summary.json").write_text(json.dumps(rows, indent=1))
    _print_ratios(rows)


def _print_ratios(rows: list[dict]) -> None:
    """Force MAE ratios of every other code / MACE and of pesforge / SchNetPack (with the
    energy MAE ratio too: both report meV per structure)."""
    def found(code):
        return next((r for r in rows if r["code"] == code and r.get("force_mae_meV_per_A")),
                    None)

    mace, spk = found("mace"), found("schnetpack-painn")
    for row in rows:
        if not row.get("force_mae_meV_per_A"):
            continue
        if mace and row is not mace:
            print(f"force MAE ratio {row['code']} / mace: "
                  f"{row['force_mae_meV_per_A'] / mace['force_mae_meV_per_A']:.2f}")
        if spk and row["code"].startswith("pesforge-"):
            energy = ""
            if row.get("energy_mae_meV") and spk.get("energy_mae_meV"):
                energy = f", energy {row['energy_mae_meV'] / spk['energy_mae_meV']:.2f}"
            print(f"MAE ratio {row['code']} / schnetpack-painn: force "
                  f"{row['force_mae_meV_per_A'] / spk['force_mae_meV_per_A']:.2f}{energy}")

if __name__ == "__main__":
    sys.exit(main())
