"""Vid-ODE's paper protocols (figures 1, 3, 6, 8): protocols, determinism, oracle checks, LPIPS, PNGs."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from odevideo.errors import InputError
from odevideo.methods.prediction import VideoPrediction, gather_time, last_observed_index
from odevideo.methods.vid_ode.baselines import VidRNN
from odevideo.methods.vid_ode.protocols import (
    CompositionComponents,
    FrameRateOutput,
    arbitrary_frame_rate,
    composition_components,
    plot_composition,
    plot_sampling_rate_sweep,
    plot_unseen_timesteps,
    sampling_rate_sweep,
    save_frame_strip,
    sweep_masks,
    unseen_timestep_interpolation,
    write_experiment_result,
)
from odevideo.methods.vid_ode.vid_ode import VidODE
from odevideo.metrics import LPIPS, mse_per_pixel
from odevideo.solvers import SolverConfig

LPIPS_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "lpips"
EULER = SolverConfig(method="euler", step_size=0.05)  # fixed steps: a clip's output does not depend on its batch


def _vid_ode(**kw):
    torch.manual_seed(0)
    return VidODE(in_channels=1, hidden_channels=8, n_downs=2, decoder_solver=EULER, **kw)


def _vid_rnn():
    torch.manual_seed(1)
    return VidRNN(in_channels=1, hidden_channels=8, n_downs=2, step=0.1)


def render(times: torch.Tensor, size: int = 16) -> torch.Tensor:
    """An analytic clip: a Gaussian blob moving right and bobbing; ``(..., Q)`` times -> ``(..., Q, 1, size, size)``."""
    t = times.float()[..., None, None]
    grid = torch.arange(size, dtype=torch.float32)
    cx = size * (0.2 + 0.6 * t)
    cy = size * (0.5 + 0.2 * torch.sin(6.0 * t))
    blob = torch.exp(-((grid.view(1, -1) - cx) ** 2 + (grid.view(-1, 1) - cy) ** 2) / (0.02 * size * size))
    return blob.unsqueeze(-3)


def _clips(n=3, t=10, size=16, offsets=(0.0, 0.13, 0.31)):
    times = torch.arange(t, dtype=torch.float32) * 0.1
    all_times = torch.stack([times + offsets[i % len(offsets)] for i in range(n)])
    return render(all_times, size), all_times


def png_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of the PNG file at ``path``, after checking it is a non-empty PNG (signature, IHDR)."""
    data = Path(path).read_bytes()
    assert len(data) > 0 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    with Image.open(path) as img:
        img.load()  # the whole image decodes
        assert img.format == "PNG" and img.size == (width, height)
    return width, height


class Oracle(nn.Module):
    """Knows the analytic clip: returns the true frames at the query times."""

    def forward(self, frames, times, mask, query_times):
        q = query_times if query_times.dim() == 2 else query_times.expand(frames.shape[0], -1)
        out = render(q, frames.shape[-1])
        return VideoPrediction(frames=out, logits=out, latents=out.new_zeros(*q.shape, 1), query_times=q)


class CopyLast(nn.Module):
    """Repeats the last observed frame at every query time."""

    def forward(self, frames, times, mask, query_times):
        mask = torch.ones(frames.shape[:2], dtype=torch.bool) if mask is None else mask
        last = gather_time(frames, last_observed_index(mask))
        out = last[:, None].expand(-1, query_times.shape[-1], -1, -1, -1)
        latents = out.new_zeros(*out.shape[:2], 1)
        return VideoPrediction(frames=out, logits=out, latents=latents, query_times=query_times)


def test_sampling_rate_sweep_protocol_shapes_and_keys():
    frames, times = _clips()
    ext = sampling_rate_sweep(_vid_ode(), frames, times, num_observed=5, seed=0, batch_size=2)
    assert ext["experiment"] == "sampling_rate_sweep" and ext["task"] == "extrapolation"
    assert ext["input_indices"] == [0, 1, 2, 3, 4] and ext["target_indices"] == [5, 6, 7, 8, 9]
    rows = ext["models"]["model"]
    assert [r["rate"] for r in rows] == [1.0, 0.8, 0.6, 0.4, 0.2]
    assert [r["observed_inputs_per_clip"] for r in rows] == [5.0, 4.0, 3.0, 2.0, 1.0]
    for r in rows:
        assert {"mse", "mse_x1e3", "psnr", "ssim", "lpips", "per_target", "mask_sha256"} <= set(r)
        assert r["lpips"] is None and len(r["per_target"]["mse"]) == 5 and r["mse"] > 0
        assert r["mse_x1e3"] == pytest.approx(1e3 * r["mse"])
    interp = sampling_rate_sweep(_vid_ode(), frames, times, num_observed=5, task="interpolation", rates=(1.0, 0.4))
    assert interp["input_indices"] == [0, 2, 4, 6, 8] and interp["target_indices"] == [1, 3, 5, 7]
    assert all(len(r["per_target"]["psnr"]) == 4 for r in interp["models"]["model"])
    short = sampling_rate_sweep(_vid_ode(), frames, times, num_observed=4, num_predicted=3, rates=(0.5,))
    assert short["target_indices"] == [4, 5, 6]


