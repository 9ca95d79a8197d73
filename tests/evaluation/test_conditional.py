"""Values of :func:`odevideo.evaluation.conditional.evaluate`, against numbers computed here by hand.

Three stand-in models with known outputs (the targets themselves, the last observed frame, the targets plus a
constant) on hand-made clips; every section mean, per-time-step curve and baseline is recomputed with numpy
(SSIM: scikit-image's reference implementation) from the definitions in the evaluate docstring.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from odevideo.evaluation.conditional import evaluate
from odevideo.training import Trainer, load_run

skimage_metrics = pytest.importorskip("skimage.metrics")

T, N_OBS, SIZE, DT = 7, 3, 12, 0.1  # 7 frames, 3 observed: frames 3..6 extrapolated, 1,3,5 interpolated


def _clips() -> torch.Tensor:
    """Four (T, 1, 12, 12) clips: a moving bright square on noise, with saturated pixels (0 and 1)."""
    rng = np.random.default_rng(0)
    clips = rng.uniform(0.05, 0.6, size=(4, T, 1, SIZE, SIZE))
    for i in range(4):
        for t in range(T):
            r, c = (i + t) % (SIZE - 4), (2 * i + t) % (SIZE - 4)
            clips[i, t, 0, r:r + 4, c:c + 4] = 1.0
        clips[i, :, 0, 0, :] = 0.0
        clips[i, 0, 0, 0, 0] = 0.9 - 0.1 * i  # first frames differ: the oracle finds its clip by them
    return torch.from_numpy(clips)


class _Oracle(nn.Module):
    """Returns the true frames at the query times (plus ``offset``, unclamped): looks its clip up by the first
    observed frame and the frames by time."""

    def __init__(self, clips, offset=0.0, interpolates=True):
        super().__init__()
        self.clips, self.offset, self.interpolates = clips, offset, interpolates

    def forward(self, frames, times, mask, query_times):
        rows = []
        for b in range(frames.shape[0]):
            i = next(k for k in range(len(self.clips)) if torch.equal(self.clips[k, 0], frames[b, 0]))
            idx = torch.round(query_times[b] / DT).long()
            rows.append(self.clips[i, idx] + self.offset)
        return _Out(torch.stack(rows))


class _CopyLast(nn.Module):
    def forward(self, frames, times, mask, query_times):
        return _Out(frames[:, -1:].expand(-1, query_times.shape[1], -1, -1, -1))


class _Out:
    def __init__(self, frames):
        self.frames = frames


# ------------------------------------------------------------------ by hand
def _per_frame(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """(B, T', C, H, W) -> {metric: (B, T')}; the prediction clipped to [0, 1] first, as evaluate does."""
    p = np.clip(pred, 0.0, 1.0)
    err = p - target
    mse = (err ** 2).mean(axis=(2, 3, 4))
    with np.errstate(divide="ignore"):
        psnr = np.minimum(10 * np.log10(1.0 / mse), 100.0)
    ssim = np.array([[skimage_metrics.structural_similarity(
        target[b, t, 0], p[b, t, 0], gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
        for t in range(p.shape[1])] for b in range(p.shape[0])])
    return {"psnr": psnr, "ssim": ssim, "mse": mse, "mse_frame": (err ** 2).sum(axis=(2, 3, 4)),
            "mae_frame": np.abs(err).sum(axis=(2, 3, 4))}


def _section(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    m = {k: float(v.mean()) for k, v in _per_frame(pred, target).items()}
    m["psnr_of_mean_mse"] = 10 * math.log10(1.0 / m["mse"]) if m["mse"] > 0 else math.inf
    return m


def _expected(model_pred_all: np.ndarray, model_pred_mid: np.ndarray | None, clips: np.ndarray, future_only=False):
    """The whole result by hand. ``model_pred_all``: the model's frames 0..T-1 (only n..T-1 used if future_only)."""
    ctx = clips[:, :N_OBS]
    b = clips.shape[0]
    preds = {
        "model": model_pred_all,
        "all_black": np.zeros_like(clips),
        "copy_last_observed": np.repeat(ctx[:, -1:], T, axis=1),
        "mean_of_observed": np.repeat(ctx.mean(axis=1, keepdims=True), T, axis=1),
    }
    sections = {}
    if not future_only:
        sections["reconstruction"] = {m: _section(p[:, :N_OBS], clips[:, :N_OBS]) for m, p in preds.items()}
    sections["extrapolation"] = {m: _section(p[:, N_OBS:], clips[:, N_OBS:]) for m, p in preds.items()}
    per_t = {}
    for m, p in preds.items():
        f = _per_frame(p, clips)
        if future_only:
            for k in f:
                f[k][:, :N_OBS] = np.nan
        per_t[m] = {k: f[k].mean(axis=0) for k in ("psnr", "ssim", "mse")}
    if model_pred_mid is not None:
        mid = np.arange(1, T - 1, 2)
        blend = 0.5 * (clips[:, mid - 1] + clips[:, mid + 1])
        sections["interpolation"] = {"model": _section(model_pred_mid, clips[:, mid]),
                                     "linear_blend": _section(blend, clips[:, mid])}
    model_psnr = per_t["model"]["psnr"][N_OBS:]
    best_base = np.max([per_t[m]["psnr"][N_OBS:] for m in preds if m != "model"], axis=0)
    assert b == len(clips)
    return sections, per_t, bool((model_psnr > best_base).all())


