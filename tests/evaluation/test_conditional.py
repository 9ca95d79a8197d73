"""Values of :func:`odevideo.evaluation.conditional.evaluate`, against numbers computed here by hand.

Three stand-in models with known outputs (the targets themselves, the last observed frame, the targets plus a
constant) on hand-made clips; every section mean, per-time-step curve and baseline is recomputed with numpy
(SSIM: scikit-image's reference implementation) from the definitions in the evaluate docstring. The
interpolation baselines too, at gaps 2 and 3: ``dis_flow`` from OpenCV's DIS flow called here and a numpy
bilinear warp. Mutated baselines (the target itself, the next observation, the wrong tau) must fail these checks.
The paired model-minus-baseline comparisons are recomputed from per-clip scores.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

import odevideo.evaluation.conditional as conditional
from odevideo.errors import ConfigError, InputError
from odevideo.evaluation.conditional import evaluate, format_paired_table, interpolation_frames
from odevideo.evaluation.paired import paired_difference
from odevideo.interpolation import has_opencv
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


def _mid(gap: int) -> np.ndarray:
    """Frames strictly between two of the observed 0, gap, 2 gap, ... < T."""
    last = (T - 1) // gap * gap
    return np.array([j for j in range(1, last) if j % gap])


def _warp_np(img: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Backward bilinear warp of one (H, W) image, ``out[y, x] = img(y + fy, x + fx)``, coordinates clamped to the
    image (the edge pixel outside it)."""
    h, w = img.shape
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    x = np.clip(xs + fx.astype(np.float64), 0, w - 1)
    y = np.clip(ys + fy.astype(np.float64), 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    ax, ay = x - x0, y - y0
    return ((1 - ay) * ((1 - ax) * img[y0, x0] + ax * img[y0, x1]) + ay * ((1 - ax) * img[y1, x0] + ax * img[y1, x1]))


def _dis_by_hand(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DIS flow both ways on the 8-bit frames (OpenCV, medium preset) -> ``(2 ways, H, W, 2)``."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    g0, g1 = (np.round(x.astype(np.float32) * np.float32(255)).astype(np.uint8) for x in (a, b))
    return np.stack([dis.calc(g0, g1, None), dis.calc(g1, g0, None)])


def _interp_baselines(clips: np.ndarray, gap: int) -> dict[str, np.ndarray]:
    """The interpolation baselines of the frames ``_mid(gap)``, by hand: frame j between the observations
    p = gap * (j // gap) and p + gap, at tau = (j - p) / gap."""
    mid = _mid(gap)
    prev = mid // gap * gap
    tau = ((mid - prev) / gap)[None, :, None, None, None]
    f0, f1 = clips[:, prev], clips[:, prev + gap]
    out = {"repeat_previous": f0.copy(), "linear_blend": (1 - tau) * f0 + tau * f1}
    if has_opencv():
        flow = np.zeros_like(f0)
        for b in range(clips.shape[0]):
            for i in range(len(mid)):
                t = tau[0, i, 0, 0, 0]
                f01, f10 = _dis_by_hand(f0[b, i, 0], f1[b, i, 0])
                w0 = _warp_np(f0[b, i, 0], t * f10[..., 0], t * f10[..., 1])  # back to frame p
                w1 = _warp_np(f1[b, i, 0], (1 - t) * f01[..., 0], (1 - t) * f01[..., 1])  # on to frame p + gap
                flow[b, i, 0] = (1 - t) * w0 + t * w1
        out["dis_flow"] = flow
    return out


def _expected(model_pred_all: np.ndarray, model_pred_mid: np.ndarray | None, clips: np.ndarray, future_only=False,
              gap: int = 2):
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
        mid = _mid(gap)
        sections["interpolation"] = {"model": _section(model_pred_mid, clips[:, mid])}
        for name, pred in _interp_baselines(clips, gap).items():
            sections["interpolation"][name] = _section(pred, clips[:, mid])
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
                # (1e-6: evaluate averages the context frames in float32; its warp is float32 grid_sample)
                assert got[k] == pytest.approx(v, rel=1e-6 if m != "dis_flow" else 1e-5, abs=1e-7), (sec, m, k)
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
    assert set(sec["interpolation"]) == {"model", "linear_blend", "repeat_previous"} | (
        {"dis_flow"} if has_opencv() else set())
    assert set(result["paired"]["interpolation"]) == set(sec["interpolation"]) - {"model"}
    # copying the last observed frame is exact at that frame: PSNR hits the documented cap
    assert result["per_timestep"]["copy_last_observed"]["psnr"][cfg.task.num_observed - 1] == 100.0
    assert 0 < sec["extrapolation"]["model"]["ssim"] <= 1


# ------------------------------------------------------------------ interpolation gap, baselines, paired comparisons
def test_gap_3_observes_every_third_frame_and_baselines_match_hand_computation(cfg):
    clips = _clips()
    cfg.eval.interp_gap = 3  # observe 0, 3, 6; predict 1, 2 (tau 1/3, 2/3) and 4, 5
    seen = []

    class Spy(_Oracle):
        def forward(self, frames, times, mask, query_times):
            seen.append((torch.round(times[0] / DT).long().tolist(), torch.round(query_times[0] / DT).long().tolist()))
            return super().forward(frames, times, mask, query_times)

    result = _run(Spy(clips.float()), cfg, clips)
    assert ([0, 3, 6], [1, 2, 4, 5]) in seen and result["interp_gap"] == 3
    c = clips.float().double().numpy()
    sections, per_t, beats = _expected(c, c[:, _mid(3)], c, gap=3)
    _check(result, c, sections, per_t, beats)
    obs, mid = interpolation_frames(10, 3)
    assert obs.tolist() == [0, 3, 6, 9] and mid.tolist() == [1, 2, 4, 5, 7, 8]
    assert interpolation_frames(8, 3)[1].tolist() == [1, 2, 4, 5]  # frame 7: after the last observation
    assert interpolation_frames(3, 3)[1].numel() == 0 == interpolation_frames(0, 2)[1].numel()
    assert evaluate(_Oracle(clips.float()), cfg, dataset=list(clips.float()), interp_gap=2)["interp_gap"] == 2


def _mutant_target(frames, gap, flow=None):
    """repeat_previous replaced by the target frames themselves."""
    out = REAL_BASELINES(frames, gap, flow)
    out["repeat_previous"] = frames[:, interpolation_frames(frames.shape[1], gap)[1]]
    return out


def _mutant_next(frames, gap, flow=None):
    """repeat_previous repeats the next observation instead."""
    out = REAL_BASELINES(frames, gap, flow)
    mid = interpolation_frames(frames.shape[1], gap)[1]
    out["repeat_previous"] = frames[:, mid // gap * gap + gap]
    return out


def _mutant_tau(frames, gap, flow=None):
    """linear_blend at 1 - tau (the same as tau at gap 2: caught at gap 3 only)."""
    out = REAL_BASELINES(frames, gap, flow)
    mid = interpolation_frames(frames.shape[1], gap)[1]
    prev = mid // gap * gap
    tau = (1 - (mid - prev) / gap).to(frames.dtype)[None, :, None, None, None]
    out["linear_blend"] = (1 - tau) * frames[:, prev] + tau * frames[:, prev + gap]
    return out


REAL_BASELINES = conditional.interpolation_baselines


@pytest.mark.parametrize("mutant", [_mutant_target, _mutant_next, _mutant_tau])
def test_hand_computation_catches_mutated_baselines(cfg, monkeypatch, mutant):
    cfg.eval.interp_gap = 3
    monkeypatch.setattr(conditional, "interpolation_baselines", mutant)
    clips = _clips()[:2]
    result = evaluate(_Oracle(clips.float()), cfg, dataset=list(clips.float()), interpolation=True)
    c = clips.float().double().numpy()
    sections, per_t, beats = _expected(c, c[:, _mid(3)], c, gap=3)
    with pytest.raises(AssertionError, match="interpolation"):
        _check(result, c, sections, per_t, beats)


def test_paired_difference_by_hand():
    a = [30.0, 25.0, 28.0, 31.0]
    b = [29.0, 25.5, 26.0, 30.0]
    d = [1.0, -0.5, 2.0, 1.0]  # mean 0.875; deviations 0.125, -1.375, 1.125, 0.125
    var = (0.125 ** 2 + 1.375 ** 2 + 1.125 ** 2 + 0.125 ** 2) / 3
    got = paired_difference(a, b)
    assert got.n == 4 and got.mean == pytest.approx(sum(d) / 4) and got.se == pytest.approx(math.sqrt(var / 4))
    assert paired_difference(torch.tensor(a), torch.tensor(b)) == pytest.approx(tuple(got))
    # NaN pairs are left out; one window has no standard error; none has no mean
    part = paired_difference([1.0, float("nan"), 3.0], [0.0, 1.0, float("nan")])
    assert part.n == 1 and part.mean == 1.0 and math.isnan(part.se) and part.as_dict() == {"mean": 1.0, "se": None,
                                                                                          "n": 1}
    assert paired_difference([], []).n == 0
    # the frame-interpolation scoring's dict form is the same computation
    from odevideo.evaluation.interpolation import paired_difference as as_dict

    assert as_dict(a, b) == {"mean_diff": got.mean, "se": got.se, "windows": 4}
    with pytest.raises(InputError, match="one length"):
        paired_difference([1.0, 2.0], [1.0])


def test_paired_results_are_model_minus_baseline_per_clip(cfg):
    clips = _clips()
    result = _run(_Oracle(clips.float(), offset=0.05), cfg, clips)
    c = clips.float().double().numpy()
    shifted = (clips.float() + 0.05).double().numpy()
    mid = _mid(2)
    model_interp = _per_frame(shifted[:, mid], c[:, mid])
    for name, pred in _interp_baselines(c, 2).items():
        base = _per_frame(pred, c[:, mid])
        for k in ("psnr", "ssim"):
            d = model_interp[k].mean(1) - base[k].mean(1)  # one score per clip (window)
            got = result["paired"]["interpolation"][name][k]
            tol = 1e-6 if name != "dis_flow" else 1e-5
            assert got["n"] == 4 and got["mean"] == pytest.approx(d.mean(), rel=tol, abs=1e-6), (name, k)
            assert got["se"] == pytest.approx(d.std(ddof=1) / 2, rel=1e-4, abs=1e-6), (name, k)
    model_ext = _per_frame(shifted[:, N_OBS:], c[:, N_OBS:])
    copy = _per_frame(np.repeat(c[:, N_OBS - 1:N_OBS], T - N_OBS, axis=1), c[:, N_OBS:])
    d = model_ext["psnr"].mean(1) - copy["psnr"].mean(1)
    got = result["paired"]["extrapolation"]["copy_last_observed"]["psnr"]
    assert got["mean"] == pytest.approx(d.mean(), rel=1e-6) and got["se"] == pytest.approx(d.std(ddof=1) / 2, rel=1e-4)
    table = format_paired_table(result)
    assert "| interpolation | linear_blend |" in table and "| extrapolation | all_black |" in table


def test_bad_gap_is_refused(cfg, tiny_config):
    clips = _clips()
    for gap in (1, 0, 2.5, True, "3"):
        with pytest.raises(InputError, match="interp_gap"):
            evaluate(_Oracle(clips.float()), cfg, dataset=list(clips.float()), interp_gap=gap)
    with pytest.raises(ConfigError, match="eval.interp_gap"):
        tiny_config("eval.interp_gap=1").check()
    # a gap as long as the clip: no two observations around a frame, no interpolation section
    result = evaluate(_Oracle(clips.float()), cfg, dataset=list(clips.float()), interp_gap=T)
    assert "interpolation" not in result["sections"] and "interpolation" not in result["paired"]