def test_sweep_masks_keep_the_first_frame_and_are_nested():
    masks = sweep_masks(50, 5, seed=3)
    assert all(bool(m[:, 0].all()) for m in masks.values())
    assert [int(m.sum(1).unique()) for m in masks.values()] == [5, 4, 3, 2, 1]
    ordered = list(masks.values())
    for hi, lo in zip(ordered, ordered[1:]):
        assert bool((lo <= hi).all())  # a lower rate observes a subset
    assert torch.equal(sweep_masks(20, 5, seed=3)[0.6], masks[0.6][:20])  # clip i's mask depends only on seed and i


def test_sweep_is_reproducible_from_the_seed_and_independent_of_the_batch_size():
    frames, times = _clips(n=4)
    model = _vid_ode()
    a = sampling_rate_sweep(model, frames, times, seed=7, batch_size=4)
    b = sampling_rate_sweep(model, frames, times, seed=7, batch_size=4)
    assert a == b
    c = sampling_rate_sweep(model, frames, times, seed=7, batch_size=1)
    for ra, rc in zip(a["models"]["model"], c["models"]["model"]):
        assert ra["mask_sha256"] == rc["mask_sha256"]
        assert ra["mse"] == pytest.approx(rc["mse"], rel=1e-5)
    d = sampling_rate_sweep(model, frames, times, seed=8, batch_size=4)
    digests = lambda r: [row["mask_sha256"] for row in r["models"]["model"]]  # noqa: E731
    assert digests(a)[0] == digests(d)[0]  # rate 1.0: nothing dropped
    assert digests(a)[1:] != digests(d)[1:]


def test_rate_one_is_full_observation():
    frames, times = _clips()
    model = _vid_ode()
    sweep = sampling_rate_sweep(model, frames, times, rates=(1.0,), num_observed=5)
    with torch.no_grad():
        pred = model.eval()(frames[:, :5], times[:, :5], None, times[:, 5:]).frames
    direct = mse_per_pixel(pred.clamp(0, 1), frames[:, 5:]).mean()
    assert sweep["models"]["model"][0]["mse"] == pytest.approx(float(direct), rel=1e-6)


@pytest.mark.parametrize("task", ["extrapolation", "interpolation"])
def test_oracle_scores_zero_and_beats_copy_last(task):
    frames, times = _clips()
    res = sampling_rate_sweep({"oracle": Oracle(), "copy_last": CopyLast()}, frames, times, task=task)
    for oracle, copy in zip(res["models"]["oracle"], res["models"]["copy_last"]):
        assert oracle["mse"] == 0.0 and oracle["psnr"] == 100.0 and oracle["ssim"] == pytest.approx(1.0)
        assert copy["mse"] > 1e-3 and copy["mse_x1e3"] > oracle["mse_x1e3"]
    # clip-paired, per rate: the mean of per-clip differences is the gap of the means; the oracle wins every clip
    paired = res["paired_with_first_model"]
    assert paired["first_model"] == "oracle" and list(paired["per_rate"]) == ["1", "0.8", "0.6", "0.4", "0.2"]
    for rate, (oracle, copy) in zip(paired["per_rate"], zip(res["models"]["oracle"], res["models"]["copy_last"])):
        vs = paired["per_rate"][rate]["copy_last"]
        assert vs["mse"]["mean_difference"] == pytest.approx(oracle["mse"] - copy["mse"], abs=1e-9)
        assert vs["psnr"]["mean_difference"] == pytest.approx(oracle["psnr"] - copy["psnr"], abs=1e-6)
        assert vs["psnr"]["first_better_share"] == 1.0 and vs["mse"]["first_better_share"] == 1.0
        assert vs["psnr"]["standard_error"] > 0 and vs["lpips"] is None
    assert "paired_with_first_model" not in sampling_rate_sweep(CopyLast(), frames, times, task=task, rates=(1.0,))


