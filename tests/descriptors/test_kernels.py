"""The fused outer-product scatter of the angular symmetry functions: values, gradients and
second derivatives (used when training on forces and stress) against autograd's reference."""

import pytest
import torch

from pesforge.descriptors.kernels import Rows, outer_scatter


def reference(s, a, slot, n_rows):
    terms = (s[:, :, None] * a[:, None, :]).reshape(len(s), -1)
    return torch.zeros(n_rows, terms.shape[1], dtype=s.dtype).index_add(0, slot, terms)


@pytest.mark.parametrize("sparse", [False, True])
def test_outer_scatter_matches_reference_values_and_derivatives(sparse):
    torch.manual_seed(0)
    s = torch.rand(12, 3, dtype=torch.float64, requires_grad=True)
    a = torch.rand(12, 4, dtype=torch.float64, requires_grad=True)
    slot = torch.randint(0, 5, (12,))
    rows = Rows(slot, 5, sparse=sparse)
    assert torch.allclose(outer_scatter(s, a, rows), reference(s, a, slot, 5))
    assert torch.allclose(outer_scatter(s, a, slot, 5), reference(s, a, slot, 5))
    assert torch.autograd.gradcheck(lambda x, y: outer_scatter(x, y, rows), (s, a))
    assert torch.autograd.gradgradcheck(lambda x, y: outer_scatter(x, y, rows), (s, a))


def test_outer_scatter_handles_no_triplets_and_chunks():
    empty = torch.zeros(0, 3, dtype=torch.float64)
    out = outer_scatter(empty, torch.zeros(0, 2, dtype=torch.float64), torch.zeros(0, dtype=torch.long), 5)
    assert out.shape == (5, 6) and not out.any()
    torch.manual_seed(1)
    s, a = torch.rand(40000, 2, dtype=torch.float64), torch.rand(40000, 3, dtype=torch.float64)
    slot = torch.randint(0, 11, (40000,))
    for sparse in (False, True):  # dense: several chunks
        rows = Rows(slot, 11, sparse=sparse)
        assert torch.allclose(outer_scatter(s, a, rows), reference(s, a, slot, 11))


def test_outer_scatter_forward_mode_matches_reference():
    torch.manual_seed(2)
    s, a = torch.rand(30, 3, dtype=torch.float64), torch.rand(30, 4, dtype=torch.float64)
    ds, da = torch.rand_like(s), torch.rand_like(a)
    slot = torch.randint(0, 5, (30,))
    _, got = torch.func.jvp(lambda x, y: outer_scatter(x, y, slot, 5), (s, a), (ds, da))
    _, want = torch.func.jvp(lambda x, y: reference(x, y, slot, 5), (s, a), (ds, da))
    assert torch.allclose(got, want)



def test_outer_scatter_with_empty_rows_and_int64_indices():
    torch.manual_seed(3)
    s = torch.rand(10, 2, dtype=torch.float64, requires_grad=True)
    a = torch.rand(10, 3, dtype=torch.float64, requires_grad=True)
    slot = torch.randint(0, 4, (10,)) * 2  # odd rows stay empty
    rows = Rows(slot, 9, sparse=True, index_dtype=torch.int64)
    assert torch.allclose(outer_scatter(s, a, rows), reference(s, a, slot, 9))
    assert torch.autograd.gradgradcheck(lambda x, y: outer_scatter(x, y, rows), (s, a))


def test_row_sum_matches_index_add_with_derivatives():
    from pesforge.descriptors.kernels import row_sum

    torch.manual_seed(4)
    x = torch.rand(20, 3, dtype=torch.float64, requires_grad=True)
    slot = torch.randint(0, 9, (20,))
    want = torch.zeros(11, 3, dtype=torch.float64).index_add(0, slot, x)
    dx = torch.rand_like(x)
    for sparse in (False, True):
        rows = Rows(slot, 11, sparse=sparse)
        assert torch.allclose(row_sum(x, rows), want)
        assert torch.autograd.gradcheck(lambda y, rows=rows: row_sum(y, rows), (x,))
        assert torch.autograd.gradgradcheck(lambda y, rows=rows: row_sum(y ** 2, rows), (x,))
        _, got = torch.func.jvp(lambda y, rows=rows: row_sum(y, rows), (x.detach(),), (dx,))
        assert torch.allclose(got, torch.zeros(11, 3, dtype=torch.float64).index_add(0, slot, dx))


