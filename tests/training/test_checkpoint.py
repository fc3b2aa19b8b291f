import json
import math
import struct

import pytest
import torch

from pesforge.training import checkpoint as ckpt


def nested_state():
    model = torch.nn.Linear(3, 2).double()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98))
    model(torch.randn(4, 3, dtype=torch.float64)).pow(2).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=2)
    sched.step(1.0)
    return model, opt, sched, {
        "model": model.state_dict(), "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(), "rng": torch.get_rng_state(),
        "history": [{"epoch": 1, "loss": 0.1 + 0.2}], "best": None, "worst": math.inf,
        "pair": (1, "a", -math.inf), "int_keys": {0: "zero", 7: [1.5]},
        "scalar": torch.tensor(3.25, dtype=torch.float64), "empty": {},
    }


def assert_same(a, b):
    if isinstance(a, dict):  # an OrderedDict comes back as a plain dict
        assert isinstance(b, dict)
    else:
        assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_round_trip_is_exact(tmp_path):
    *_, state = nested_state()
    path = ckpt.save_checkpoint(tmp_path / "last.safetensors", state)
    assert_same(state, ckpt.load_checkpoint(path))


def test_optimizer_and_scheduler_resume_identically(tmp_path):
    model, opt, sched, state = nested_state()
    loaded = ckpt.load_checkpoint(ckpt.save_checkpoint(tmp_path / "c.safetensors", state))
    twin = torch.nn.Linear(3, 2).double()
    twin.load_state_dict(loaded["model"])
    twin_opt = torch.optim.AdamW(twin.parameters(), lr=1.0)
    twin_opt.load_state_dict(loaded["optimizer"])
    twin_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(twin_opt)
    twin_sched.load_state_dict(loaded["scheduler"])
    x = torch.randn(5, 3, dtype=torch.float64)
    for m, o, s in ((model, opt, sched), (twin, twin_opt, twin_sched)):
        for _ in range(3):
            o.zero_grad()
            m(x).pow(2).sum().backward()
            o.step()
            s.step(2.0)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)
    assert opt.param_groups[0]["lr"] == twin_opt.param_groups[0]["lr"]


def test_file_is_plain_safetensors_without_pickle(tmp_path):
    *_, state = nested_state()
    raw = ckpt.save_checkpoint(tmp_path / "c.safetensors", state).read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    body = raw[8 + header_len:]
    spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
    # The body is exactly the concatenated raw tensor bytes: no room for anything pickled.
    assert spans[0][0] == 0 and spans[-1][1] == len(body)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    structure = json.loads(header["__metadata__"][ckpt.METADATA_KEY])
    assert structure["format_version"] == ckpt.FORMAT_VERSION


def test_failed_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    import safetensors.torch

    path = tmp_path / "checkpoint" / "last.safetensors"
    ckpt.save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})

    def half_write(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x00" * 10)
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(safetensors.torch, "save_file", half_write)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(path, {"epoch": 2, "w": torch.zeros(3)})
    monkeypatch.undo()
    state = ckpt.load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.safetensors"]


def test_unsupported_objects_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a set at things"):
        ckpt.save_checkpoint(tmp_path / "c.safetensors", {"things": {1, 2}})
    from safetensors.torch import save_file

    save_file({"x": torch.ones(1)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ValueError, match="not a pesforge checkpoint"):
        ckpt.load_checkpoint(tmp_path / "plain.safetensors")
    with pytest.raises(FileNotFoundError):
        ckpt.load_checkpoint(tmp_path / "missing.safetensors")