def test_unseen_timestep_interpolation_vid_ode_vs_vid_rnn():
    frames, times = _clips(t=9)
    models = {"Vid-ODE": _vid_ode(), "Vid-RNN": _vid_rnn(), "oracle": Oracle()}
    res = unseen_timestep_interpolation(models, frames, times, stride=4)
    assert res["observed_indices"] == [0, 4, 8] and res["target_indices"] == [1, 2, 3, 5, 6, 7]
    assert res["target_offsets"] == [0.25, 0.5, 0.75, 0.25, 0.5, 0.75]
    assert set(res["models"]) == {"Vid-ODE", "Vid-RNN", "oracle"}
    assert set(res["baselines"]) == {"linear_blend", "copy_previous_observed"}
    for entry in (*res["models"].values(), *res["baselines"].values()):
        assert set(entry["per_offset"]) == {"0.25", "0.5", "0.75"}
        assert len(entry["per_target"]["mse"]) == 6
    assert res["models"]["oracle"]["overall"]["mse"] == 0.0
    assert res["baselines"]["linear_blend"]["overall"]["mse"] > 0.0
    # the clip-paired comparison against the first model (Vid-ODE); the mean difference is the gap of the means
    paired = res["paired_with_first_model"]
    assert paired["first_model"] == "Vid-ODE"
    assert set(paired["versus"]) == {"Vid-RNN", "oracle", "linear_blend", "copy_previous_observed"}
    for key in ("psnr", "mse", "ssim"):
        gap = res["models"]["Vid-ODE"]["overall"][key] - res["models"]["Vid-RNN"]["overall"][key]
        assert paired["versus"]["Vid-RNN"][key]["mean_difference"] == pytest.approx(gap, abs=1e-9)
    vs_oracle = paired["versus"]["oracle"]
    assert vs_oracle["psnr"]["first_better_share"] == 0.0 and vs_oracle["psnr"]["mean_difference"] < 0
    assert vs_oracle["mse"]["first_better_share"] == 0.0 and vs_oracle["mse"]["mean_difference"] > 0
    assert vs_oracle["psnr"]["standard_error"] >= 0 and vs_oracle["lpips"] is None  # no LPIPS weights given
    oracle_first = unseen_timestep_interpolation({"oracle": Oracle(), "Vid-RNN": _vid_rnn()}, frames, times, stride=4)
    assert oracle_first["paired_with_first_model"]["versus"]["Vid-RNN"]["psnr"]["first_better_share"] == 1.0
    # the in-between frames at stride 2 (the paper's interpolation protocol)
    two = unseen_timestep_interpolation({"oracle": Oracle()}, frames, times, baselines=False)
    assert two["target_indices"] == [1, 3, 5, 7] and set(two["models"]["oracle"]["per_offset"]) == {"0.5"}
    with pytest.raises(InputError, match="baselines"):
        unseen_timestep_interpolation({"linear_blend": Oracle()}, frames, times)
    with pytest.raises(InputError, match="stride"):
        unseen_timestep_interpolation({"o": Oracle()}, frames, times, stride=9)


def test_arbitrary_frame_rate_times_and_frames():
    frames, times = _clips(n=1, t=8)
    out = arbitrary_frame_rate(Oracle(), frames[0], times[0], num_observed=5, factor=3, future=2)
    assert isinstance(out, FrameRateOutput)
    assert out.frames.shape == (1, 4 * 3 + 1 + 2, 1, 16, 16) and out.times.shape == (1, 15)
    expected = torch.cat([torch.arange(13, dtype=torch.float64) * 0.1 / 3, 0.4 + torch.tensor([1, 2]) * 0.1 / 3])
    torch.testing.assert_close(out.times[0], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.times[out.at_input], times[0, :5].double(), atol=1e-6, rtol=0)
    torch.testing.assert_close(out.frames[out.at_input], frames[0, :5])  # the oracle reconstructs its inputs
    # irregular input times: factor - 1 frames evenly inside every gap
    irregular = torch.tensor([0.0, 0.1, 0.4, 0.5, 0.9])
    out2 = arbitrary_frame_rate(_vid_ode(), render(irregular[None]), irregular, factor=2)
    torch.testing.assert_close(out2.times[0], torch.tensor([0.0, 0.05, 0.1, 0.25, 0.4, 0.45, 0.5, 0.7, 0.9]).double())
    once = arbitrary_frame_rate(_vid_ode(), frames, times, factor=1)
    torch.testing.assert_close(once.times, times[:, :5].double())
    with pytest.raises(InputError, match="factor"):
        arbitrary_frame_rate(Oracle(), frames, times, factor=0)