def _check(result, clips, sections, per_t, beats):
    assert result["num_clips"] == len(clips) and result["num_frames"] == T and result["num_observed"] == N_OBS
    assert set(result["sections"]) == set(sections)
    for sec, methods in sections.items():
        assert set(result["sections"][sec]) == set(methods), sec
        for m, want in methods.items():
            got = result["sections"][sec][m]
            assert set(got) == set(want), (sec, m)
            for k, v in want.items():
                # (1e-6: evaluate averages the context frames in float32)
                assert got[k] == pytest.approx(v, rel=1e-6, abs=1e-7), (sec, m, k)
    for m, curves in per_t.items():
        for k, want in curves.items():
            np.testing.assert_allclose(result["per_timestep"][m][k], want, rtol=1e-6, atol=1e-7, err_msg=f"{m} {k}")
    assert result["model_beats_all_baselines_at_every_extrapolated_frame"] is beats


@pytest.fixture
def cfg(tiny_config):
    return tiny_config(f"data.num_frames={T}", f"task.num_observed={N_OBS}", f"data.image_size={SIZE}",
                       f"data.frame_dt={DT}", "eval.batch_size=3")  # 4 clips: batches of 3 and 1


def _run(model, cfg, clips):
    return evaluate(model, cfg, dataset=[c.float() for c in clips])


def test_oracle_scores_exactly_and_baselines_match_hand_computation(cfg):
    clips = _clips()
    result = _run(_Oracle(clips.float()), cfg, clips)
    c = clips.float().double().numpy()  # the float32 frames evaluate sees
    mid = np.arange(1, T - 1, 2)
    sections, per_t, beats = _expected(c, c[:, mid], c)
    _check(result, c, sections, per_t, beats)
    # the oracle is exact: capped PSNR, SSIM 1, zero errors in every section
    for sec in ("reconstruction", "extrapolation", "interpolation"):
        v = result["sections"][sec]["model"]
        assert v["psnr"] == 100.0 and v["ssim"] == pytest.approx(1.0) and v["mse_frame"] == 0 == v["mae_frame"]
    assert beats


def test_copy_last_model_equals_the_copy_last_baseline_on_extrapolated_frames(cfg):
    clips = _clips()
    result = _run(_CopyLast(), cfg, clips)
    c = clips.float().double().numpy()
    pred_all = np.repeat(c[:, N_OBS - 1:N_OBS], T, axis=1)
    obs = np.arange(0, T, 2)
    pred_mid = np.repeat(c[:, obs[-1]:obs[-1] + 1], len(np.arange(1, T - 1, 2)), axis=1)
    sections, per_t, beats = _expected(pred_all, pred_mid, c)
    _check(result, c, sections, per_t, beats)
    ext = result["sections"]["extrapolation"]
    assert ext["model"] == pytest.approx(ext["copy_last_observed"])
    assert not beats  # it ties with the baseline it copies


@pytest.mark.parametrize("offset", [0.15, -0.2])
def test_known_offset_model_is_clamped_then_scored(cfg, offset):
    clips = _clips()
    result = _run(_Oracle(clips.float(), offset=offset), cfg, clips)
    c = clips.float().double().numpy()
    shifted = (clips.float() + offset).double().numpy()
    mid = np.arange(1, T - 1, 2)
    sections, per_t, beats = _expected(shifted, shifted[:, mid], c)
    _check(result, c, sections, per_t, beats)
    # unclamped, the error would be |offset| at every pixel; the clamp makes it smaller where frames saturate
    px = SIZE * SIZE
    assert result["sections"]["extrapolation"]["model"]["mae_frame"] < abs(offset) * px


def test_future_only_model_has_no_reconstruction_and_nan_free_means(cfg):
    clips = _clips()
    model = _Oracle(clips.float(), offset=0.1, interpolates=False)  # e.g. ConvGRU: asked for frames n+1..T only
    result = _run(model, cfg, clips)
    c = clips.float().double().numpy()
    shifted = (clips.float() + 0.1).double().numpy()
    sections, per_t, beats = _expected(shifted, None, c, future_only=True)
    assert "interpolation" not in result["sections"]
    # per-time-step curves carry NaN for frames that were not asked for; compare the rest
    for m in per_t:
        for k in per_t[m]:
            got = np.array(result["per_timestep"][m][k])
            assert np.isnan(got[:N_OBS]).all() and not np.isnan(got[N_OBS:]).any()
            per_t[m][k] = per_t[m][k][N_OBS:]
            result["per_timestep"][m][k] = list(got[N_OBS:])
    # the baselines too are scored only on the frames the model was asked for
    _check(result, c, sections, per_t, beats)


@pytest.mark.parametrize("family", ["encoder_ode_decoder", "latent_ode_vae"])
def test_both_families_train_with_bf16_and_evaluate(tiny_config, family):
    cfg = tiny_config(f"name={family}", f"method={family}", "train.bf16=true", "train.steps=3")
    res = Trainer(cfg).fit()
    model, cfg = load_run(res.run_dir)
    result = evaluate(model, cfg)
    sec = result["sections"]
    assert set(sec) == {"reconstruction", "extrapolation", "interpolation"}
    assert set(sec["extrapolation"]) == {"model", "all_black", "copy_last_observed", "mean_of_observed"}
    assert set(sec["interpolation"]) == {"model", "linear_blend"}
    # copying the last observed frame is exact at that frame: PSNR hits the documented cap
    assert result["per_timestep"]["copy_last_observed"]["psnr"][cfg.task.num_observed - 1] == 100.0
    assert 0 < sec["extrapolation"]["model"]["ssim"] <= 1
