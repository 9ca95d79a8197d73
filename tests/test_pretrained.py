"""Saved model folders (config.json + model.safetensors): written by training, loaded without the training code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import odevideo
from odevideo.errors import CheckpointError
from odevideo.methods import ModelSpec, get_method
from odevideo.methods.latent_ode.config import LatentODEVAEConfig
from odevideo.pretrained import load_model, save_pretrained

SPEC = ModelSpec(channels=1, image_size=16, num_frames=8, num_observed=4, frame_dt=0.1)


def _tiny_model():
    torch.manual_seed(0)
    cfg = LatentODEVAEConfig(channels=[8, 16], latent_dim=8, embed_dim=16, rnn_hidden=16, ode_hidden=16)
    return get_method("latent_ode_vae").build_model(cfg, SPEC).eval(), cfg


def _predict(model):
    frames = torch.rand(1, 4, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    times = torch.arange(4.0)[None] * 0.1
    return model(frames, times, torch.ones(1, 4, dtype=torch.bool), torch.tensor([[0.05, 0.45]])).frames


def test_round_trip_gives_the_same_predictions_and_spec(tmp_path):
    model, cfg = _tiny_model()
    save_pretrained(tmp_path / "m", model, "latent_ode_vae", cfg, SPEC)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_model(tmp_path / "m")
    assert loaded.spec == SPEC and loaded.method == "latent_ode_vae" and not loaded.training
    torch.testing.assert_close(_predict(loaded), _predict(model), rtol=0, atol=0)


def test_a_trained_run_holds_its_best_model_and_loads_in_a_process_without_the_training_code(tiny_config):
    from odevideo.training import Trainer, load_run

    res = Trainer(tiny_config("name=saved", "train.steps=3")).fit()
    assert (res.run_dir / "model" / "config.json").is_file()
    ref, _ = load_run(res.run_dir, which="best")  # the training checkpoint of the same (best) step
    torch.testing.assert_close(_predict(odevideo.load_model(res.run_dir)), _predict(ref), rtol=0, atol=0)
    code = (
        "import sys, odevideo; m = odevideo.load_model(sys.argv[1]); "
        "bad = sorted(k for k in sys.modules if k.startswith('odevideo.training')); "
        "print(type(m).__name__, m.spec.num_observed, bad)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(res.run_dir / "model")], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["LatentODEVAE", "4", "[]"]


def test_damaged_or_foreign_folders_are_refused_with_one_line(tmp_path):
    model, cfg = _tiny_model()
    folder = save_pretrained(tmp_path / "m", model, "latent_ode_vae", cfg, SPEC)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the hash"):
        load_model(folder)
    with pytest.raises(CheckpointError, match="holds no model"):
        load_model(tmp_path)
    # a config whose model does not fit the weights (hash made to match): the shapes are compared first
    folder = save_pretrained(tmp_path / "n", model, "latent_ode_vae", cfg, SPEC)
    config = json.loads((folder / "config.json").read_text())
    config["model"]["latent_dim"] = 4
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit the model"):
        load_model(folder)
    config["method"] = "no_such_method"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(odevideo.OdevideoError, match="unknown method"):
        load_model(folder)
