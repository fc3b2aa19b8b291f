"""The files a finished training run leaves in its folder, besides config and checkpoint.

``model.safetensors`` (the best EMA model, with level of theory, elements and metrics in its
``extra``; for Δ-learning with a baseline model, the composite baseline + Δ, the Δ model alone
going to ``delta.safetensors``), ``metrics.json`` (train / validation / test metrics),
``resolved.json`` (derived values and the training summary), ``training_curve.png`` and
energy/force parity plots of the test set (the validation set when there is no test file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pesforge.fileio import write_json
from pesforge.models.io import save_model
from pesforge.models.potential import Potential
from pesforge.training.metrics import metrics_from_predictions, predict
from pesforge.training.prepare import TrainingData


def write_outputs(output: Path, model: Potential, data: TrainingData,
                  history: list[dict[str, Any]], resolved: dict[str, Any],
                  device: str | torch.device = "cpu",
                  composite: Potential | None = None) -> dict[str, Any]:
    """Evaluate ``model`` on every split, write the run's result files; return the metrics.

    ``composite``: the potential to save as ``model.safetensors`` when it is not ``model``
    itself (Δ-learning: baseline + Δ); the metrics are those of ``model`` on the Δ labels,
    which equal the composite's errors against the high-level labels.
    """
    from pesforge.analysis.plots import plot_parity, plot_training_curve

    model.eval()
    metrics: dict[str, Any] = {}
    predictions = {}
    for name, frames in (("train", data.train), ("validation", data.validation),
                         ("test", data.test)):
        if frames:
            predictions[name] = predict(model, frames, device=device)
            metrics[name] = metrics_from_predictions(predictions[name])
    level = data.level_of_theory
    extra = {"level_of_theory": None if level is None else level.to_dict(),
             "level_of_theory_text": None if level is None else str(level),
             "elements": data.elements, "metrics": metrics,
             "training": resolved.get("training", {})}
    if "baseline" in resolved:
        extra["baseline"] = resolved["baseline"]
    if composite is not None and composite is not model:
        save_model(model, output / "delta.safetensors", extra=extra)
    save_model(model if composite is None else composite, output / "model.safetensors",
               extra=extra)
    write_json(output / "metrics.json", metrics)
    write_json(output / "resolved.json", resolved)
    plot_training_curve(history, output / "training_curve.png")
    shown = "test" if "test" in predictions else "validation"
    p = predictions[shown]
    plot_parity(p.energy_ref / p.n_atoms, p.energy_pred / p.n_atoms,
                output / "parity_energy.png", quantity=f"{shown} energy per atom", unit="eV/atom")
    plot_parity(p.forces_ref, p.forces_pred, output / "parity_forces.png",
                quantity=f"{shown} force components", unit="eV/Å")
    return metrics
