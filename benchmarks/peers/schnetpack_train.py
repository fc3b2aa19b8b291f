"""SchNetPack 2.x PaiNN trained on extxyz frames for a wall-clock budget; the peer of pesforge's
``painn`` in ``benchmarks/peers/accuracy.py``.

Runs in benchmarks/.venv-schnetpack (schnetpack 2.0.4; made by setup_env.sh) and never imports
pesforge. Usage:
    benchmarks/.venv-schnetpack/bin/python benchmarks/peers/schnetpack_train.py \
        --train TRAIN.xyz --test TEST.xyz --val-indices VAL.json --minutes 20 \
        --threads 2 --work-dir DIR

Input: extxyz files with ``REF_energy`` (eV, per structure) in ``atoms.info`` and
``REF_forces`` (eV/Å) in ``atoms.arrays``; ``--val-indices`` is a JSON list of 0-based frame
indices of the train file held out for validation (accuracy.py passes pesforge's split), the
other train frames are trained on. Both files are written to SchNetPack ASE databases
(``ASEAtomsData``, units eV and Å) in ``--work-dir``.

Model and recipe follow SchNetPack 2.0.4's own configs, ``configs/experiment/md17.yaml`` with
``configs/model/nnp.yaml``, ``model/representation/painn.yaml`` (gaussian radial basis),
``task/default_task.yaml`` (optimizer ``adam.yaml``, scheduler ``reduce_on_plateau.yaml``),
``data/md17.yaml`` and the callbacks of ``train.yaml`` (EMA, early stopping):
PaiNN with 128 features, 3 interactions, 20 Gaussians, cosine cutoff 5 Å, float32; an Atomwise
(sum) energy head and autograd forces; the per-atom mean energy of the training frames removed
(``RemoveOffsets(remove_mean=True)``, no std scaling, as md17.yaml); AdamW (weight decay 0),
lr 1e-3 (md17.yaml's ``globals.lr``), batch size 10, MSE loss weights 0.01 energy /
0.99 forces, ReduceLROnPlateau on the validation loss (factor 0.5, patience 75, cooldown 10),
parameter EMA (decay 0.995) used for validation and for the kept model, early stopping after
200 epochs without improvement. The training loop is this script's (no Lightning) so that it can
stop at the budget: the deadline is checked before every batch, counted from the start of this
script, and an epoch cut by it is not validated. Frames are transformed (centre of mass,
offsets, matscipy neighbour list, float32) once and kept in memory; the data loader runs in the
main process (no workers), so ``--threads`` is all the CPU it uses.

Prints one progress line per epoch on stderr and, last, one JSON line on stdout:
``{"code": "schnetpack-painn", "epochs": N, "minutes": M, "force_mae_meV_per_A": x,
"energy_mae_meV": y}`` with the test MAE of the best-validation (EMA) model; the energy MAE is
per structure, in meV.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

START = time.monotonic()
ENERGY, FORCES = "energy", "forces"
LOSS_WEIGHTS = {ENERGY: 0.01, FORCES: 0.99}  # md17.yaml task.outputs[*].loss_weight


def import_schnetpack():
    """``import schnetpack``, made to work with torch >= 2.5: schnetpack 2.0.4 imports
    ``T_co`` from ``torch.utils.data.dataloader``, which torch 2.5 renamed ``_T_co`` (a type
    variable used only in annotations). schnetpack 2.1.x drops that import but pins
    sympy<=1.12, which torch 2.13 (sympy>=1.13.3) cannot be installed with."""
    import torch.utils.data.dataloader as loader

    if not hasattr(loader, "T_co"):
        loader.T_co = loader._T_co
    import schnetpack

    return schnetpack


def write_database(spk, frames: list, path: Path):
    """An ``ASEAtomsData`` database at ``path`` (replaced if present) with the frames' energy
    (eV) and forces (eV/Å)."""
    path.unlink(missing_ok=True)
    data = spk.data.ASEAtomsData.create(str(path), distance_unit="Ang",
                                        property_unit_dict={ENERGY: "eV", FORCES: "eV/Ang"})
    props = [{ENERGY: np.array([a.info["REF_energy"]], dtype=np.float64),
              FORCES: np.asarray(a.arrays["REF_forces"], dtype=np.float64)} for a in frames]
    data.add_systems(props, frames)
    return data


def build_model(spk, cutoff: float):
    """SchNetPack PaiNN potential (md17.yaml / painn.yaml): energy (eV) and forces (eV/Å)."""
    painn = spk.representation.PaiNN(
        n_atom_basis=128, n_interactions=3,
        radial_basis=spk.nn.radial.GaussianRBF(n_rbf=20, cutoff=cutoff),
        cutoff_fn=spk.nn.cutoff.CosineCutoff(cutoff))
    heads = [spk.atomistic.Atomwise(n_in=128, output_key=ENERGY, aggregation_mode="sum"),
             spk.atomistic.Forces(energy_key=ENERGY, force_key=FORCES)]
    return spk.model.NeuralNetworkPotential(
        representation=painn, input_modules=[spk.atomistic.PairwiseDistances()],
        output_modules=heads, do_postprocessing=False, input_dtype_str="float32")


def predict(model, batch: dict) -> tuple[dict, dict]:
    """(predictions, targets) of a batch: energy (eV, mean offset removed) and forces (eV/Å).
    The targets are taken out first: the model writes its outputs into the batch dict."""
    targets = {k: batch[k] for k in LOSS_WEIGHTS}
    return model(batch), targets


def loss_terms(pred: dict, target: dict) -> dict:
    """Per-property MSE (eV², (eV/Å)²) of a batch."""
    return {k: torch.nn.functional.mse_loss(pred[k], target[k]) for k in LOSS_WEIGHTS}


def evaluate(model, loader) -> dict:
    """Weighted loss (as in training) and energy / force MAE (meV per structure, meV/Å)."""
    model.eval()
    loss, err_e, err_f, n_struct, n_comp = 0.0, 0.0, 0.0, 0, 0
    for batch in loader:
        pred, target = predict(model, batch)
        terms = loss_terms(pred, target)
        n = len(target[ENERGY])
        loss += n * float(sum(LOSS_WEIGHTS[k] * v.detach() for k, v in terms.items()))
        err_e += float((pred[ENERGY].detach() - target[ENERGY]).abs().sum())
        err_f += float((pred[FORCES].detach() - target[FORCES]).abs().sum())
        n_struct += n
        n_comp += target[FORCES].numel()
    return {"loss": loss / n_struct, "energy_mae_meV": 1000.0 * err_e / n_struct,
            "force_mae_meV_per_A": 1000.0 * err_f / n_comp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help="train extxyz (REF_energy, REF_forces)")
    parser.add_argument("--test", required=True, help="test extxyz (REF_energy, REF_forces)")
    parser.add_argument("--val-indices", required=True,
                        help="JSON list of 0-based train-file frames used for validation")
    parser.add_argument("--minutes", type=float, required=True, help="wall-clock budget")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--cutoff", type=float, default=5.0, help="Å")
    parser.add_argument("--lr", type=float, default=1e-3, help="md17.yaml globals.lr")
    parser.add_argument("--batch-size", type=int, default=10, help="data/md17.yaml")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    deadline = START + 60.0 * args.minutes
    spk = import_schnetpack()
    from ase.io import read
    from torch_ema import ExponentialMovingAverage

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    frames = {"train": read(args.train, index=":"), "test": read(args.test, index=":")}
    val_idx = sorted({int(i) for i in json.loads(Path(args.val_indices).read_text())})
    train_idx = sorted(set(range(len(frames["train"]))) - set(val_idx))
    if not val_idx or not train_idx or val_idx[-1] >= len(frames["train"]):
        raise SystemExit(f"bad validation indices for {len(frames['train'])} train frames")
    # per-atom mean energy of the training frames, eV/atom (what AtomsDataModule.get_stats
    # gives RemoveOffsets(remove_mean=True) in a spktrain run; "propery_mean" is its spelling)
    mean = np.mean([frames["train"][i].info["REF_energy"] / len(frames["train"][i])
                    for i in train_idx])
    transforms = [spk.transform.SubtractCenterOfMass(),
                  spk.transform.RemoveOffsets(ENERGY, remove_mean=True,
                                              propery_mean=torch.tensor([mean])),
                  spk.transform.MatScipyNeighborList(cutoff=args.cutoff),
                  spk.transform.CastTo32()]
    dbs = {name: write_database(spk, frames[name], work / f"{name}.db") for name in frames}
    sets = {}
    for split, source, idx in (("train", "train", train_idx), ("val", "train", val_idx),
                               ("test", "test", None)):
        view = spk.data.ASEAtomsData(dbs[source].datapath, transforms=transforms,
                                     subset_idx=idx)
        sets[split] = [view[k] for k in range(len(view))]  # transformed once, kept in memory

    def loader(split: str, shuffle: bool = False, size: int = 50):
        return spk.data.AtomsLoader(sets[split], batch_size=size, shuffle=shuffle)

    model = build_model(spk, args.cutoff)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5, patience=75, threshold=0.0, threshold_mode="rel",
        cooldown=10, min_lr=0.0)
    ema = ExponentialMovingAverage(model.parameters(), decay=0.995)
    train_loader = loader("train", shuffle=True, size=args.batch_size)
    best, best_loss, bad, epochs, stop = None, float("inf"), 0, 0, False
    while not stop:
        model.train()
        for batch in train_loader:
            if time.monotonic() > deadline:
                stop = True
                break
            optimizer.zero_grad(set_to_none=True)
            terms = loss_terms(*predict(model, batch))
            sum(LOSS_WEIGHTS[k] * v for k, v in terms.items()).backward()
            optimizer.step()
            ema.update()
        if stop:
            break
        epochs += 1
        with ema.average_parameters():
            val = evaluate(model, loader("val"))
            if val["loss"] < best_loss:
                best_loss, bad = val["loss"], 0
                best = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
        scheduler.step(val["loss"])
        print(f"epoch {epochs}: val loss {val['loss']:.4g}  force MAE "
              f"{val['force_mae_meV_per_A']:.1f} meV/Å  lr {optimizer.param_groups[0]['lr']:.3g}"
              f"  {(time.monotonic() - START) / 60:.2f} min", file=sys.stderr, flush=True)
        stop = bad >= 200 or time.monotonic() > deadline
    minutes = (time.monotonic() - START) / 60
    if best is not None:
        model.load_state_dict(best)
    else:  # no epoch finished within the budget: the EMA of the steps taken
        ema.copy_to(model.parameters())
    test = evaluate(model, loader("test"))
    print(json.dumps({"code": "schnetpack-painn", "epochs": epochs, "minutes": minutes,
                      "force_mae_meV_per_A": test["force_mae_meV_per_A"],
                      "energy_mae_meV": test["energy_mae_meV"]}), flush=True)


if __name__ == "__main__":
    main()