def test_frame_strip_png(tmp_path):
    frames, times = _clips(n=2, t=6)
    outs = [arbitrary_frame_rate(_vid_ode(), frames, times, factor=k) for k in (1, 2, 4)]
    path = save_frame_strip(tmp_path / "fig1.png", outs, clip=1)
    assert path == tmp_path / "fig1.png"
    with Image.open(path) as img:
        assert img.format == "PNG" and img.width > img.height > 4 * 64
    width, height = png_size(path)
    assert 17 * 64 < width < 17 * 64 * 2 and height < 4 * 64 * 2
    with pytest.raises(InputError, match="clip"):
        save_frame_strip(tmp_path / "x.png", outs, clip=2)


def test_composition_components_and_plot(tmp_path):
    frames, times = _clips(n=2, t=8)
    model = _vid_ode()
    comp = composition_components(model, frames[:, ::2], times[:, ::2], times[:, 1:7:2], targets=frames[:, 1:7:2])
    assert isinstance(comp, CompositionComponents)
    assert comp.warped.shape == comp.difference.shape == comp.output.shape == (2, 3, 1, 16, 16)
    assert comp.mask.shape == comp.flow_magnitude.shape == (2, 3, 1, 16, 16) and comp.flow.shape == (2, 3, 2, 16, 16)
    assert 0 <= float(comp.mask.min()) and float(comp.mask.max()) <= 1 and float(comp.difference.abs().max()) <= 1
    with torch.no_grad():
        direct = model.eval()(frames[:, ::2], times[:, ::2], None, times[:, 1:7:2]).frames
    torch.testing.assert_close(comp.output, direct)
    for layout in ("times", "components"):
        path = plot_composition(comp, tmp_path / f"fig3_{layout}.png", layout=layout)
        with Image.open(path) as img:
            assert img.format == "PNG"
        width, height = png_size(path)
        rows, cols = (3, 6) if layout == "times" else (6, 3)
        assert rows * 64 < height < rows * 64 * 2 and cols * 64 < width < cols * 64 * 3
    with pytest.raises(InputError, match="layout"):
        plot_composition(comp, tmp_path / "x.png", layout="grid")
    summary = comp.summary()
    assert len(summary["mean_mask"]) == 3 and len(summary["mse_per_time"]) == 3
    with pytest.raises(InputError, match="mask composition"):
        composition_components(_vid_ode(use_mask_composition=False), frames, times, times[:, 1:3])
    with pytest.raises(InputError, match="mask composition"):
        composition_components(Oracle(), frames, times, times[:, 1:3])


def test_write_experiment_result_json_and_png(tmp_path):
    frames, times = _clips(t=9)
    sweep = sampling_rate_sweep({"oracle": Oracle(), "copy_last": CopyLast()}, frames, times, rates=(1.0, 0.6, 0.2))
    unseen = unseen_timestep_interpolation({"oracle": Oracle()}, frames, times, stride=4)
    fps = arbitrary_frame_rate(Oracle(), frames, times, factor=2)
    comp = composition_components(_vid_ode(), frames[:, :4], times[:, :4], times[:, 4:6])
    for name, result in (("fig6", sweep), ("fig8", unseen), ("fig1", fps), ("fig3", comp)):
        paths = write_experiment_result(result, tmp_path / "out", name)
        assert paths["json"] == tmp_path / "out" / f"{name}.json" and paths["png"].suffix == ".png"
        with Image.open(paths["png"]) as img:
            assert img.format == "PNG"
        width, height = png_size(paths["png"])
        assert 2 * 64 <= min(width, height) and max(width, height) <= 4000  # fig3: 2 times x 5 parts of 64 px
        data = json.loads(paths["json"].read_text())
        assert data["experiment"] in ("sampling_rate_sweep", "unseen_timestep_interpolation",
                                      "arbitrary_frame_rate", "composition_components")
    assert json.loads((tmp_path / "out" / "fig6.json").read_text()) == sweep
    paths = write_experiment_result({"value": float("nan"), "t": torch.tensor([1.5])}, tmp_path / "out", "plain")
    assert set(paths) == {"json"} and json.loads(paths["json"].read_text()) == {"value": None, "t": [1.5]}
    assert not [p for p in (tmp_path / "out").iterdir() if ".tmp" in p.name]
    with pytest.raises(InputError, match="file name"):
        write_experiment_result(sweep, tmp_path, "../escape")
    with pytest.raises(InputError, match="JSON"):
        write_experiment_result({"model": Oracle()}, tmp_path, "bad")


