"""Ethanol harmonic frequencies: a BPNN trained on rMD17 ethanol vs PySCF PBE/def2-SVP.

Steps: (1) train a BPNN on the bundled rMD17 ethanol split 01 with pesforge.training.train
for ``--minutes`` (skipped when ``--model`` is given or the run folder already has a model);
(2) optimise the rMD17 frame-0 geometry with ASE's BFGS on the model (float64); (3) harmonic
frequencies from the autograd Hessian; (4) compare with the PySCF reference written by
``ethanol_pyscf_reference.py`` (its own optimised geometry): mean absolute deviation (cm⁻¹).

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/analysis/ethanol_frequencies.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).parent / "results"


def train_model(out: Path, minutes: float) -> Path:
    from pesforge.data.datasets import bundled_path
    from pesforge.training import TrainConfig, train

    if (out / "model.safetensors").is_file():
        return out / "model.safetensors"
    config = TrainConfig.model_validate({
        "data": {"train_file": str(bundled_path("rmd17_ethanol_train_01.npz")),
                 "test_file": str(bundled_path("rmd17_ethanol_test_01.npz")),
                 "n_validation": 50},
        "model": {"hidden": [64, 64], "n_radial": 12, "n_angular_shells": 3},
        "optimizer": {"batch_size": 16, "lr": 2e-3, "max_epochs": 2000},
        "max_minutes": minutes, "seed": 0, "output": str(out)})
    resume = (out / "checkpoint" / "last.safetensors").is_file()
    train(config, progress=False, resume=resume)
    return out / "model.safetensors"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="a trained pesforge model file (skip training)")
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--reference", default=str(HERE / "ethanol_pyscf_pbe_def2svp.json"))
    parser.add_argument("--train-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.time()
    path = Path(args.model) if args.model else train_model(HERE / "ethanol_bpnn", args.minutes)
    print(f"model: {path} ({time.time() - start:.0f} s)")
    if args.train_only:
        return
    from pesforge.analysis.vibrations import vibrational_analysis
    from pesforge.data.datasets import rmd17
    from pesforge.data.frame import Frame
    from pesforge.models import load_model

    metrics = path.parent / "metrics.json"
    if metrics.is_file():
        print("model test metrics:", json.loads(metrics.read_text()).get("test"))
    model = load_model(path).double()
    frame = rmd17("ethanol", "train", index=0)[0]
    t0 = time.time()
    result = vibrational_analysis(model, frame, relax=True, fmax=1e-4)
    print(f"model: optimised in {result.optimizer_steps} steps, max force "
          f"{result.max_force:.1e} eV/Å, Hessian + modes {time.time() - t0:.1f} s")
    model_freqs = result.frequencies
    print("model frequencies (cm-1):", np.round(model_freqs, 1).tolist())
    if not Path(args.reference).is_file():
        print(f"no reference yet ({args.reference}); run ethanol_pyscf_reference.py")
        return
    ref = json.loads(Path(args.reference).read_text())
    ref_freqs = np.array(ref["frequencies_cm1"])
    # the model at the reference geometry, without re-optimising (isolates the curvature)
    ref_frame = Frame(numbers=frame.numbers, positions=np.array(ref["positions"]))
    at_ref = vibrational_analysis(model, ref_frame, relax=False).frequencies
    print(f"reference: {ref['method']}, Hessian {ref['seconds_hessian']:.0f} s")
    print(f"{'mode':>4} {'PySCF':>9} {'model':>9} {'diff':>8} {'model@ref':>10}")
    for k, (a, b, c) in enumerate(zip(ref_freqs, model_freqs, at_ref)):
        print(f"{k + 1:>4} {a:9.1f} {b:9.1f} {b - a:8.1f} {c:10.1f}")
    mad = np.mean(np.abs(model_freqs - ref_freqs))
    mad_at_ref = np.mean(np.abs(at_ref - ref_freqs))
    print(f"MAD (each optimised at its own level): {mad:.1f} cm-1 over {len(ref_freqs)} modes")
    print(f"MAD (model at the PySCF geometry): {mad_at_ref:.1f} cm-1")
    print(f"max |diff|: {np.abs(model_freqs - ref_freqs).max():.1f} cm-1")


if __name__ == "__main__":
    main()
