"""Building blocks: conv frame encoders/decoders, ODE dynamics networks, recurrent encoders."""

from odevideo.nn.conv import ConvFrameDecoder, ConvFrameEncoder
from odevideo.nn.odefunc import MLPODEFunc
from odevideo.nn.recurrent import BackwardGRUEncoder

__all__ = ["ConvFrameEncoder", "ConvFrameDecoder", "MLPODEFunc", "BackwardGRUEncoder"]
