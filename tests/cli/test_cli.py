import json
import os
import subprocess
import sys

import numpy as np
import pytest

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run(*args, check=True):
    p = subprocess.run([sys.executable, "-m", "odevideo", *args], capture_output=True, text=True, env=ENV, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"odevideo {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_overrides):
    out = tmp_path_factory.mktemp("cli")
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    run("train", "--preset", "default", *sets, "--set", "name=cli", "--output-dir", str(out), "--evaluate")
    return out / "cli"


def test_train_evaluate_outputs(trained_run):
    assert (trained_run / "eval" / "eval.json").exists()
    p = run("evaluate", str(trained_run), "--num-clips", "4", "--out", str(trained_run / "ev"))
    assert "| extrapolation | model |" in p.stdout
    result = json.loads((trained_run / "ev" / "eval.json").read_text())
    assert result["num_clips"] == 4
    assert (trained_run / "ev" / "eval_curves.png").stat().st_size > 1000


def test_predict_at_4x_frame_rate_and_future(trained_run, tmp_path):
    out = tmp_path / "pred.npy"
    run("predict", str(trained_run), "--sample", "0", "--fps-factor", "4", "--future", "3", "--output", str(out))
    arr = np.load(out)
    # 4 context frames at dt 0.1 + 3 future intervals = 0.6 time units at dt/4 -> 25 frames
    assert arr.shape[0] == 25
    gif = tmp_path / "pred.gif"
    run("predict", str(trained_run), "--sample", "1", "--times=-0.2:0.5:0.05", "--output", str(gif))
    assert gif.exists()


def test_predict_from_video_file(trained_run, tmp_path):
    clip = np.random.default_rng(0).random((5, 16, 16)).astype(np.float32)
    src = tmp_path / "in.npy"
    np.save(src, clip)
    out = tmp_path / "out.npy"
    run("predict", str(trained_run), "--input", str(src), "--times", "0,0.05,0.7", "--output", str(out))
    assert np.load(out).shape[0] == 3


def test_latents_plot(trained_run, tmp_path):
    out = tmp_path / "lat.png"
    p = run("latents", str(trained_run), "--num-clips", "4", "--out", str(out))
    assert out.exists() and "explained_variance_ratio" in p.stdout
    pytest.importorskip("sklearn")
    out2 = tmp_path / "lat_tsne.png"
    p = run("latents", str(trained_run), "--num-clips", "4", "--method", "tsne", "--out", str(out2))
    assert out2.stat().st_size > 1000 and "perplexity" in p.stdout


def test_errors_exit_2_with_message_and_no_output(trained_run, tmp_path):
    out = tmp_path / "x.gif"
    p = run("predict", str(tmp_path / "missing"), "--sample", "0", "--output", str(out), check=False)
    assert p.returncode == 2 and "no checkpoint found" in p.stderr
    p = run("predict", str(trained_run), "--sample", "0", "--times", "1:0:0.1", "--output", str(out), check=False)
    assert p.returncode == 2 and "cannot parse times" in p.stderr
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    p = run("predict", str(trained_run), "--input", str(bad), "--output", str(out), check=False)
    assert p.returncode == 2 and "bad.mp4" in p.stderr
    assert not out.exists()
    p = run("train", "--preset", "default", "--set", "train.stepz=3", check=False)
    assert p.returncode == 2 and "train.steps" in p.stderr
    p = run("train", "--preset", "no_such_preset", check=False)
    assert p.returncode == 2 and "default" in p.stderr


def test_presets_list():
    p = run("presets")
    for name in ("default", "mmnist1_latent_ode", "mmnist1_encoder_ode_decoder", "mmnist2_latent_ode"):
        assert name in p.stdout


def test_methods_lists_every_registered_method_with_its_family():
    from odevideo.methods import METHODS

    lines = run("methods").stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == list(METHODS)
    assert all(ln.split()[1] == METHODS[ln.split()[0]].family for ln in lines)
    assert {ln.split()[2] for ln in lines} == {"conditional", "generative"}
