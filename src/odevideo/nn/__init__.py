"""Building blocks: conv frame encoders/decoders, ODE dynamics networks, recurrent encoders."""

from odevideo.nn.conv import ConvFrameDecoder, ConvFrameEncoder
from odevideo.nn.odefunc import MLPODEFunc
from odevideo.nn.recurrent import BackwardGRUEncoder

__all__ = ["ConvFrameEncoder", "ConvFrameDecoder", "MLPODEFunc", "BackwardGRUEncoder"]

# Vid-ODE building blocks (Park et al. 2021).
from odevideo.nn.convgru import ConvGRUCell, ConvODEFunc, ODEConvGRUEncoder  # noqa: E402
from odevideo.nn.discriminators import ImageDiscriminator, PatchDiscriminator, SequenceDiscriminator  # noqa: E402

# video-GAN discriminators (MoCoGAN)
from odevideo.nn.minibatch_std import MinibatchStdDev  # noqa: E402
from odevideo.nn.noise import GaussianInputNoise  # noqa: E402
from odevideo.nn.warping import compose, warp  # noqa: E402

__all__ += [
    "ConvGRUCell", "ConvODEFunc", "ODEConvGRUEncoder",
    "PatchDiscriminator", "ImageDiscriminator", "SequenceDiscriminator",
    "warp", "compose",
    "GaussianInputNoise", "MinibatchStdDev",
]
