"""Side-by-side inference speed: pesforge's equivariant and PaiNN models vs mace-torch (and NequIP).

Usage (project venv; the peers run as persistent subprocesses in benchmarks/.venv-peers):
    .venv/bin/python benchmarks/peers/speed.py [--threads 1] [--rounds 3] [--repeats 5] [--box 5]
        [--channels 64 --lmax 1 --interactions 2 --correlation 3 --cutoff 5.0 --n-radial 8]
        [--codes equivariant,painn] [--peers mace,nequip] [--compile] [--nequip-like]

Median ms per energy+forces call through each code's ASE calculator (neighbour list, batch
building and autograd forces included) for aspirin (21 atoms) and a periodic liquid ethanol
box (--box 5: 1125 atoms), float32, random weights, at matched channels / L / interactions /
correlation / cutoff / radial basis. Codes are timed in interleaved rounds (pesforge, peers,
pesforge, ...; the order flips every round) so that a shared machine's varying load hits all of
them alike. Each call is timed in wall and in process CPU time (the steadier estimate of
unloaded wall time with one thread on a shared machine). Prints one JSON line per round, code
and system, then a table of medians over rounds and pesforge / peer ratios (< 1: faster), per
round and overall. pesforge's parameters are frozen (``requires_grad_(False)``), as
mace-torch's calculator freezes its model's. ``--compile`` also times the equivariant model
compiled with torch.compile (``EquivariantPotential.compile_for_inference``), reporting the
compilation (first-call) time separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from systems import aspirin, ethanol_box  # noqa: E402
from timing import time_calls  # noqa: E402

from pesforge.interfaces import Calculator  # noqa: E402
from pesforge.models import EquivariantPotential, PaiNN  # noqa: E402

ELEMENTS = [1, 6, 8]
PEER_PYTHON = HERE.parent / ".venv-peers" / "bin" / "python"
SYSTEMS = ("aspirin", "ethanol_box")


def systems(args):
    return [("aspirin", aspirin(), max(args.repeats, 10)),
            ("ethanol_box", ethanol_box(args.box), args.repeats)]


def equivariant(args, **settings) -> EquivariantPotential:
    matched = {"cutoff": args.cutoff, "channels": args.channels, "lmax": args.lmax,
               "interactions": args.interactions, "correlation": args.correlation,
               "n_radial": args.n_radial}
    return EquivariantPotential(ELEMENTS, **{**matched, **settings}).float().eval()


def pesforge_calculators(args) -> dict[str, Calculator]:
    torch.manual_seed(0)
    models = {}
    codes = args.codes.split(",")
    if "equivariant" in codes:
        models["pesforge-equivariant"] = equivariant(args)
    if "painn" in codes:
        models["pesforge-painn"] = PaiNN(ELEMENTS, cutoff=args.cutoff,
                                         features=args.painn_features,
                                         interactions=args.painn_interactions,
                                         n_radial=20).float().eval()
    if args.nequip_like:
        models["pesforge-equivariant-nequip-like"] = equivariant(
            args, channels=32, lmax=1, interactions=4, correlation=1)
    if args.compile:
        model = equivariant(args).requires_grad_(False).compile_for_inference()
        calc = Calculator(model)
        for name, atoms, _ in systems(args):  # the first call compiles
            atoms = atoms.copy()
            atoms.calc = calc
            w, c = time.perf_counter(), time.process_time()
            atoms.get_forces()
            print(json.dumps({"code": "pesforge-equivariant-compiled", "system": name,
                              "first_call_s": time.perf_counter() - w,
                              "first_call_cpu_s": time.process_time() - c}), flush=True)
        models["pesforge-equivariant-compiled"] = model
    # Frozen parameters, as mace-torch's MACECalculator does with its models: the forces need
    # no parameter gradients, and the autograd graph is smaller.
    return {code: Calculator(model.requires_grad_(False)) for code, model in models.items()}


class Peer:
    """A peer code's persistent timing process (peer_speed.py --serve)."""

    def __init__(self, args, code: str, extra: list[str]):
        self.code = code
        cmd = [str(PEER_PYTHON), str(HERE / "peer_speed.py"), "--code", code, "--serve",
               "--threads", str(args.threads), "--repeats", str(args.repeats),
               "--box", str(args.box), "--cutoff", str(args.cutoff),
               "--n-radial", str(args.n_radial), *extra]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.ok = any("ready" in row for row in self._rows(until="ready"))

    def _rows(self, until: str):
        for line in self.proc.stdout:
            if line.startswith("{"):
                row = json.loads(line)
                yield row
                if until in row:
                    return

    def round(self) -> list[dict]:
        if not self.ok:
            return []
        self.proc.stdin.write("round\n")
        self.proc.stdin.flush()
        return [row for row in self._rows(until="end") if "system" in row]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait()


