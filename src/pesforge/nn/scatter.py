"""Row sums into an existing tensor, for node sums accumulated block by block over edges."""

from __future__ import annotations

import torch


class _AddRows(torch.autograd.Function):
    """total.index_add_(0, index, source) whose backward keeps only the index (autograd's own
    index_add keeps ``source`` too: summed over edge blocks, every block's messages)."""

    @staticmethod
    def forward(ctx, total, index, source):
        ctx.save_for_backward(index)
        ctx.mark_dirty(total)
        return total.index_add_(0, index, source)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return grad, None, grad.index_select(0, index)


def add_rows_(total: torch.Tensor, index: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """``total[index[e]] += source[e]`` in place (total (A, ...), index (E,), source (E, ...));
    differentiable to any order. In place, so that summing many edge blocks does not copy the
    whole (A, ...) sum per block (time quadratic in system size)."""
    return _AddRows.apply(total, index, source)
