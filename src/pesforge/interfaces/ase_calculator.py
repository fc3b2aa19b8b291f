"""An ASE calculator around any pesforge Potential: a thin adapter over the native path.

Each call builds a one-system batch with :func:`pesforge.data.batch.collate` (the neighbour list
is rebuilt every time) and evaluates it with :func:`pesforge.models.autograd.compute`, so the
results are exactly those of the native path, converted to ASE's types and conventions.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from ase.calculators.calculator import Calculator as _AseCalculator
from ase.calculators.calculator import PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from pesforge.data import keys as K
from pesforge.data.batch import collate, to
from pesforge.data.frame import Frame
from pesforge.models.autograd import compute
from pesforge.models.potential import Potential


class Calculator(_AseCalculator):
    """ASE calculator for a pesforge potential.

    Properties: ``energy`` and ``free_energy`` (eV, equal), ``energies`` (per-atom, eV),
    ``forces`` (eV/Å) and ``stress`` (Voigt xx yy zz yz xz xy, eV/Å³, ASE sign: positive under
    tension), the last only for cells periodic in all three directions.

    Args:
        model_or_path: a :class:`~pesforge.models.Potential` (moved to ``device`` and, if
            ``dtype`` is given, cast in place; its parameters' ``requires_grad`` is left as
            it is) or the path of a model file written by
            :func:`pesforge.models.io.save_model` (the calculator owns that model and freezes
            its parameters: forces need only the gradient with respect to positions).
        device: torch device to evaluate on.
        dtype: floating dtype of the evaluation (e.g. ``torch.float64``); default the model's.
        **kwargs: passed to :class:`ase.calculators.calculator.Calculator`.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, model_or_path: Potential | str | os.PathLike,
                 device: str | torch.device = "cpu",
                 dtype: torch.dtype | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(model_or_path, Potential):
            potential = model_or_path
        elif isinstance(model_or_path, (str, os.PathLike)):
            from pesforge.models.io import load_model

            potential = load_model(model_or_path, device=device).requires_grad_(False)
        else:
            raise TypeError(f"Calculator needs a pesforge Potential or a model file path, "
                            f"not {type(model_or_path).__name__}")
        if dtype is not None:
            potential = potential.to(dtype=dtype)
        self.device = torch.device(device)
        self.potential = potential.to(self.device).eval()
        self.dtype = dtype if dtype is not None else potential.dtype

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        """Evaluate ``atoms``; stress only when requested (it needs the strain derivative)."""
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties
        if want_stress and not (np.all(self.atoms.pbc) and self.atoms.cell.rank == 3):
            raise PropertyNotImplementedError(
                f"stress needs a cell periodic in all three directions; these atoms have "
                f"pbc={self.atoms.pbc.tolist()} and cell rank {self.atoms.cell.rank}")
        frame = Frame.from_atoms(self.atoms, source="<ase calculator>")
        batch = to(collate([frame], self.potential.cutoff, dtype=self.dtype), self.device)
        out = {k: v.detach().cpu().double().numpy() for k, v in
               self.evaluate(batch, want_stress).items()}
        energy = float(out[K.ENERGY][0])
        self.results = {"energy": energy, "free_energy": energy,
                        "energies": out[K.ATOMIC_ENERGIES], "forces": out[K.FORCES]}
        if want_stress:
            self.results["stress"] = full_3x3_to_voigt_6_stress(out[K.STRESS][0])
        self.results.update(self.extra_results(out))

    def evaluate(self, batch: dict[str, torch.Tensor], stress: bool) -> dict[str, torch.Tensor]:
        """The potential's outputs for one batch (subclasses may add keys)."""
        return compute(self.potential, batch, forces=True, stress=stress)

    def extra_results(self, out: dict[str, np.ndarray]) -> dict:
        """Results beyond energy, forces and stress, from :meth:`evaluate`'s outputs."""
        return {}
