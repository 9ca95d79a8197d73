"""The quality bar of the foundation issue, as a slow test (about 22 minutes on 2 CPU cores).

Run with ``python -m pytest -m slow tests/test_slow_quality.py``. Needs the MNIST files in ../shared/data.
"""

import pytest

pytestmark = pytest.mark.slow


def test_latent_ode_vae_moving_mnist_beats_baselines(shared_data, tmp_path):
    from odevideo.training import ExperimentConfig, Trainer, evaluate, load_config, load_run

    cfg = load_config(ExperimentConfig, "mmnist1_latent_ode", None,
                      [f"data.data_dir={shared_data / 'mnist'}", f"output_dir={tmp_path}", "train.progress=false"])
    res = Trainer(cfg).fit()
    assert res.elapsed_s <= 20 * 60 + 60
    model, cfg = load_run(res.run_dir)
    result = evaluate(model, cfg, split="test", num_clips=256)
    sec = result["sections"]
    assert sec["reconstruction"]["model"]["psnr"] >= 19.0
    assert sec["extrapolation"]["model"]["psnr"] >= 18.0
    assert result["model_beats_all_baselines_at_every_extrapolated_frame"]