def pesforge_round(args, calculators) -> list[dict]:
    rows = []
    for code, calc in calculators.items():
        for name, atoms, repeats in systems(args):
            wall, cpu = time_calls(calc, atoms, repeats)
            rows.append({"code": code, "system": name, "atoms": len(atoms),
                         "ms": wall * 1e3, "cpu_ms": cpu * 1e3})
    return rows


def summarise(rows: list[dict]) -> None:
    per = {}
    for r in rows:
        per.setdefault((r["code"], r["system"]), []).append(r)
    print(f"\n{'code':34} {'aspirin ms (cpu)':>20} {'box ms (cpu)':>22}   medians over rounds")
    for code in dict.fromkeys(r["code"] for r in rows):
        cells = []
        for system in SYSTEMS:
            got = per.get((code, system), [])
            cells.append(f"{statistics.median(r['ms'] for r in got):.1f} "
                         f"({statistics.median(r['cpu_ms'] for r in got):.1f})" if got else "-")
        print(f"{code:34} {cells[0]:>20} {cells[1]:>22}")
    for ours in [c for c in dict.fromkeys(r["code"] for r in rows) if c.startswith("pesforge-eq")]:
        peer = "nequip" if ours.endswith("nequip-like") else "mace"
        for system in SYSTEMS:
            a, b = per.get((ours, system), []), per.get((peer, system), [])
            if not a or not b:
                continue
            wall = [x["ms"] / y["ms"] for x, y in zip(a, b)]
            cpu = [x["cpu_ms"] / y["cpu_ms"] for x, y in zip(a, b)]
            print(f"ratio {ours} / {peer} ({system}): per round wall "
                  f"{' '.join(f'{v:.2f}' for v in wall)}, cpu {' '.join(f'{v:.2f}' for v in cpu)}"
                  f"; median wall {statistics.median(wall):.2f}, cpu {statistics.median(cpu):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in [("channels", 64), ("lmax", 1), ("interactions", 2),
                          ("correlation", 3), ("n-radial", 8), ("threads", 1), ("repeats", 5),
                          ("rounds", 3), ("box", 5), ("painn-features", 128),
                          ("painn-interactions", 3)]:
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--codes", default="equivariant,painn", help="pesforge models to time")
    parser.add_argument("--peers", default="mace,nequip")
    parser.add_argument("--compile", action="store_true",
                        help="also time the equivariant model under torch.compile")
    parser.add_argument("--nequip-like", action="store_true",
                        help="also time pesforge at NequIP's settings (32 ch, L=1, 4 layers)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"matched: channels {args.channels}, L {args.lmax}, interactions {args.interactions}, "
          f"correlation {args.correlation}, cutoff {args.cutoff} Å, {args.n_radial} Bessel; "
          f"PaiNN {args.painn_features} features x {args.painn_interactions}; float32, "
          f"{args.threads} threads, {args.rounds} interleaved rounds", flush=True)
    calculators = pesforge_calculators(args)
    peers = []
    if not PEER_PYTHON.exists():
        print(f"note: {PEER_PYTHON} missing; run benchmarks/peers/setup_env.sh", flush=True)
    else:
        matched = ["--channels", str(args.channels), "--lmax", str(args.lmax),
                   "--interactions", str(args.interactions), "--correlation", str(args.correlation)]
        if "mace" in args.peers:
            peers.append(Peer(args, "mace", matched))
        if "nequip" in args.peers:
            peers.append(Peer(args, "nequip", ["--channels", "32", "--lmax", "1",
                                               "--interactions", "4"]))
    rows = []
    try:
        for r in range(args.rounds):
            order = ["pesforge", *peers] if r % 2 == 0 else [*peers, "pesforge"]
            for who in order:
                got = pesforge_round(args, calculators) if who == "pesforge" else who.round()
                for row in got:
                    row["round"] = r
                    print(json.dumps(row), flush=True)
                rows += got
    finally:
        for peer in peers:
            peer.close()
    summarise(rows)


if __name__ == "__main__":
    main()
