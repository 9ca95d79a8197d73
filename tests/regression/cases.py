"""The tiny configs of the behaviour fixture, one per method (see record_fixture.py)."""

from __future__ import annotations

TRAIN = ["train.steps=5", "train.batch_size=2", "train.log_every=1", "train.eval_every=5",
         "train.checkpoint_every=5", "train.warmup_steps=2", "train.bf16=false", "train.progress=false",
         "train.max_minutes=null", "train.threads=1", "data.val_clips=4", "data.test_clips=4"]
LATENT = ["data.dataset=bouncing_balls", "data.image_size=16", "data.num_frames=8", "model.channels=[8,16]",
          "model.latent_dim=8", "model.embed_dim=16", "model.rnn_hidden=16", "model.ode_hidden=16",
          "task.num_observed=4", "loss.kl_warmup_steps=2"]
VID = ["data.image_size=16", "data.num_frames=6", "model.hidden_channels=8", "model.ode_hidden=8",
       "model.latent_dim=8", "model.solver={method: euler, step_size: 0.1}",
       "model.decoder_solver={method: euler, step_size: 0.1}", "task.num_observed=3",
       "loss.disc_channels=4", "loss.disc_downs=2"]
GAN = ["data.dataset=bouncing_balls", "data.image_size=16", "data.num_frames=16", "model.gen_channels=16",
       "loss.disc_channels=8", "validation.samples=4", "loss.minibatch_std=2"]
TGANV2 = ["data.dataset=bouncing_balls", "data.image_size=16", "data.num_frames=16", "model.map_size=2",
          "model.map_channels=8", "model.latent_dim=16", "model.gen_channels=8", "loss.disc_channels=8",
          "validation.samples=4", "train.batch_size=4"]

CASES = {
    "latent_ode_vae": ("default", LATENT),
    "ode2vae": ("ode2vae_bb32_extrap", LATENT),
    "encoder_ode_decoder": ("mmnist1_encoder_ode_decoder", LATENT),
    "vid_ode_adversarial": ("vid_ode_bb32_extrap", VID),
    "vid_ode_interp": ("vid_ode_bb32_interp", VID),
    "ode_fc": ("ode_fc_bb32_extrap", VID),
    "ode_conv": ("ode_conv_bb32_interp", VID),
    "convgru": ("convgru_bb32_extrap", VID),
    "vid_rnn": ("vid_rnn_bb32_interp", VID),
    "tgan_ode": ("tgan_ode_mmnist32", GAN),
    "tgan_sde": ("tgan_sde_mmnist32", GAN),
    "mocogan_ode": ("mocogan_ode_mmnist32", GAN),
    "tganv2_ode": ("tganv2_ode_mmnist32", TGANV2),
}


def build_config(name: str, output_dir: str):
    from odevideo.training import ExperimentConfig, load_config
    from odevideo.training.config import applicable_overrides

    preset, extra = CASES[name]
    overrides = applicable_overrides(preset, [*extra, *TRAIN, f"output_dir={output_dir}", f"name={name}"])
    return load_config(ExperimentConfig, preset, None, overrides)
