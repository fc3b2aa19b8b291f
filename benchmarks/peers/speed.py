"""Side-by-side inference speed: pesforge's equivariant and PaiNN models vs mace-torch (and NequIP).

Usage (project venv; the peer runs are subprocesses in benchmarks/.venv-peers):
    .venv/bin/python benchmarks/peers/speed.py [--threads 2] [--repeats 5] [--box 5]
        [--channels 64 --lmax 1 --interactions 2 --correlation 3 --cutoff 5.0 --n-radial 8]
        [--peers mace,nequip] [--compile]

Median ms per energy+forces call through each code's ASE calculator (neighbour list, batch
building and autograd forces included) for aspirin (21 atoms) and a periodic liquid ethanol
box (--box 5: 1125 atoms), float32, random weights, at matched channels / L / interactions /
correlation / cutoff / radial basis. Prints a table and pesforge / peer ratios (< 1: faster).
``--compile`` also times the equivariant model under torch.compile (CPU inductor).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from systems import aspirin, ethanol_box, time_calls  # noqa: E402

from pesforge.interfaces import Calculator  # noqa: E402
from pesforge.models import EquivariantPotential, PaiNN  # noqa: E402

ELEMENTS = [1, 6, 8]
PEER_PYTHON = HERE.parent / ".venv-peers" / "bin" / "python"


def systems(args):
    return [("aspirin", aspirin(), max(args.repeats, 10)),
            ("ethanol_box", ethanol_box(args.box), args.repeats)]


def pesforge_rows(args) -> list[dict]:
    models = {
        "pesforge-equivariant": EquivariantPotential(
            ELEMENTS, cutoff=args.cutoff, channels=args.channels, lmax=args.lmax,
            interactions=args.interactions, correlation=args.correlation, n_radial=args.n_radial),
        "pesforge-painn": PaiNN(ELEMENTS, cutoff=args.cutoff, features=args.painn_features,
                                interactions=args.painn_interactions, n_radial=20),
    }
    if args.nequip_like:
        models["pesforge-equivariant-nequip-like"] = EquivariantPotential(
            ELEMENTS, cutoff=args.cutoff, channels=32, lmax=1, interactions=4, correlation=1,
            n_radial=args.n_radial)
    rows = []
    for code, model in models.items():
        model = model.float().eval()
        calc = Calculator(model)
        for name, atoms, repeats in systems(args):
            rows.append({"code": code, "system": name, "atoms": len(atoms),
                         "ms": time_calls(calc, atoms, repeats) * 1e3})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def peer_rows(args, code: str, extra: list[str]) -> list[dict]:
    if not PEER_PYTHON.exists():
        print(f"note: {PEER_PYTHON} missing; run benchmarks/peers/setup_env.sh", flush=True)
        return []
    cmd = [str(PEER_PYTHON), str(HERE / "peer_speed.py"), "--code", code,
           "--threads", str(args.threads), "--repeats", str(args.repeats), "--box", str(args.box),
           "--cutoff", str(args.cutoff), "--n-radial", str(args.n_radial), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        print(f"note: {code} failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in [("channels", 64), ("lmax", 1), ("interactions", 2),
                          ("correlation", 3), ("n-radial", 8), ("threads", 2), ("repeats", 5),
                          ("box", 5), ("painn-features", 128), ("painn-interactions", 3)]:
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--peers", default="mace,nequip")
    parser.add_argument("--nequip-like", action="store_true",
                        help="also time pesforge at NequIP's settings (32 ch, L=1, 4 layers)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"matched: channels {args.channels}, L {args.lmax}, interactions {args.interactions}, "
          f"correlation {args.correlation}, cutoff {args.cutoff} Å, {args.n_radial} Bessel; "
          f"PaiNN {args.painn_features} features x {args.painn_interactions}; float32, "
          f"{args.threads} threads", flush=True)
    rows = pesforge_rows(args)
    matched = ["--channels", str(args.channels), "--lmax", str(args.lmax),
               "--interactions", str(args.interactions), "--correlation", str(args.correlation)]
    if "mace" in args.peers:
        rows += peer_rows(args, "mace", matched)
    if "nequip" in args.peers:
        rows += peer_rows(args, "nequip", ["--channels", "32", "--lmax", "1",
                                           "--interactions", "4"])
    table = {(r["code"], r["system"]): r["ms"] for r in rows}
    print(f"\n{'code':36} {'aspirin ms':>11} {'box ms':>10}")
    for code in dict.fromkeys(r["code"] for r in rows):
        print(f"{code:36} {table.get((code, 'aspirin'), float('nan')):>11.1f} "
              f"{table.get((code, 'ethanol_box'), float('nan')):>10.1f}")
    for ours, peer in [("pesforge-equivariant", "mace"),
                       ("pesforge-equivariant-nequip-like", "nequip")]:
        for system in ("aspirin", "ethanol_box"):
            if (ours, system) in table and (peer, system) in table:
                print(f"ratio {ours} / {peer} ({system}): "
                      f"{table[(ours, system)] / table[(peer, system)]:.2f}")


if __name__ == "__main__":
    main()
