"""Potentials: the interface, the autograd derivatives, architectures and model files."""

from pesforge.models.autograd import compute
from pesforge.models.bpnn import BPNN
from pesforge.models.equivariant import EquivariantPotential
from pesforge.models.io import load_model, save_model
from pesforge.models.painn import PaiNN
from pesforge.models.potential import REGISTRY, Potential, SumPotential, build, describe, register

__all__ = ["Potential", "SumPotential", "BPNN", "PaiNN", "EquivariantPotential", "compute",
           "load_model", "save_model", "register", "build", "describe", "REGISTRY"]
