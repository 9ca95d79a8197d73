"""``odevideo predict``'s time semantics, in process with a stand-in model that records what it is asked: the input
frames' spacing (``--input-spacing`` / ``--input-times``), ``--fps-factor`` and ``--future`` counted in input
intervals, ``--resize`` as the training pipeline (centre crop, then resize), and the written file's frame rate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import odevideo.training
from odevideo.cli.main import main
from odevideo.data import read_video, write_video
from odevideo.data.transforms import center_crop_square, resize

DT, SIZE = 0.1, 16


class _Out:
    def __init__(self, frames):
        self.frames = frames


class Recorder(torch.nn.Module):
    """Returns the last observed frame at every query time; keeps what it was given."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, frames, times, mask, query_times):
        self.calls.append((frames.clone(), times.double().clone(), query_times.double().clone()))
        return _Out(frames[:, -1:].expand(-1, query_times.shape[1], -1, -1, -1))


@pytest.fixture
def model(monkeypatch, tiny_config):
    cfg = tiny_config(f"data.frame_dt={DT}", f"data.image_size={SIZE}", "data.channels=1")
    rec = Recorder()
    monkeypatch.setattr(odevideo.training, "load_run", lambda path, which="best": (rec, cfg))
    return rec


def predict(tmp_path, capsys, *args) -> str:
    capsys.readouterr()
    assert main(["predict", "run", *args]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def _npy(tmp_path, t=5, h=SIZE, w=SIZE):
    path = tmp_path / f"in_{t}_{h}x{w}.npy"
    np.save(path, np.random.default_rng(0).random((t, h, w)).astype(np.float32))
    return path


def _close(x, want):
    np.testing.assert_allclose(np.asarray(x, dtype=np.float64), want, rtol=0, atol=1e-6)


def test_input_spacing_sets_the_input_times_and_fps_factor_counts_from_it(model, tmp_path, capsys):
    src, out = _npy(tmp_path), tmp_path / "o.npy"
    predict(tmp_path, capsys, "--input", str(src), "--fps-factor", "2", "--output", str(out))
    _, times, query = model.calls[-1]
    _close(times[0], [0, 0.1, 0.2, 0.3, 0.4])  # default: the model's frame rate
    _close(query[0], np.arange(9) * 0.05)
    predict(tmp_path, capsys, "--input", str(src), "--input-spacing", "2", "--fps-factor", "2", "--future", "1",
            "--output", str(out))
    _, times, query = model.calls[-1]
    _close(times[0], [0, 0.2, 0.4, 0.6, 0.8])  # every other frame of the model's rate
    _close(query[0], np.arange(11) * 0.1)  # 2 frames per input interval (0.2), one interval past the end
    assert np.load(out).shape[0] == 11


def test_fps_factor_counts_from_input_times(model, tmp_path, capsys):
    src, out = _npy(tmp_path), tmp_path / "o.npy"
    predict(tmp_path, capsys, "--input", str(src), "--input-times", "0,0.3,0.6,0.9,1.2", "--fps-factor", "3",
            "--future", "2", "--output", str(out))
    _, times, query = model.calls[-1]
    _close(times[0], [0, 0.3, 0.6, 0.9, 1.2])
    # 3 frames per input interval of 0.3 (not per data.frame_dt), up to 2 intervals after 1.2
    _close(query[0], np.arange(19) * 0.1)
    assert main(["predict", "run", "--input", str(src), "--input-times", "0:0.4:0.1", "--input-spacing", "2",
                 "--output", str(out)]) == 2
    assert "--input-spacing" in capsys.readouterr().err


def test_resize_crops_the_centre_then_resizes_like_training(model, tmp_path, capsys):
    # 24x40 frames: a 24x24 gradient in the middle, bright 8-column bands either side that the crop removes
    x = torch.zeros(3, 1, 24, 40)
    x[..., 8:32] = torch.linspace(0, 0.6, 24)[None, None, :, None]
    x[..., :8] = x[..., 32:] = 1.0
    src = tmp_path / "wide.npy"
    np.save(src, x[:, 0].numpy())
    out = tmp_path / "o.npy"
    assert main(["predict", "run", "--input", str(src), "--output", str(out)]) == 2
    assert "--resize" in capsys.readouterr().err
    predict(tmp_path, capsys, "--input", str(src), "--resize", "--output", str(out))
    frames = model.calls[-1][0][0]
    want = resize(center_crop_square(x), SIZE, mode="bilinear", antialias=True)  # the data pipeline's steps
    torch.testing.assert_close(frames, want, rtol=0, atol=1e-6)
    assert float(frames.max()) <= 0.6 + 1e-6  # nothing of the side bands
    squashed = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    assert (frames - squashed).abs().max() > 0.5
    # a square input at the model's size is used as it is, with or without --resize
    same = _npy(tmp_path, 4)
    predict(tmp_path, capsys, "--input", str(same), "--resize", "--output", str(out))
    torch.testing.assert_close(model.calls[-1][0][0, :, 0], torch.from_numpy(np.load(same)))


def test_output_fps_is_the_source_rate_times_fps_factor_else_the_configs(model, tmp_path, capsys):
    video = tmp_path / "in.avi"
    write_video(video, torch.rand(4, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(0)), fps=24)
    out = tmp_path / "o.avi"

    def run(*args: str) -> str:
        return predict(tmp_path, capsys, "--grayscale", *args, "--output", str(out))

    text = run("--input", str(video), "--fps-factor", "2")
    assert read_video(out)[1] == pytest.approx(48.0) and "48 fps" in text  # real time: 2 frames per source frame
    # the input's spacing does not change the real-time rate of a video
    run("--input", str(video), "--input-spacing", "3", "--fps-factor", "2")
    assert read_video(out)[1] == pytest.approx(48.0)
    # no source rate (.npy): one time unit per second, 1 / frame_dt = 10 fps per input frame at spacing 1
    run("--input", str(_npy(tmp_path)), "--fps-factor", "2")
    assert read_video(out)[1] == pytest.approx(2 / DT)
    run("--input", str(_npy(tmp_path)), "--input-spacing", "2")
    assert read_video(out)[1] == pytest.approx(1 / (2 * DT))
    # --times: by their spacing; --fps wins
    run("--input", str(video), "--times", "0:0.3:0.025")
    assert read_video(out)[1] == pytest.approx(24 * DT / 0.025)
    run("--input", str(video), "--fps", "7")
    assert read_video(out)[1] == pytest.approx(7.0)
