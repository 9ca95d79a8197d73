"""LPIPS (AlexNet, v0.1 heads): reference values, conventions, weight loading and the downloader."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from odevideo.errors import DatasetError, InputError
from odevideo.metrics import LPIPS, default_weights_dir, lpips_per_frame
from odevideo.metrics import lpips as lpips_module


def _load_image(path):
    """(1, 3, H, W) float32 in [0, 1]."""
    array = np.array(Image.open(path).convert("RGB"), dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0) / 255.0


@pytest.fixture(scope="module")
def weight_files(lpips_data_dir):
    return lpips_data_dir / "alexnet_features.pth", lpips_data_dir / "lpips_v0.1_alex_lin.pth"


@pytest.fixture(scope="module")
def model(weight_files):
    return LPIPS.from_files(*weight_files)


@pytest.fixture(scope="module")
def examples(lpips_data_dir):
    return {name: _load_image(lpips_data_dir / f"ex_{name}.png") for name in ("ref", "p0", "p1")}


def test_reference_values_inputs_in_minus_one_one(weight_files, examples):
    """The reference implementation (inputs scaled to [-1, 1]) gives 0.7219 and 0.1376."""
    net = LPIPS.from_files(*weight_files, input_range="[-1,1]")
    ref, p0, p1 = (examples[k] * 2 - 1 for k in ("ref", "p0", "p1"))
    d0 = float(net(ref, p0))
    d1 = float(net(ref, p1))
    assert round(d0, 4) == 0.7219
    assert round(d1, 4) == 0.1376


def test_reference_values_default_zero_one_convention(model, examples):
    assert model.input_range == "[0,1]"
    distances = model(examples["ref"].repeat(2, 1, 1, 1), torch.cat([examples["p0"], examples["p1"]]))
    assert distances.shape == (2,)
    np.testing.assert_allclose(distances.numpy(), [0.7219, 0.1376], atol=5e-5)


def test_identity_and_symmetry(model, examples):
    x = torch.cat([examples["ref"], examples["p0"]])
    assert torch.equal(model(x, x), torch.zeros(2))
    np.testing.assert_allclose(model(x, x.flip(0)).numpy(), model(x.flip(0), x).numpy(), rtol=1e-5)


def test_per_frame_shapes_grayscale_and_chunks(model):
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(2, 3, 3, 32, 40, generator=g)
    target = torch.rand(2, 3, 3, 32, 40, generator=g)
    values = lpips_per_frame(model, pred, target, batch_size=4)
    assert values.shape == (2, 3) and values.dtype == torch.float64
    direct = model(pred.reshape(6, 3, 32, 40), target.reshape(6, 3, 32, 40))
    np.testing.assert_allclose(values.reshape(-1).numpy(), direct.double().numpy(), rtol=1e-5, atol=1e-7)
    assert (values > 0).all()
    # (N, C, H, W) input -> (N,)
    assert lpips_per_frame(model, pred[0], target[0]).shape == (3,)
    # single-channel frames are repeated to RGB
    grey_p, grey_t = pred[:, :, :1], target[:, :, :1]
    np.testing.assert_allclose(
        lpips_per_frame(model, grey_p, grey_t).numpy(),
        lpips_per_frame(model, grey_p.expand(-1, -1, 3, -1, -1), grey_t.expand(-1, -1, 3, -1, -1)).numpy(),
        rtol=1e-6,
    )
    assert torch.equal(lpips_per_frame(model, pred, pred), torch.zeros(2, 3, dtype=torch.float64))


def test_gradients_reach_inputs_not_weights(model, examples):
    x = examples["p1"].clone().requires_grad_(True)
    model(x, examples["ref"]).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.training


def test_bad_inputs(model):
    x = torch.rand(2, 3, 32, 32)
    with pytest.raises(InputError, match="same shape"):
        model(x, x[:1])
    with pytest.raises(InputError, match="at least 31x31"):
        model(torch.rand(1, 3, 30, 64), torch.rand(1, 3, 30, 64))
    with pytest.raises(InputError, match="channels"):
        model(torch.rand(1, 2, 32, 32), torch.rand(1, 2, 32, 32))
    with pytest.raises(InputError, match="lpips_per_frame"):
        model(torch.rand(1, 2, 3, 32, 32), torch.rand(1, 2, 3, 32, 32))
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="NaN"):
        model(bad, x)
    with pytest.raises(InputError, match="same shape"):
        lpips_per_frame(model, torch.rand(1, 2, 3, 32, 32), torch.rand(1, 3, 3, 32, 32))
    with pytest.raises(InputError, match="input_range"):
        LPIPS(input_range="0..255")


def test_weight_file_errors(tmp_path, weight_files):
    alex, lin = weight_files
    with pytest.raises(DatasetError, match="not found"):
        LPIPS.from_files(tmp_path / "nope.pth", lin)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(DatasetError, match="could not read"):
        LPIPS.from_files(alex, garbage)
    wrong = tmp_path / "wrong.pth"
    torch.save({f"lin{i}.model.1.weight": torch.zeros(1, 8, 1, 1) for i in range(5)}, wrong)
    with pytest.raises(DatasetError, match="shape"):
        LPIPS.from_files(alex, wrong)
    with pytest.raises(DatasetError, match="missing"):
        LPIPS.from_files(lin, lin)  # linear heads are not AlexNet weights


def test_full_torchvision_state_dict_accepted(tmp_path, weight_files, examples):
    alex, lin = weight_files
    state = torch.load(alex, map_location="cpu", weights_only=True)
    state["classifier.1.weight"] = torch.zeros(4, 9216)
    full = tmp_path / "alexnet_full.pth"
    torch.save(state, full)
    net = LPIPS.from_files(full, lin)
    assert round(float(net(examples["ref"], examples["p1"])), 4) == 0.1376


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ODEVIDEO_CACHE", str(tmp_path / "cache"))
    assert default_weights_dir() == tmp_path / "cache" / "weights"
    monkeypatch.delenv("ODEVIDEO_CACHE")
    assert default_weights_dir().parts[-3:] == (".cache", "odevideo", "weights")


def test_pretrained_missing_without_download(tmp_path):
    with pytest.raises(DatasetError) as info:
        LPIPS.pretrained(cache_dir=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / lpips_module.ALEXNET_FILENAME) in message
    assert lpips_module.ALEXNET_URL in message


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pretrained_downloads_from_local_urls(monkeypatch, tmp_path, weight_files, examples):
    alex, lin = weight_files
    monkeypatch.setattr(lpips_module, "ALEXNET_URL", alex.as_uri())
    monkeypatch.setattr(lpips_module, "ALEXNET_SHA256_PREFIX", _sha256(alex)[:8])
    monkeypatch.setattr(lpips_module, "LIN_URL", lin.as_uri())
    cache = tmp_path / "weights"
    net = LPIPS.pretrained(cache_dir=cache, download=True)
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [lpips_module.ALEXNET_FILENAME, lpips_module.LIN_FILENAME]
    )
    assert (cache / lpips_module.ALEXNET_FILENAME).read_bytes() == alex.read_bytes()
    assert round(float(net(examples["ref"], examples["p0"])), 4) == 0.7219
    # second time: served from the cache, no download attempted
    monkeypatch.setattr(lpips_module, "ALEXNET_URL", (tmp_path / "gone.pth").as_uri())
    monkeypatch.setattr(lpips_module, "LIN_URL", (tmp_path / "gone.pth").as_uri())
    again = LPIPS.pretrained(cache_dir=cache, download=False)
    assert round(float(again(examples["ref"], examples["p1"])), 4) == 0.1376


def test_pretrained_env_cache(monkeypatch, tmp_path, weight_files):
    alex, lin = weight_files
    monkeypatch.setenv("ODEVIDEO_CACHE", str(tmp_path))
    (tmp_path / "weights").mkdir()
    shutil.copy(alex, tmp_path / "weights" / lpips_module.ALEXNET_FILENAME)
    shutil.copy(lin, tmp_path / "weights" / lpips_module.LIN_FILENAME)
    assert isinstance(LPIPS.pretrained(download=False), LPIPS)


def test_download_checksum_mismatch_leaves_nothing(monkeypatch, tmp_path, weight_files):
    alex, lin = weight_files
    assert not _sha256(alex).startswith(lpips_module.ALEXNET_SHA256_PREFIX)  # not the torchvision file
    monkeypatch.setattr(lpips_module, "ALEXNET_URL", alex.as_uri())
    monkeypatch.setattr(lpips_module, "LIN_URL", lin.as_uri())
    cache = tmp_path / "weights"
    with pytest.raises(DatasetError, match="checksum mismatch"):
        LPIPS.pretrained(cache_dir=cache, download=True)
    assert list(cache.iterdir()) == []  # no partial or unverified file kept


def test_download_file_errors(tmp_path, weight_files):
    alex, _ = weight_files
    with pytest.raises(DatasetError, match="could not download"):
        lpips_module.download_file((tmp_path / "missing.pth").as_uri(), tmp_path / "out" / "a.pth")
    assert list((tmp_path / "out").iterdir()) == []
    dest = lpips_module.download_file(alex.as_uri(), tmp_path / "out" / "b.pth", _sha256(alex)[:8].upper())
    assert dest.read_bytes() == alex.read_bytes()
    with pytest.raises(DatasetError, match="checksum"):
        lpips_module.download_file(alex.as_uri(), tmp_path / "out" / "c.pth", "00000000")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.pth"]
