"""Unconditional video GANs with any temporal generator (Gordon & Parde): TGAN, MoCoGAN and TGANv2 with their
original temporal generators, neural ODEs of order 1-3 or a latent SDE."""

from odevideo.methods.video_gan.map_temporal import (
    ConvLSTMTemporalGenerator,
    MapODETemporalGenerator,
    MapSDETemporalGenerator,
)
from odevideo.methods.video_gan.mocogan import (
    MoCoGANGenerator,
    MoCoGANImageDiscriminator,
    MoCoGANImageGenerator,
    MoCoGANVideoDiscriminator,
)
from odevideo.methods.video_gan.temporal_common import count_parameters
from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator, TGANTemporalGenerator
from odevideo.methods.video_gan.temporal_ode import ODETemporalGenerator
from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator
from odevideo.methods.video_gan.tgan import TGANImageGenerator, TGANVideoDiscriminator, TGANVideoGenerator
from odevideo.methods.video_gan.tganv2 import TGANv2Generator, TGANv2MultiLevelDiscriminator, TGANv2VideoDiscriminator

__all__ = [
    "TGANTemporalGenerator", "MoCoGANMotionGenerator", "ODETemporalGenerator", "SDETemporalGenerator",
    "count_parameters", "TGANImageGenerator", "TGANVideoDiscriminator", "TGANVideoGenerator", "MoCoGANImageGenerator",
    "MoCoGANGenerator", "MoCoGANImageDiscriminator", "MoCoGANVideoDiscriminator", "ConvLSTMTemporalGenerator",
    "MapODETemporalGenerator", "MapSDETemporalGenerator", "TGANv2Generator", "TGANv2MultiLevelDiscriminator",
    "TGANv2VideoDiscriminator",
]
