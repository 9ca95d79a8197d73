"""Losses and task formulations, kept apart from the models."""

from odevideo.objectives.encoder_ode_decoder import LossOutput, encoder_ode_decoder_loss
from odevideo.objectives.latent_ode import elbo_loss, frame_nll, gaussian_kl_standard_normal
from odevideo.objectives.tasks import Task, make_task, masked_frame_mean
from odevideo.objectives.vid_ode import backward_gan
from odevideo.objectives.video_gans import VideoGANLosses, after_discriminator_step, video_gan_losses

__all__ = [
    "LossOutput", "encoder_ode_decoder_loss", "elbo_loss", "frame_nll", "gaussian_kl_standard_normal",
    "Task", "make_task", "masked_frame_mean", "backward_gan", "VideoGANLosses", "video_gan_losses",
    "after_discriminator_step",
]
