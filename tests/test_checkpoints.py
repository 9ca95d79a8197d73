"""Checkpoints: exact resume, RNG round-trips, corruption detection, atomic writes, the version-1 two-file layout."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

import odevideo.checkpoints as ckpt_mod
from odevideo.checkpoints import (
    FORMAT_VERSION,
    capture_rng_state,
    checkpoint_exists,
    checkpoint_paths,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from odevideo.checkpoints.codec import _Encoder
from odevideo.errors import CheckpointError


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 2))


def make_training(opt_name: str, sched_name: str):
    model = make_model()
    if opt_name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.95), amsgrad=True)
    else:
        opt = torch.optim.Adamax(model.parameters(), lr=2e-2, weight_decay=1e-3)
    if sched_name == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    else:
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    return model, opt, sched


def train_steps(model, opt, sched, n: int) -> None:
    model.train()
    for _ in range(n):
        x = torch.randn(5, 4)  # data and dropout masks come from the global RNGs
        noise = float(np.random.rand()) + random.random()
        loss = ((model(x) - noise) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@pytest.mark.parametrize("opt_name,sched_name", [("adam", "step"), ("adamax", "exp")])
def test_exact_resume(tmp_path, opt_name, sched_name):
    # uninterrupted run: 3 + 4 steps
    seed_all(0)
    model, opt, sched = make_training(opt_name, sched_name)
    train_steps(model, opt, sched, 3)
    save_checkpoint(
        tmp_path / "last", model_state=model.state_dict(), optimizer_state=opt.state_dict(),
        scheduler_state=sched.state_dict(), extra_state={"step": 3, "best": float("inf")},
        config={"lr": 1e-2, "dims": [4, 8]}, rng_state=capture_rng_state(),
    )
    train_steps(model, opt, sched, 4)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    # disturb everything, then resume in fresh objects
    seed_all(123)
    torch.randn(100)
    ck = load_checkpoint(tmp_path / "last")
    model2, opt2, sched2 = make_training(opt_name, sched_name)
    model2.load_state_dict(ck.model_state)
    opt2.load_state_dict(ck.optimizer_state)
    sched2.load_state_dict(ck.scheduler_state)
    restore_rng_state(ck.rng_state)
    assert ck.extra_state == {"step": 3, "best": float("inf")}
    assert ck.config == {"lr": 1e-2, "dims": [4, 8]}
    train_steps(model2, opt2, sched2, 4)

    got = model2.state_dict()
    assert got.keys() == expected.keys()
    for k in expected:
        assert torch.equal(got[k], expected[k]), k
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


def test_optimizer_state_has_torch_layout(tmp_path):
    model, opt, sched = make_training("adam", "step")
    train_steps(model, opt, sched, 2)
    sd = opt.state_dict()
    save_checkpoint(tmp_path / "c", model_state=model.state_dict(), optimizer_state=sd,
                    scheduler_state=sched.state_dict())
    ck = load_checkpoint(tmp_path / "c.json")
    osd = ck.optimizer_state
    assert set(osd["state"]) == set(sd["state"]) and all(isinstance(k, int) for k in osd["state"])
    assert osd["param_groups"] == sd["param_groups"]  # incl. 'params' lists and tuple betas
    assert isinstance(osd["param_groups"][0]["betas"], tuple)
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            assert torch.equal(osd["state"][idx][key], value)
            assert osd["state"][idx][key].dtype == value.dtype
    assert ck.scheduler_state == sched.state_dict()
    assert ck.model_state._metadata == model.state_dict()._metadata  # module versions kept
    assert list(ck.model_state) == list(model.state_dict())  # order kept
    meta = _doc(tmp_path / "c.safetensors")
    assert meta["format_version"] == FORMAT_VERSION
    assert "optim.state.0.exp_avg" in meta["tensors"] and "model.0.weight" in meta["tensors"]
    assert meta["tensors"]["optim.state.0.exp_avg"]["dtype"] == "float32"


def test_tensor_layouts_and_tagged_values(tmp_path):
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    model_state = {
        "transposed": base.t(),  # non-contiguous
        "view_a": base[1],  # shares memory with view_b
        "view_b": base[1:3],
        "half": torch.ones(3, dtype=torch.bfloat16),
        "scalar": torch.tensor(7, dtype=torch.int64),
        "flag": torch.tensor([True, False]),
        "grad": torch.ones(2, requires_grad=True) * 2,
        "empty": torch.zeros(0, 3),
    }
    extra = {
        "step": 5, "tuple": (1, (2.5, "x")), "ints": {1: "a", 2: {"b": None}},
        "arr": np.arange(5, dtype=np.uint32) * 1000000000, "np_scalar": np.float64(0.25),
        "nan": float("nan"), "inf": [float("inf"), -float("inf")], "neg_zero": -0.0,
        "tagged": {"__tensor__": 1}, "tiny": 5e-324, "pi": 3.141592653589793,
        "t": torch.tensor([1.5, 2.5]),
    }
    path = save_checkpoint(tmp_path / "x", model_state=model_state, extra_state=extra)
    assert path == tmp_path / "x.safetensors" and not (tmp_path / "x.json").exists()
    ck = load_checkpoint(tmp_path / "x")
    for k, v in model_state.items():
        assert torch.equal(ck.model_state[k], v.detach()) and ck.model_state[k].dtype == v.dtype
    e = ck.extra_state
    assert e["step"] == 5 and e["tuple"] == (1, (2.5, "x")) and e["ints"] == {1: "a", 2: {"b": None}}
    assert e["arr"].dtype == np.uint32 and np.array_equal(e["arr"], extra["arr"])
    assert e["np_scalar"] == 0.25 and np.isnan(e["nan"])
    assert str(e["neg_zero"]) == "-0.0" and e["tagged"] == {"__tensor__": 1}
    assert e["inf"] == [float("inf"), -float("inf")] and e["tiny"] == 5e-324
    assert e["pi"] == 3.141592653589793

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    json.loads(_text(path), parse_constant=no_constants)  # strictly standard JSON
    assert torch.equal(e["t"], extra["t"])
    assert ck.optimizer_state is None and ck.scheduler_state is None and ck.rng_state is None
    assert ck.metadata["format_version"] == FORMAT_VERSION
    with pytest.raises(CheckpointError, match="cannot save the value at 'extra_state.bad'"):
        save_checkpoint(tmp_path / "y", model_state={}, extra_state={"bad": object()})
    assert not (tmp_path / "y.json").exists() and not (tmp_path / "y.safetensors").exists()


def test_directory_and_prefix_paths(tmp_path):
    assert checkpoint_paths(tmp_path) == (tmp_path / "checkpoint.safetensors",
                                          tmp_path / "checkpoint.json")
    assert checkpoint_paths(tmp_path / "a.b") == (tmp_path / "a.b.safetensors", tmp_path / "a.b.json")
    assert checkpoint_paths(tmp_path / "a.safetensors")[1] == tmp_path / "a.json"
    save_checkpoint(tmp_path, model_state={"w": torch.ones(1)})
    assert checkpoint_exists(tmp_path) and torch.equal(load_checkpoint(tmp_path).model_state["w"],
                                                       torch.ones(1))
    save_checkpoint(tmp_path / "sub" / "dir" / "best", model_state={"w": torch.ones(1)})
    assert checkpoint_exists(tmp_path / "sub" / "dir" / "best")


def test_rng_round_trip(tmp_path):
    seed_all(42)
    torch.randn(3)
    np.random.randn(3)  # leaves a cached gaussian in NumPy's legacy state
    random.gauss(0, 1)
    state = capture_rng_state()
    save_checkpoint(tmp_path / "r", model_state={}, rng_state=state)
    expected = (torch.rand(5), np.random.randn(5), np.random.randint(0, 1000, 5),
                [random.random() for _ in range(5)], random.gauss(0, 1))
    seed_all(7)
    restore_rng_state(load_checkpoint(tmp_path / "r").rng_state)
    got = (torch.rand(5), np.random.randn(5), np.random.randint(0, 1000, 5),
           [random.random() for _ in range(5)], random.gauss(0, 1))
    assert torch.equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1]) and np.array_equal(got[2], expected[2])
    assert got[3] == expected[3] and got[4] == expected[4]
    # in-memory round trip restores the same way, and states are exact copies
    loaded = load_checkpoint(tmp_path / "r").rng_state
    assert torch.equal(loaded["torch"], state["torch"])
    assert np.array_equal(loaded["numpy"]["state"]["key"], state["numpy"]["state"]["key"])
    assert loaded["numpy"]["state"]["key"].dtype == state["numpy"]["state"]["key"].dtype
    assert loaded["python"] == state["python"]
    with pytest.raises(CheckpointError, match="RNG state"):
        restore_rng_state([1, 2])


def _save_simple(prefix, value: float):
    return save_checkpoint(prefix, model_state={"w": torch.full((3,), value)},
                           extra_state={"step": int(value)})


def _text(path) -> str:
    """The JSON part of a checkpoint file."""
    with safe_open(str(path), framework="pt") as fh:
        return fh.metadata()["odevideo_checkpoint"]


def _doc(path) -> dict:
    return json.loads(_text(path))


def _rewrite(path, edit=None, text=None, rehash=False) -> None:
    """Rewrite a checkpoint file with its JSON part edited (``edit(doc)`` or a replacement ``text``), its hash
    left as it was unless ``rehash``."""
    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    if edit is not None:
        doc = json.loads(meta["odevideo_checkpoint"])
        edit(doc)
        text = json.dumps(doc)
    if text is not None:
        meta["odevideo_checkpoint"] = text
    if rehash:
        meta["odevideo_sha256"] = ckpt_mod._digest(meta["odevideo_checkpoint"], tensors)
    save_file(tensors, str(path), metadata=meta)


def _save_v1(prefix, value: float):
    """A checkpoint in the version-1 layout (``<name>.json`` next to ``<name>.safetensors``), as odevideo wrote
    them before a checkpoint was one file."""
    enc = _Encoder()
    st, js = checkpoint_paths(prefix)
    doc = {"format": "odevideo-checkpoint", "format_version": 1, "odevideo_version": "0.1",
           "safetensors_file": st.name, "config": {"lr": 0.5},
           "extra_state": enc.encode({"step": int(value)}, "extra", "extra_state"),
           "model_state": enc.encode({"w": torch.full((3,), value)}, "model", "model_state"),
           "optimizer_state": None, "scheduler_state": None, "rng_state": None, "tensors": enc.manifest}
    save_file(enc.tensors, str(st), metadata={"format": "pt"})
    doc["safetensors_sha256"] = ckpt_mod._sha256(st)
    js.write_text(json.dumps(doc, indent=1))
    return js


def test_one_file_per_checkpoint(tmp_path):
    path = _save_simple(tmp_path / "one", 1)
    assert _listing(tmp_path) == ["one.safetensors"]
    doc = _doc(path)
    assert doc["format_version"] == FORMAT_VERSION and doc["extra_state"] == {"step": 1}
    assert load_checkpoint(tmp_path / "one").path == path


def test_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope.safetensors.*not found.*check the path"):
        load_checkpoint(tmp_path / "nope")
    _save_v1(tmp_path / "a", 1)
    (tmp_path / "a.json").unlink()
    with pytest.raises(CheckpointError, match="interrupted"):
        load_checkpoint(tmp_path / "a")
    _save_v1(tmp_path / "b", 1)
    (tmp_path / "b.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"b.safetensors.*not found"):
        load_checkpoint(tmp_path / "b")


def test_truncated_json(tmp_path):
    path = _save_simple(tmp_path / "c", 1)
    text = _text(path)
    _rewrite(path, text=text[: len(text) // 2])
    with pytest.raises(CheckpointError, match=r"c.safetensors.*not valid JSON"):
        load_checkpoint(tmp_path / "c")
    _rewrite(path, text="[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match=r"not valid JSON.*nested too deeply"):
        load_checkpoint(tmp_path / "c")
    _rewrite(path, text="[1, 2]")
    with pytest.raises(CheckpointError, match="not an odevideo checkpoint"):
        load_checkpoint(tmp_path / "c")
    # version 1: the JSON file
    js = _save_v1(tmp_path / "v", 1)
    js.write_text(js.read_text()[:50])
    with pytest.raises(CheckpointError, match=r"v.json.*not valid JSON"):
        load_checkpoint(tmp_path / "v")


def test_edited_json_part_or_tensor_is_refused(tmp_path):
    path = _save_simple(tmp_path / "e", 10)

    def step_12(doc):
        doc["extra_state"]["step"] = 12

    _rewrite(path, step_12)
    with pytest.raises(CheckpointError, match=r"e.safetensors.*SHA-256") as err:
        load_checkpoint(tmp_path / "e")
    assert "\n" not in str(err.value)
    _rewrite(path, step_12, rehash=True)  # a consistent edit (hash recomputed) is a valid checkpoint
    assert load_checkpoint(tmp_path / "e").extra_state["step"] == 12

    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # one bit of tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tmp_path / "e")

    # the tensors of two names swapped, the metadata kept
    save_checkpoint(tmp_path / "s", model_state={"a": torch.zeros(2), "b": torch.ones(2)})
    with safe_open(str(tmp_path / "s.safetensors"), framework="pt") as fh:
        meta = dict(fh.metadata())
    save_file({"a": torch.ones(2), "b": torch.zeros(2)}, str(tmp_path / "s.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tmp_path / "s")


def test_corrupt_safetensors_and_hash_mismatch(tmp_path):
    path = _save_simple(tmp_path / "d", 1)
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(CheckpointError, match="d.safetensors.*not a readable safetensors file"):
        load_checkpoint(tmp_path / "d")

    # version 1: the JSON file holds the tensor file's hash
    js = _save_v1(tmp_path / "v", 1)
    st = tmp_path / "v.safetensors"
    data = bytearray(st.read_bytes())
    data[-1] ^= 0xFF  # flip a bit of tensor data
    st.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"v.safetensors.*SHA-256"):
        load_checkpoint(tmp_path / "v")
    # garbage whose hash is recorded: the safetensors reader itself must fail cleanly
    st.write_bytes(b"\x00\x01garbage")
    doc = json.loads(js.read_text())
    doc["safetensors_sha256"] = ckpt_mod._sha256(st)
    js.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(tmp_path / "v")
    # a valid tensor file of another version-1 checkpoint: torn pair
    _save_v1(tmp_path / "e", 2)
    _save_v1(tmp_path / "f", 3)
    os.replace(tmp_path / "f.safetensors", tmp_path / "e.safetensors")
    with pytest.raises(CheckpointError, match="torn"):
        load_checkpoint(tmp_path / "e")


def test_version_1_checkpoints_still_load(tmp_path):
    _save_v1(tmp_path / "old", 4)
    assert checkpoint_exists(tmp_path / "old")
    ck = load_checkpoint(tmp_path / "old")
    assert ck.extra_state == {"step": 4} and ck.config == {"lr": 0.5} and ck.path == tmp_path / "old.json"
    assert torch.equal(ck.model_state["w"], torch.full((3,), 4.0))
    # saving over it writes one file and removes the old JSON file; a JSON of something else is left alone
    _save_simple(tmp_path / "old", 5)
    assert _listing(tmp_path) == ["old.safetensors"]
    assert load_checkpoint(tmp_path / "old").extra_state == {"step": 5}
    (tmp_path / "other.json").write_text('{"results": 1}')
    _save_simple(tmp_path / "other", 1)
    assert _listing(tmp_path) == ["old.safetensors", "other.json", "other.safetensors"]


def test_wrong_format_version(tmp_path):
    path = _save_simple(tmp_path / "g", 1)
    _rewrite(path, lambda doc: doc.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(CheckpointError, match="newer odevideo.*upgrade"):
        load_checkpoint(tmp_path / "g")
    _rewrite(path, lambda doc: doc.update(format_version=0))
    with pytest.raises(CheckpointError, match="format version 0"):
        load_checkpoint(tmp_path / "g")


def test_manifest_mismatch(tmp_path):
    path = _save_simple(tmp_path / "h", 1)
    _rewrite(path, lambda doc: doc["tensors"]["model.w"].update(dtype="float64"), rehash=True)
    with pytest.raises(CheckpointError, match="disagree"):
        load_checkpoint(tmp_path / "h")


def _listing(d):
    return sorted(os.listdir(d))


def test_failed_write_leaves_old_checkpoint_intact(tmp_path, monkeypatch):
    _save_simple(tmp_path / "last", 1)
    before = _listing(tmp_path)

    def failing_save_file(tensors, filename, metadata=None):
        with open(filename, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_mod, "save_file", failing_save_file)
    with pytest.raises(CheckpointError, match="disk full"):
        _save_simple(tmp_path / "last", 2)
    with pytest.raises(CheckpointError):
        _save_simple(tmp_path / "fresh", 2)
    monkeypatch.undo()
    assert _listing(tmp_path) == before  # no temp files, no 'fresh.*' files
    assert load_checkpoint(tmp_path / "last").extra_state["step"] == 1

    def interrupted_fsync(path):
        raise KeyboardInterrupt  # interrupted after the temporary was written

    monkeypatch.setattr(ckpt_mod, "fsync_file", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        _save_simple(tmp_path / "last", 3)
    with pytest.raises(KeyboardInterrupt):
        _save_simple(tmp_path / "fresh", 3)
    monkeypatch.undo()
    assert _listing(tmp_path) == before
    ck = load_checkpoint(tmp_path / "last")
    assert ck.extra_state["step"] == 1 and torch.equal(ck.model_state["w"], torch.full((3,), 1.0))


def test_failed_rename_leaves_old_checkpoint(tmp_path, monkeypatch):
    _save_simple(tmp_path / "last", 1)
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        raise OSError("power loss")

    monkeypatch.setattr(ckpt_mod.os, "replace", failing_replace)
    with pytest.raises(CheckpointError, match="power loss"):
        _save_simple(tmp_path / "last", 2)
    monkeypatch.undo()
    assert [os.path.basename(c) for c in calls] == ["last.safetensors"]  # one rename per save
    assert _listing(tmp_path) == ["last.safetensors"]  # temporary removed
    assert load_checkpoint(tmp_path / "last").extra_state["step"] == 1


def test_never_unpickles(tmp_path, monkeypatch):
    _save_simple(tmp_path / "p", 1)
    _save_v1(tmp_path / "q", 1)

    def no_load(*a, **k):
        raise AssertionError("torch.load must not be called")

    monkeypatch.setattr(torch, "load", no_load)
    assert load_checkpoint(tmp_path / "p").extra_state == {"step": 1}
    assert load_checkpoint(tmp_path / "q").extra_state == {"step": 1}
