"""Kanaa et al.'s latent models: the latent-ODE VAE, the Encoder-ODE-Decoder and an ODE2VAE-style second-order
VAE, with the ELBO and the latent-matching loss."""

from odevideo.methods.latent_ode.elbo import elbo_loss, frame_nll, gaussian_kl_standard_normal
from odevideo.methods.latent_ode.encoder_ode_decoder import EncoderODEDecoder
from odevideo.methods.latent_ode.latent_matching import encoder_ode_decoder_loss
from odevideo.methods.latent_ode.latent_ode_vae import LatentODEVAE
from odevideo.methods.latent_ode.ode2vae import ODE2VAE

__all__ = ["LatentODEVAE", "ODE2VAE", "EncoderODEDecoder", "elbo_loss", "frame_nll", "gaussian_kl_standard_normal",
           "encoder_ode_decoder_loss"]