def test_curve_charts_have_one_panel_per_measured_metric(tmp_path):
    frames, times = _clips(t=9)
    sweep = sampling_rate_sweep({"oracle": Oracle(), "copy_last": CopyLast()}, frames, times, rates=(1.0, 0.4))
    unseen = unseen_timestep_interpolation({"oracle": Oracle()}, frames, times, stride=4)
    fig6 = png_size(plot_sampling_rate_sweep(sweep, tmp_path / "fig6.png"))  # MSE only: no LPIPS measured
    fig8 = png_size(plot_unseen_timesteps(unseen, tmp_path / "fig8.png"))  # MSE and PSNR
    assert fig6[0] >= 300 and fig8[0] >= 2 * fig6[0] - 10 and fig6[1] == fig8[1] >= 200
    with pytest.raises(InputError, match="sampling_rate_sweep"):
        plot_sampling_rate_sweep(unseen, tmp_path / "x.png")
    with pytest.raises(InputError, match="unseen_timestep_interpolation"):
        plot_unseen_timesteps(sweep, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_the_protocols_import_and_write_json_without_matplotlib(tmp_path):
    script = f"""
import sys
sys.modules["matplotlib"] = None  # as if the plot extra were not installed
import torch
from odevideo.errors import OdevideoError
from odevideo.methods.vid_ode.protocols import plot_sampling_rate_sweep, write_experiment_result
result = {{"experiment": "sampling_rate_sweep", "rates": [1.0], "models": {{}}, "task": "t", "num_clips": 1, "seed": 0}}
assert set(write_experiment_result(result, {str(tmp_path)!r}, "fig6", plot=False)) == {{"json"}}
try:
    plot_sampling_rate_sweep(result, {str(tmp_path / "fig6.png")!r})
except OdevideoError as e:
    assert "odevideo[plot]" in str(e), e
else:
    raise AssertionError("drawing without matplotlib did not raise")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fig6.json").is_file() and not (tmp_path / "fig6.png").exists()


@pytest.fixture(scope="module")
def lpips_model():
    files = [LPIPS_DIR / "alexnet_features.pth", LPIPS_DIR / "lpips_v0.1_alex_lin.pth"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"LPIPS weights not found in {LPIPS_DIR}")
    return LPIPS.from_files(*files)


def test_lpips_with_the_real_weights(lpips_model, tmp_path):
    frames, times = _clips(n=2, t=9, size=32)
    res = sampling_rate_sweep({"oracle": Oracle(), "copy_last": CopyLast()}, frames, times, rates=(1.0, 0.4),
                              lpips=lpips_model)
    for oracle, copy in zip(res["models"]["oracle"], res["models"]["copy_last"]):
        assert oracle["lpips"] == 0.0 and copy["lpips"] > 0.01
        assert len(copy["per_target"]["lpips"]) == 4
    unseen = unseen_timestep_interpolation({"oracle": Oracle()}, frames, times, lpips=lpips_model)
    assert unseen["baselines"]["linear_blend"]["overall"]["lpips"] > 0
    paths = write_experiment_result(res, tmp_path, "fig6_lpips")
    assert "png" in paths
    assert png_size(paths["png"])[0] >= 2 * 300  # two panels: MSE and LPIPS
    small, small_t = _clips(n=2, t=9, size=16)
    with pytest.raises(InputError, match="31x31"):
        sampling_rate_sweep(Oracle(), small, small_t, lpips=lpips_model)


def test_bad_inputs_raise_input_errors():
    frames, times = _clips()
    with pytest.raises(InputError, match="task"):
        sampling_rate_sweep(Oracle(), frames, times, task="prediction")
    for rates in ((0.0,), (1.5,), (), (0.5, 0.5)):
        with pytest.raises(InputError, match="rate"):
            sampling_rate_sweep(Oracle(), frames, times, rates=rates)
    with pytest.raises(InputError, match="num_observed"):
        sampling_rate_sweep(Oracle(), frames, times, num_observed=10)
    with pytest.raises(InputError, match="num_observed"):
        sampling_rate_sweep(Oracle(), frames, times, num_observed=6, task="interpolation")
    with pytest.raises(InputError, match="increasing"):
        sampling_rate_sweep(Oracle(), frames, times.flip(-1))
    with pytest.raises(InputError, match="shape"):
        sampling_rate_sweep(Oracle(), frames[0, 0], times)
    with pytest.raises(InputError, match="LPIPS"):
        sampling_rate_sweep(Oracle(), frames, times, lpips="alex")
    with pytest.raises(InputError, match="seed"):
        sampling_rate_sweep(Oracle(), frames, times, seed=None)
    with pytest.raises(InputError, match="odevideo API"):
        sampling_rate_sweep(lambda *a: torch.zeros(1), frames, times)
