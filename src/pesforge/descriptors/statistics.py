"""Per-element mean and standard deviation of fixed descriptors, for standardising them."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from pesforge.data import keys as K

#: Floor on a feature's std: features that barely vary in training are not amplified into
#: noise on unseen geometries.
MIN_FEATURE_STD = 1e-2


@torch.no_grad()
def feature_statistics(descriptor, batches: Iterable[dict[str, torch.Tensor]],
                       n_elements: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std), each (n_elements, F) float64, of ``descriptor(batch)`` over ``batches``,
    per element (``descriptor.species`` maps atomic numbers to element indices).

    The std is floored at :data:`MIN_FEATURE_STD`; features that never vary (absent element
    pairs, elements without atoms) keep mean 0 and unit scale.
    """
    f = descriptor.n_features
    total = torch.zeros(n_elements, f, dtype=torch.float64)
    square = torch.zeros(n_elements, f, dtype=torch.float64)
    count = torch.zeros(n_elements, dtype=torch.float64)
    for batch in batches:
        g = descriptor(batch).to(torch.float64)
        s = descriptor.species(batch[K.ATOMIC_NUMBERS])
        total.index_add_(0, s, g)
        square.index_add_(0, s, g * g)
        count.index_add_(0, s, torch.ones_like(s, dtype=torch.float64))
    seen = count > 0
    mean = torch.zeros(n_elements, f, dtype=torch.float64)
    mean[seen] = total[seen] / count[seen, None]
    var = torch.zeros(n_elements, f, dtype=torch.float64)
    var[seen] = square[seen] / count[seen, None] - mean[seen] ** 2
    std = var.clamp_min(0).sqrt()
    return mean, torch.where(std > 1e-8, std.clamp_min(MIN_FEATURE_STD), torch.ones_like(std))