@pytest.mark.parametrize("function", [False, True])
def test_exp_floor_is_exp_above_the_floor(function, monkeypatch):
    from pesforge.descriptors import kernels

    monkeypatch.setattr(kernels, "EXP_FLOOR_FUNCTION_MIN", 0 if function else 10**9)
    x = torch.linspace(-120.0, 2.0, 200, dtype=torch.float64, requires_grad=True)
    y = kernels.exp_floor(x, -80.0)
    above = x.detach() >= -80.0
    assert torch.equal(y[above], torch.exp(x.detach()[above]))
    assert torch.all(y[~above] == torch.exp(torch.tensor(-80.0, dtype=torch.float64)))
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    assert torch.equal(g[above], y[above])
    # below the floor the derivative is exp(floor) (custom backward) or 0 (clamp): both ~0
    assert torch.all(g[~above] == (y[~above] if function else 0.0))
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert torch.equal(gg[above], y.detach()[above])
    z = torch.linspace(-5.0, 1.0, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: kernels.exp_floor(v, -80.0), (z,))
    _, tangent = torch.func.jvp(lambda v: kernels.exp_floor(v, -80.0), (z.detach(),),
                                (torch.ones_like(z),))
    assert torch.allclose(tangent, torch.exp(z.detach()))


def test_gather_is_index_select_with_derivatives():
    from pesforge.descriptors.kernels import gather

    torch.manual_seed(5)
    x = torch.rand(6, 3, dtype=torch.float64, requires_grad=True)
    index = torch.randint(0, 6, (15,))
    dx = torch.rand_like(x)
    for sparse in (False, True):
        rows = Rows(index, 6, sparse=sparse)
        assert torch.equal(gather(x, rows), x.index_select(0, index))
        assert torch.autograd.gradcheck(lambda y, rows=rows: gather(y, rows), (x,))
        assert torch.autograd.gradgradcheck(lambda y, rows=rows: gather(y, rows) ** 2, (x,))
        _, got = torch.func.jvp(lambda y, rows=rows: gather(y, rows), (x.detach(),), (dx,))
        assert torch.equal(got, dx.index_select(0, index))


def test_rows_with_mirrors_sum_each_mirrored_item_twice():
    from pesforge.descriptors.kernels import row_sum

    torch.manual_seed(7)
    x = torch.rand(8, 3, dtype=torch.float64, requires_grad=True)
    slot = torch.randint(0, 5, (8,))
    mirrored, mirror_slot = torch.tensor([1, 4, 6]), torch.tensor([0, 4, 2])
    want = (torch.zeros(5, 3, dtype=torch.float64).index_add(0, slot, x)
            .index_add(0, mirror_slot, x[mirrored]))
    dx = torch.rand_like(x)
    for sparse in (False, True):
        rows = Rows.with_mirrors(slot, mirrored, mirror_slot, 5)
        rows.sparse = sparse
        assert torch.allclose(row_sum(x, rows), want)
        assert torch.autograd.gradcheck(lambda y, rows=rows: row_sum(y, rows), (x,))
        assert torch.autograd.gradgradcheck(lambda y, rows=rows: row_sum(y ** 2, rows), (x,))
        _, got = torch.func.jvp(lambda y, rows=rows: row_sum(y, rows), (x.detach(),), (dx,))
        assert torch.allclose(got, torch.zeros(5, 3, dtype=torch.float64).index_add(
            0, slot, dx).index_add(0, mirror_slot, dx[mirrored]))
