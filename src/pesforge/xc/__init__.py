"""Machine-learned exchange-correlation: constrained neural corrections to PBE that run
self-consistently in PySCF (RKS/UKS), trained on CCSD(T) energy differences with exact-condition
penalties, non-self-consistently or with the SCF in the loop.

PySCF is imported lazily by the functions that need it.
"""

from pesforge.xc.functional import NeuralXC, NeuralXCConfig, load_functional, save_functional

__all__ = ["NeuralXC", "NeuralXCConfig", "load_functional", "save_functional", "attach",
           "make_ks", "XCTrainConfig", "train_xc", "scf_energies", "reaction_errors",
           "load_references"]


def __getattr__(name):  # lazy: these modules import PySCF-facing code
    if name in ("attach", "make_ks"):
        from pesforge.xc import pyscf_hook
        return getattr(pyscf_hook, name)
    if name in ("XCTrainConfig", "train_xc", "scf_energies", "reaction_errors"):
        from pesforge.xc import training
        return getattr(training, name)
    if name == "load_references":
        from pesforge.xc.references import load_references
        return load_references
    raise AttributeError(f"module 'pesforge.xc' has no attribute {name!r}")
