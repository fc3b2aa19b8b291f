"""Machine-learned exchange-correlation: constrained neural corrections to PBE (GGA or
meta-GGA rung) that run self-consistently in PySCF (RKS/UKS), trained on CCSD(T) energy
differences with exact-condition penalties (one-electron self-interaction, fractional-charge
linearity, fractional-spin constancy), non-self-consistently or with the SCF in the loop, with
per-step checkpoints and resume.

PySCF is imported lazily by the functions that need it.
"""

from pesforge.xc.functional import NeuralXC, NeuralXCConfig, load_functional, save_functional

__all__ = ["NeuralXC", "NeuralXCConfig", "load_functional", "save_functional", "attach",
           "make_ks", "XCTrainConfig", "train_xc", "scf_energies", "reaction_errors",
           "load_references", "State", "make_state_ks", "Condition", "fractional_charge",
           "fractional_spin"]

_LAZY = {"attach": "pyscf_hook", "make_ks": "pyscf_hook", "XCTrainConfig": "training",
         "train_xc": "training", "scf_energies": "training", "reaction_errors": "training",
         "load_references": "references", "State": "samples", "make_state_ks": "samples",
         "Condition": "conditions", "fractional_charge": "conditions",
         "fractional_spin": "conditions"}


def __getattr__(name):  # lazy: these modules import PySCF-facing code
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"pesforge.xc.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pesforge.xc' has no attribute {name!r}")
