import pytest
import torch

from pesforge.training.ema import EMA


def model_and_steps():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1).double()
    values = [torch.randn_like(model.weight) for _ in range(4)]
    return model, values


def test_shadow_follows_warmup_formula():
    model, values = model_and_steps()
    ema = EMA(model, decay=0.9)
    expected = model.weight.detach().clone()
    for n, v in enumerate(values):
        with torch.no_grad():
            model.weight.copy_(v)
        d = min(0.9, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * v
        ema.update()
    assert torch.allclose(ema.shadow["weight"], expected, rtol=0, atol=1e-15)


def test_applied_swaps_and_restores():
    model, values = model_and_steps()
    ema = EMA(model, decay=0.5)
    with torch.no_grad():
        model.weight.copy_(values[0])
    ema.update()
    live = model.weight.detach().clone()
    with ema.applied() as m:
        assert torch.equal(m.weight, ema.shadow["weight"])
        assert not torch.equal(m.weight, live)
    assert torch.equal(model.weight, live)


def test_zero_decay_tracks_live_weights_and_state_round_trips():
    model, values = model_and_steps()
    ema = EMA(model, decay=0.0)
    with torch.no_grad():
        model.weight.copy_(values[1])
    ema.update()
    assert torch.equal(ema.shadow["weight"], model.weight)
    tensors, scalars = ema.state_dict()
    other = EMA(torch.nn.Linear(2, 1).double(), decay=0.0)
    other.load_state_dict(tensors, scalars)
    assert other.n_updates == 1 and torch.equal(other.shadow["weight"], values[1])
    with pytest.raises(ValueError):
        EMA(model, decay=1.0)
