"""The learned functional: neural corrections to PBE exchange and correlation that keep exact
constraints by construction (see :mod:`pesforge.xc.kernels`).

Exchange: F_x(s) = 1 + kappa u, u = x e^{g(s)} / (1 + x e^{g(s)}), x = mu s^2/kappa, evaluated
per spin channel (exact spin scaling), depending on s only (coordinate scaling), F_x(0) = 1
(uniform gas) and F_x < 1.804 (Lieb–Oxford). Correlation: e_c = e_c^PBE (1 + s^2/(1+s^2) tanh h)
with h(r_s, zeta^2, s). Both networks start with a zero last layer, i.e. as exactly PBE.

The meta-GGA rung (``rung="MGGA"``) adds the iso-orbital indicator alpha of each spin channel
(exchange) and of the total density (correlation) as a network input: g(s, alpha) and
h(r_s, zeta^2, s, alpha), with the correlation factor 1 + d(s, alpha) tanh h, d = 0 only in the
uniform gas (s = 0, alpha = 1). Spin scaling, coordinate scaling, the uniform-gas limit and the
Lieb–Oxford bound still hold by construction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from pesforge.xc import kernels

FORMAT_VERSION = 1
HEADER_KEY = "pesforge_xc"


class NeuralXCConfig(BaseModel):
    """Architecture of :class:`NeuralXC`."""

    model_config = ConfigDict(extra="forbid")
    hidden: int = Field(16, ge=1, description="Width of the hidden layers.")
    layers: int = Field(2, ge=1, description="Number of hidden layers.")
    base: str = Field("PBE", description="Base functional (only PBE is implemented).")
    rung: Literal["GGA", "MGGA"] = Field(
        "GGA", description="GGA: inputs n, grad n; MGGA: also tau via alpha (PySCF 'MGGA').")


def _mlp(n_in: int, hidden: int, layers: int) -> torch.nn.Sequential:
    mods: list[torch.nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [torch.nn.Linear(width, hidden, dtype=torch.float64), torch.nn.Tanh()]
        width = hidden
    last = torch.nn.Linear(width, 1, dtype=torch.float64)
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    return torch.nn.Sequential(*mods, last)


class NeuralXC(torch.nn.Module):
    """PBE plus constrained neural corrections; all inputs/outputs in atomic units, float64."""

    def __init__(self, config: NeuralXCConfig | None = None):
        super().__init__()
        self.config = config or NeuralXCConfig()
        if self.config.base.upper() != "PBE":
            raise ValueError(f"base functional {self.config.base!r} not supported (only PBE)")
        meta = int(self.config.rung == "MGGA")
        self.exchange_net = _mlp(1 + meta, self.config.hidden, self.config.layers)
        self.correlation_net = _mlp(3 + meta, self.config.hidden, self.config.layers)

    @property
    def xctype(self) -> str:
        """PySCF's name of the rung: 'GGA' or 'MGGA'."""
        return self.config.rung

    def g(self, s2: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        """Exchange correction g (same shape as s2) from s^2/(1+s^2) and, for a meta-GGA,
        the alpha feature t = (1 - alpha^2)/(1 + alpha^2) (:func:`kernels.alpha_feature`)."""
        feats = [s2 / (1.0 + s2)] if t is None else [s2 / (1.0 + s2), t]
        return self.exchange_net(torch.stack(feats, dim=-1)).squeeze(-1)

    def _taus(self, tau_a, tau_b):
        if self.xctype == "MGGA" and (tau_a is None or tau_b is None):
            raise ValueError("a meta-GGA functional needs the kinetic energy densities "
                             "tau_a and tau_b")
        return (tau_a, tau_b) if self.xctype == "MGGA" else (None, None)

    def exchange_density(self, n_a, n_b, sigma_aa, sigma_bb, tau_a=None, tau_b=None
                         ) -> torch.Tensor:
        """Exchange energy per volume (Ha/Bohr^3), (N,), from spin densities (Bohr^-3),
        sigma_ss = |grad n_s|^2 and (meta-GGA) tau_s = 1/2 sum_i |grad phi_is|^2."""
        tau_a, tau_b = self._taus(tau_a, tau_b)
        return kernels.spin_scaled_exchange(n_a, n_b, sigma_aa, sigma_bb, self.g, tau_a, tau_b)

    def correlation_density(self, n_a, n_b, sigma_aa, sigma_ab, sigma_bb,
                            ec_base: torch.Tensor, tau_a=None, tau_b=None) -> torch.Tensor:
        """Correlation energy per volume (Ha/Bohr^3), (N,), given the base (PBE) one."""
        tau_a, tau_b = self._taus(tau_a, tau_b)
        mask, feats, departure = kernels.correlation_features(n_a, n_b, sigma_aa, sigma_ab,
                                                              sigma_bb, tau_a, tau_b)
        h = self.correlation_net(feats).squeeze(-1)
        return torch.where(mask, kernels.corrected_correlation(ec_base, departure, h),
                           torch.zeros_like(ec_base))

    def energy_density(self, n_a, n_b, sigma_aa, sigma_ab, sigma_bb, ec_base, tau_a=None,
                       tau_b=None) -> torch.Tensor:
        """XC energy per volume (Ha/Bohr^3), (N,); integrate with the grid weights. The
        kinetic energy densities are used by a meta-GGA and ignored by a GGA."""
        return (self.exchange_density(n_a, n_b, sigma_aa, sigma_bb, tau_a, tau_b)
                + self.correlation_density(n_a, n_b, sigma_aa, sigma_ab, sigma_bb, ec_base,
                                           tau_a, tau_b))

    def zero_(self) -> "NeuralXC":
        """Zero both last layers: the functional becomes exactly PBE."""
        with torch.no_grad():
            for net in (self.exchange_net, self.correlation_net):
                net[-1].weight.zero_()
                net[-1].bias.zero_()
        return self


def save_functional(model: NeuralXC, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write the weights as safetensors with the config as versioned JSON metadata."""
    from pesforge.fileio import save_tensors

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    header = {"format_version": FORMAT_VERSION, "config": model.config.model_dump(),
              "extra": extra or {}}
    return save_tensors(path, tensors, HEADER_KEY, header)


def load_functional(path: str | os.PathLike) -> NeuralXC:
    """Read a functional written by :func:`save_functional` (no unpickling)."""
    from safetensors.torch import load_file

    from pesforge.fileio import read_tensor_header

    header = read_tensor_header(path, HEADER_KEY, "XC functional file")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported XC functional format version "
                         f"{header.get('format_version')!r} (expected {FORMAT_VERSION})")
    model = NeuralXC(NeuralXCConfig(**header["config"]))
    model.load_state_dict(load_file(str(path)))
    return model
