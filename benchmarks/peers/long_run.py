"""A long training run toward the converged accuracy targets (rMD17 split 01, 950/50 frames,
all 1000 test frames), resumable after a kill while its output folder survives.

The settings are those of ``accuracy.py`` for the code (its ``_pesforge_config``), with no time
budget: a cosine learning-rate schedule over ``--epochs`` and no early stopping. The first call
writes the data subsets and ``config.yaml`` into ``--out`` and trains. A later call with the
same ``--out`` resumes from the last checkpoint (``pesforge train --resume``), so the run can
be killed at any moment::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peers/long_run.py --molecule ethanol \\
        --code equivariant --epochs 600 --out /tmp/long_eq

The test errors are in ``OUT/<code>/metrics.json`` when the last epoch is done. Needs
../shared/data (rMD17).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
import accuracy  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--molecule", default="ethanol")
    p.add_argument("--code", default="equivariant", choices=["equivariant", "painn"])
    p.add_argument("--epochs", type=int, default=600)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--out", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for a new run, e.g. model.equivariant.channels=128")
    args = p.parse_args()

    from pesforge.runtime import tune_allocator
    from pesforge.training import load_config, train

    tune_allocator()
    out = Path(args.out)
    config_file = out / "config.yaml"
    resume = config_file.is_file()
    if not resume:
        paths = accuracy.write_subsets(args.molecule, 950, 50, 1000, out / "data")
        settings = argparse.Namespace(n_val=50, n_train=950, minutes=None, batch_size=None,
                                      lr=args.lr, patience=5, seed=0, set=args.set)
        tree = accuracy._pesforge_config(args.code, paths, settings, out).model_dump(
            mode="json")
        tree["max_minutes"] = None
        tree["optimizer"].update(max_epochs=args.epochs, early_stopping_patience=None,
                                 scheduler={"kind": "cosine"})
        config_file.write_text(yaml.safe_dump(tree, sort_keys=False))
    result = train(load_config(config_file), resume=resume)
    print(result.metrics.get("test"))


if __name__ == "__main__":
    main()
