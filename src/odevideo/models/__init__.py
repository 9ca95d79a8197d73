"""Model families: plain ``nn.Module``s with ``forward(frames, times, mask, query_times)``."""

from odevideo.models.base import ContinuousTimeVideoModel, VideoPrediction
from odevideo.models.encoder_ode_decoder import EncoderODEDecoder
from odevideo.models.latent_ode import LatentODEVAE

__all__ = ["ContinuousTimeVideoModel", "VideoPrediction", "EncoderODEDecoder", "LatentODEVAE"]
