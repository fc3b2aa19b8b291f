"""Retrain an active-learning data set from scratch, as the random baseline is trained.

Separates the two things an active-learning curve measures: which frames were labelled, and
how the loop's (warm-started) committee was trained on them. Trains the committee of
``ethanol_learning_curve.py`` cold (``--epochs`` epochs) on the labelled frames of one round
(its ``data.xyz``) and prints the committee-mean force MAE on the test frames::

    .venv/bin/python benchmarks/active/retrain_cold.py \
        /tmp/al-ethanol-500/active/iter_012/data.xyz --test /tmp/al-ethanol-500/test.xyz
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="a round's data.xyz (REF_energy / REF_forces labels)")
    p.add_argument("--test", required=True, help="test frames (energy / forces labels)")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--n-models", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--output", default=None, help="committee folder (default: temporary)")
    args = p.parse_args()
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from ethanol_learning_curve import committee_settings

    from pesforge.active.committee import errors, train_committee
    from pesforge.active.config import CommitteeConfig
    from pesforge.data.readers import read

    torch.set_num_threads(args.threads)
    frames = read(args.data, energy_key="REF_energy", forces_key="REF_forces")
    test = read(args.test)
    settings = committee_settings(argparse.Namespace(n_models=args.n_models, epochs=args.epochs,
                                                     first_epochs=args.epochs, cold=True))
    committee = CommitteeConfig.model_validate(settings)
    with tempfile.TemporaryDirectory() as scratch:
        ensemble = train_committee(frames, committee, args.output or scratch, seed=0,
                                   first=True)
        mae = errors(ensemble, test)["forces_mae"]
    print(f"{len(frames)} frames, cold-started committee ({args.epochs} epochs): "
          f"force MAE {mae * 1e3:.1f} meV/Å on {len(test)} test frames")


if __name__ == "__main__":
    main()
