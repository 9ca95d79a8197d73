"""Configs written before one config per method (``model.family`` and the shared ``objective`` / ``adversarial`` /
``gan`` sections) become today's: each family's sections, the per-method renamed keys, foreign keys dropped."""

from odevideo.training.legacy import is_legacy, migrate_config


def test_todays_configs_are_left_alone():
    today = {"method": "vid_ode", "model": {"decoder_solver": {"method": "euler"}}}
    assert not is_legacy(today) and migrate_config(today) == today


def test_a_latent_ode_config_keeps_its_objective_as_task_and_loss():
    old = {"name": "x", "model": {"family": "latent_ode_vae", "latent_dim": 8, "hidden_channels": 16},
           "objective": {"formulation": "extrapolation", "num_observed": 3, "kl_weight": 0.5, "weight_img": 2.0}}
    assert is_legacy(old)
    assert migrate_config(old) == {"name": "x", "method": "latent_ode_vae", "model": {"latent_dim": 8},
                                   "task": {"formulation": "extrapolation", "num_observed": 3},
                                   "loss": {"kl_weight": 0.5}}


def test_vid_ode_and_vid_rnn_rename_their_solver_and_step_keys():
    solver = {"method": "euler", "step_size": 0.1}
    old = {"model": {"family": "vid_ode", "solver": solver, "hidden_channels": 8},
           "adversarial": {"image_disc": True, "weight_img": 0.1}}
    assert migrate_config(old) == {"method": "vid_ode", "model": {"decoder_solver": solver, "hidden_channels": 8},
                                   "loss": {"image_disc": True, "weight_img": 0.1}}
    old_rnn = {"model": {"family": "vid_rnn", "rnn_step": {"kind": "gru"}, "solver": solver}, "adversarial": {}}
    assert migrate_config(old_rnn) == {"method": "vid_rnn", "model": {"step": {"kind": "gru"}}}


def test_a_gan_config_splits_its_gan_section_and_tganv2_takes_the_video_width():
    old = {"model": {"family": "tganv2"}, "gan": {"latent_dim": 32, "loss": "hinge", "r1_gamma": 1.0,
                                                   "video_disc_channels": 48, "svc_every": 2,
                                                   "val_metric": "pixel_fd", "tganv2_image_init": "x"}}
    assert migrate_config(old) == {"method": "tganv2", "model": {"latent_dim": 32},
                                   "loss": {"kind": "hinge", "r1_gamma": 1.0, "disc_channels": 48},
                                   "validation": {"metric": "pixel_fd"}}
    old_moco = {"model": {"family": "mocogan"}, "gan": {"video_disc_channels": 48, "disc_channels": 32}}
    assert migrate_config(old_moco) == {"method": "mocogan",
                                        "loss": {"video_disc_channels": 48, "disc_channels": 32}}
