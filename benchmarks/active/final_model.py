"""Train one production model on an active-learning data set and on random rMD17 subsets of the
same size, with the same settings, and print the test force MAE of each.

The loop selects with a cheap committee (four BPNNs); what a user ships is one model of the
most accurate architecture trained on the labels the loop paid for. This script measures both
sides of that comparison with the same model, the same epochs and the same validation share
(a campaign's own ``final:`` section trains the first side itself, with the same result)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active/final_model.py \\
        /tmp/al-cmax/active/iter_010/data.xyz --test /tmp/al-cmax/test.xyz \\
        --model equivariant --epochs 300 --output /tmp/final-eq/active_200
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active/final_model.py \\
        random:200 --test /tmp/al-cmax/test.xyz --model equivariant --epochs 300 \\
        --output /tmp/final-eq/random_200

``random:N`` draws N frames of rMD17 ethanol train_01 as ``ethanol_learning_curve.py --part
random`` does (``default_rng([seed, N])``), so the subsets are those of its random curve. A
run killed at any moment resumes from its checkpoint when called again with the same
``--output``. The result is also written to ``OUTPUT/result.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def training_frames(source: str, seed: int):
    """Frames of a round's ``data.xyz`` (REF_ labels) or ``random:N`` rMD17 train_01 frames."""
    from pesforge.data import rmd17
    from pesforge.data.readers import read

    if source.startswith("random:"):
        n = int(source.partition(":")[2])
        train = rmd17("ethanol", "train")
        pick = np.random.default_rng([seed, n]).choice(len(train), n, replace=False)
        return [train[i] for i in sorted(pick)]
    return read(source, energy_key="REF_energy", forces_key="REF_forces")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="a round's data.xyz, or random:N")
    p.add_argument("--test", required=True, help="test frames (energy / forces labels)")
    p.add_argument("--model", default="equivariant",
                   help="model.name of the training config (equivariant, painn, bpnn)")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True)
    args = p.parse_args()

    from pesforge.data.readers import read
    from pesforge.data.writers import write_extxyz
    from pesforge.runtime import tune_allocator
    from pesforge.training import load_config, train

    tune_allocator()
    out = Path(args.output)
    config_file = out / "config.yaml"
    resume = (out / "model" / "checkpoint" / "last.safetensors").is_file()
    if not resume:
        frames = training_frames(args.data, args.seed)
        out.mkdir(parents=True, exist_ok=True)
        write_extxyz(out / "train.xyz", frames, prefix="")
        config = load_config(None, {
            "data.train_file": str(out / "train.xyz"), "data.test_file": args.test,
            "data.validation_fraction": 0.05, "data.split_seed": 0,
            # PySCF `rmd17` labels vs rMD17's (ORCA) test labels: 0.06 meV/Å apart
            "data.allow_mixed_levels": True,
            "model.name": args.model, "model.cutoff": 5.0, "model.dtype": "float32",
            "optimizer.batch_size": args.batch_size, "optimizer.lr": args.lr,
            "optimizer.max_epochs": args.epochs, "optimizer.early_stopping_patience": None,
            "optimizer.scheduler": {"kind": "cosine"}, "seed": args.seed,
            "output": str(out / "model")})
        config.to_yaml(config_file)
    result = train(load_config(config_file), progress=False, resume=resume)
    test = result.metrics["test"]
    summary = {"data": args.data, "n_frames": len(read(out / "train.xyz")),
               "model": args.model, "epochs": args.epochs,
               "force_mae_meV_per_A": test["force_mae_meV_per_A"],
               "energy_mae_meV": test.get("energy_mae_meV")}
    (out / "result.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
