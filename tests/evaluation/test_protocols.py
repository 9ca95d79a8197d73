"""Named test protocols: OpenSTL's definitions, the fit check, and ``odevideo evaluate --test-file --protocol``
on a small file in the Moving MNIST layout, its printed values against a hand computation."""

import json

import numpy as np
import pytest
import torch

from odevideo.cli.main import build_parser, main
from odevideo.errors import ConfigError
from odevideo.evaluation.protocols import PROTOCOLS, get_protocol, ssim_skimage_defaults
from odevideo.training import Trainer, load_run

skimage_metrics = pytest.importorskip("skimage.metrics")


def test_ssim_equals_scikit_image_with_its_defaults_and_float_range():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 3, 16, 20, generator=g, dtype=torch.float64)
    b = (a + 0.3 * torch.rand(a.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    ref = [[skimage_metrics.structural_similarity(a[i, j].numpy(), b[i, j].numpy(), channel_axis=0, data_range=2.0)
            for j in range(3)] for i in range(2)]
    np.testing.assert_allclose(ssim_skimage_defaults(a, b).numpy(), ref, rtol=0, atol=1e-12)


def test_protocols_are_the_sources_splits():
    assert {n: (p.context_frames, p.target_frames, p.frame_size, p.channels) for n, p in PROTOCOLS.items()} == {
        "openstl-mmnist": (10, 10, 64, 1), "kth-10-20": (10, 20, 128, 1), "kth-10-40": (10, 40, 128, 1)}
    choices = next(a for a in build_parser()._subparsers._group_actions[0].choices["evaluate"]._actions
                   if a.dest == "protocol").choices
    assert list(choices) == list(PROTOCOLS)


def test_a_model_that_does_not_fit_gets_a_one_line_error(tiny_config):
    cfg = tiny_config()  # 4 -> 4 frames of 1x16x16
    with pytest.raises(ConfigError) as e:
        get_protocol("openstl-mmnist").check_model(cfg)
    msg = str(e.value)
    assert "\n" not in msg
    assert "--set task.num_observed=10 --set data.num_frames=20 --set data.image_size=64" in msg


def _by_hand(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """OpenSTL's metric(): MSE/MAE on the unclipped prediction, mean over (clips, frames) of the per-frame sums;
    PSNR and SSIM per frame on the clipped prediction (SSIM: scikit-image defaults, float range 2)."""
    out = {"mse": float(np.mean((pred - true) ** 2, axis=(0, 1)).sum()),
           "mae": float(np.mean(np.abs(pred - true), axis=(0, 1)).sum())}
    p = np.clip(pred, 0, 1)
    psnr = [[-10 * np.log10(np.mean((p[b, f] - true[b, f]) ** 2)) for f in range(p.shape[1])]
            for b in range(p.shape[0])]
    ssim = [[skimage_metrics.structural_similarity(p[b, f, 0], true[b, f, 0], data_range=2.0)
             for f in range(p.shape[1])] for b in range(p.shape[0])]
    out["psnr"], out["ssim"] = float(np.mean(psnr)), float(np.mean(ssim))
    return out


def test_evaluate_a_moving_mnist_file_under_openstl_protocol(tiny_config, tmp_path, capsys):
    cfg = tiny_config("name=mm", "data.image_size=64", "data.num_frames=20", "task.num_observed=10",
                      "train.steps=1", "train.eval_every=1", "train.checkpoint_every=1", "data.val_clips=2",
                      "data.test_clips=2", "eval.batch_size=2")
    run = Trainer(cfg).fit().run_dir
    rng = np.random.default_rng(0)
    seq = (rng.random((20, 3, 64, 64)) ** 4 * 255).astype(np.uint8)  # (T, N, H, W) like mnist_test_seq.npy
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, seq)
    out = tmp_path / "ev"
    assert main(["evaluate", str(run), "--test-file", str(path), "--protocol", "openstl-mmnist",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "protocol openstl-mmnist: 10 -> 10 frames, 1x64x64, frames in [0, 1], 3 clips" in printed
    assert "| method | MSE (sum over a frame's pixels) | MAE (sum over a frame's pixels) | SSIM (per frame, mean) " \
           "| PSNR (dB per frame, mean) |" in printed
    result = json.loads((out / "eval.json").read_text())
    assert result["protocol"]["name"] == "openstl-mmnist" and result["protocol"]["units"]["mse"].startswith("sum")

    # by hand: the model's frames 11..20 from frames 1..10, and the copy-last baseline
    true = np.swapaxes(seq, 0, 1)[:, :, None].astype(np.float64) / 255  # (N, T, 1, H, W)
    model, mcfg = load_run(run)
    frames = torch.from_numpy(true).float()
    times = torch.arange(20, dtype=torch.float32).expand(3, 20) * mcfg.data.frame_dt
    with torch.no_grad():
        pred = model(frames[:, :10], times[:, :10], None, times).frames[:, 10:].double().numpy()
    want = {"model": _by_hand(pred, true[:, 10:]),
            "copy_last_observed": _by_hand(np.repeat(true[:, 9:10], 10, axis=1), true[:, 10:])}
    for method, values in want.items():
        got = result["protocol_scores"][method]
        for k, v in values.items():
            assert got[k] == pytest.approx(v, rel=1e-5), (method, k)
        row = f"| {method} | {values['mse']:.4f} | {values['mae']:.4f} | {values['ssim']:.4f} | {values['psnr']:.4f} |"
        assert row in printed, row
    # the unit of a per-frame sum: 64 x 64 pixels, so MSE/frame = 4096 x MSE/pixel
    ext = result["sections"]["extrapolation"]["copy_last_observed"]
    assert result["protocol_scores"]["copy_last_observed"]["mse"] == pytest.approx(4096 * ext["mse"], rel=1e-6)


def test_openstl_protocol_refuses_a_model_of_another_split(tiny_config, tmp_path, capsys):
    run = Trainer(tiny_config("name=small", "train.steps=1", "train.eval_every=1")).fit().run_dir
    path = tmp_path / "seq.npy"
    np.save(path, np.zeros((20, 2, 64, 64), np.uint8))
    assert main(["evaluate", str(run), "--test-file", str(path), "--protocol", "openstl-mmnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--set task.num_observed=10" in err


def test_test_file_may_be_a_folder_of_clips_or_a_clip_major_array(tiny_config, tmp_path, capsys):
    from odevideo.data import write_video

    run = Trainer(tiny_config("name=f", "train.steps=1", "train.eval_every=1")).fit().run_dir  # 4 -> 4, 16x16
    rng = np.random.default_rng(1)
    (tmp_path / "clips").mkdir()
    for i in range(3):
        write_video(tmp_path / "clips" / f"c{i}.npy", torch.from_numpy(rng.random((9, 1, 16, 16), dtype=np.float32)))
    assert main(["evaluate", str(run), "--test-file", str(tmp_path / "clips"), "--out", str(tmp_path / "a")]) == 0
    assert json.loads((tmp_path / "a" / "eval.json").read_text())["num_clips"] == 3
    np.save(tmp_path / "nthw.npy", (rng.random((5, 8, 16, 16)) * 255).astype(np.uint8))
    assert main(["evaluate", str(run), "--test-file", str(tmp_path / "nthw.npy"), "--layout", "NTHW",
                 "--num-clips", "4", "--out", str(tmp_path / "b")]) == 0
    result = json.loads((tmp_path / "b" / "eval.json").read_text())
    assert result["num_clips"] == 4 and result["split"] == "nthw.npy" and "protocol" not in result
    assert "| extrapolation | model |" in capsys.readouterr().out
