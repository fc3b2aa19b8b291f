"""Peer side of the speed benchmark; runs in benchmarks/.venv-peers (see setup_env.sh).

Usage: .venv-peers/bin/python peers/peer_speed.py --code mace|nequip --channels 64 --lmax 1
       --interactions 2 --correlation 3 --cutoff 5.0 --n-radial 8 [--threads 2] [--repeats 5]
       [--box 5] [--dtype float32] [--serve]

Prints one JSON line per system: {"code", "system", "atoms", "ms", "cpu_ms"} with the median
wall time and the median process CPU time of one energy+forces call through the peer's ASE
calculator (neighbour list and data conversion included, as for pesforge's Calculator path).
Weights are random: speed does not depend on them.

``--serve`` builds the calculator once, then for every line ``round`` read from stdin times
both systems and prints their JSON lines followed by ``{"end": true}`` (``quit`` exits); this
lets ``speed.py`` interleave rounds of the peer with rounds of pesforge.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

# e3nn 0.4.4 (pinned by mace-torch) reads its own packaged constants.pt with torch's loader,
# whose weights_only default (torch >= 2.6) refuses it; a file of the installed package.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from systems import aspirin, ethanol_box  # noqa: E402
from timing import time_calls  # noqa: E402

ELEMENTS = [1, 6, 8]


def mace_calculator(args):
    """MACE with sh max_ell = L, hidden irreps C x (0e + 1o ... up to L), Bessel radial basis."""
    from e3nn import o3
    from mace import modules
    from mace.calculators import MACECalculator

    hidden = " + ".join(f"{args.channels}x{l}{'e' if l % 2 == 0 else 'o'}"
                        for l in range(args.lmax + 1))
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    model = modules.MACE(
        r_max=args.cutoff, num_bessel=args.n_radial, num_polynomial_cutoff=6, max_ell=args.lmax,
        interaction_cls=block, interaction_cls_first=block, num_interactions=args.interactions,
        num_elements=len(ELEMENTS), hidden_irreps=o3.Irreps(hidden),
        MLP_irreps=o3.Irreps("16x0e"), gate=torch.nn.functional.silu,
        atomic_energies=np.zeros(len(ELEMENTS)), avg_num_neighbors=15.0,
        atomic_numbers=ELEMENTS, correlation=args.correlation, radial_type="bessel")
    model = model.to(getattr(torch, args.dtype))
    return MACECalculator(models=model, device="cpu", default_dtype=args.dtype)


def nequip_calculator(args):
    """NequIP (0.6 API) with num_features = C, l_max = L, num_layers = interactions."""
    from nequip.ase import NequIPCalculator
    from nequip.data.transforms import TypeMapper
    from nequip.model import model_from_config
    from nequip.utils import Config

    symbols = ["H", "C", "O"]
    config = Config.from_dict({
        "model_builders": ["SimpleIrrepsConfig", "EnergyModel", "ForceOutput"],
        "r_max": args.cutoff, "num_layers": args.interactions, "l_max": args.lmax,
        "parity": True, "num_features": args.channels, "num_basis": args.n_radial,
        "chemical_symbols": symbols, "num_types": len(symbols), "type_names": symbols,
        "avg_num_neighbors": 15.0, "model_dtype": args.dtype, "default_dtype": args.dtype})
    model = model_from_config(config, initialize=False).to(getattr(torch, args.dtype))
    return NequIPCalculator(model, r_max=args.cutoff, device="cpu",
                            transform=TypeMapper(chemical_symbols=symbols))


def time_systems(args, calc, systems) -> None:
    for name, atoms, repeats in systems:
        wall, cpu = time_calls(calc, atoms, repeats)
        print(json.dumps({"code": args.code, "system": name, "atoms": len(atoms),
                          "ms": wall * 1e3, "cpu_ms": cpu * 1e3}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", choices=["mace", "nequip"], required=True)
    for name, default in [("channels", 64), ("lmax", 1), ("interactions", 2),
                          ("correlation", 3), ("n-radial", 8), ("threads", 2),
                          ("repeats", 5), ("box", 5)]:
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(getattr(torch, args.dtype))
    calc = mace_calculator(args) if args.code == "mace" else nequip_calculator(args)
    systems = [("aspirin", aspirin(), max(args.repeats, 10)),
               ("ethanol_box", ethanol_box(args.box), args.repeats)]
    if not args.serve:
        time_systems(args, calc, systems)
        return
    print(json.dumps({"ready": args.code}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        time_systems(args, calc, systems)
        print(json.dumps({"end": True}), flush=True)


if __name__ == "__main__":
    main()
