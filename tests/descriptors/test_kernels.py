"""The fused outer-product scatter of the angular symmetry functions: values, gradients and
second derivatives (used when training on forces and stress) against autograd's reference."""

import torch

from pesforge.descriptors.kernels import outer_scatter


def reference(s, a, slot, n_rows):
    terms = (s[:, :, None] * a[:, None, :]).reshape(len(s), -1)
    return torch.zeros(n_rows, terms.shape[1], dtype=s.dtype).index_add(0, slot, terms)


def test_outer_scatter_matches_reference_values_and_derivatives():
    torch.manual_seed(0)
    s = torch.rand(40, 3, dtype=torch.float64, requires_grad=True)
    a = torch.rand(40, 4, dtype=torch.float64, requires_grad=True)
    slot = torch.randint(0, 7, (40,))
    assert torch.allclose(outer_scatter(s, a, slot, 7), reference(s, a, slot, 7))
    assert torch.autograd.gradcheck(lambda x, y: outer_scatter(x, y, slot, 7), (s, a))
    assert torch.autograd.gradgradcheck(lambda x, y: outer_scatter(x, y, slot, 7), (s, a))


def test_outer_scatter_handles_no_triplets_and_chunks():
    empty = torch.zeros(0, 3, dtype=torch.float64)
    out = outer_scatter(empty, torch.zeros(0, 2, dtype=torch.float64), torch.zeros(0, dtype=torch.long), 5)
    assert out.shape == (5, 6) and not out.any()
    torch.manual_seed(1)
    s, a = torch.rand(40000, 2, dtype=torch.float64), torch.rand(40000, 3, dtype=torch.float64)
    slot = torch.randint(0, 11, (40000,))
    assert torch.allclose(outer_scatter(s, a, slot, 11), reference(s, a, slot, 11))


def test_outer_scatter_forward_mode_matches_reference():
    torch.manual_seed(2)
    s, a = torch.rand(30, 3, dtype=torch.float64), torch.rand(30, 4, dtype=torch.float64)
    ds, da = torch.rand_like(s), torch.rand_like(a)
    slot = torch.randint(0, 5, (30,))
    _, got = torch.func.jvp(lambda x, y: outer_scatter(x, y, slot, 5), (s, a), (ds, da))
    _, want = torch.func.jvp(lambda x, y: reference(x, y, slot, 5), (s, a), (ds, da))
    assert torch.allclose(got, want)

