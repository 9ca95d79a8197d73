"""Model families: plain ``nn.Module``s with ``forward(frames, times, mask, query_times)``."""

from odevideo.models.base import ContinuousTimeVideoModel, VideoPrediction
from odevideo.models.encoder_ode_decoder import EncoderODEDecoder
from odevideo.models.latent_ode import LatentODEVAE
from odevideo.models.ode2vae import ODE2VAE

__all__ = ["ContinuousTimeVideoModel", "VideoPrediction", "EncoderODEDecoder", "LatentODEVAE", "ODE2VAE"]
from odevideo.models.temporal_generators import (  # noqa: E402
    MoCoGANMotionGenerator, ODETemporalGenerator, SDETemporalGenerator, TGANTemporalGenerator, count_parameters,
    mocogan_ode, mocogan_sde, tgan_ode, tgan_sde,
)

__all__ += ["TGANTemporalGenerator", "MoCoGANMotionGenerator", "ODETemporalGenerator", "SDETemporalGenerator",
            "count_parameters", "tgan_ode", "mocogan_ode", "tgan_sde", "mocogan_sde"]

# Vid-ODE (Park et al. 2021).
from odevideo.models.vid_ode import VidODE, VidODEPrediction  # noqa: E402

__all__ += ["VidODE", "VidODEPrediction"]

# Vid-ODE baselines (ODE-FC, ODE-Conv, ConvGRU variants, Vid-RNN).
from odevideo.models.vid_ode_baselines import ConvGRUBaseline, ODEConvBaseline, ODEFCBaseline, VidRNN  # noqa: E402

__all__ += ["ODEFCBaseline", "ODEConvBaseline", "ConvGRUBaseline", "VidRNN"]

# Video GANs around the temporal generators (TGAN, MoCoGAN; issue 4).
from odevideo.models.video_gans import (  # noqa: E402
    MoCoGANGenerator, MoCoGANImageDiscriminator, MoCoGANImageGenerator, MoCoGANVideoDiscriminator, TGANImageGenerator,
    TGANVideoDiscriminator, TGANVideoGenerator,
)

__all__ += ["TGANImageGenerator", "TGANVideoDiscriminator", "TGANVideoGenerator", "MoCoGANImageGenerator",
            "MoCoGANGenerator", "MoCoGANImageDiscriminator", "MoCoGANVideoDiscriminator"]

# TGANv2 with feature-map temporal generators (CLSTM, conv ODE of order 1-3, conv SDE; the issue-4 stretch).
from odevideo.models.map_temporal_generators import (  # noqa: E402
    ConvLSTMTemporalGenerator, MapODETemporalGenerator, MapSDETemporalGenerator,
)
from odevideo.models.tganv2 import TGANv2Generator, TGANv2MultiLevelDiscriminator, TGANv2VideoDiscriminator  # noqa: E402

__all__ += ["ConvLSTMTemporalGenerator", "MapODETemporalGenerator", "MapSDETemporalGenerator", "TGANv2Generator",
            "TGANv2MultiLevelDiscriminator", "TGANv2VideoDiscriminator"]
