"""Vid-ODE (Park et al. 2021) and its baselines (ODE-FC, ODE-Conv, ConvGRU variants, Vid-RNN), the eq. 7 loss
and the paper's protocols (:mod:`odevideo.methods.vid_ode.protocols`)."""

from odevideo.methods.vid_ode.baselines import ConvGRUBaseline, ODEConvBaseline, ODEFCBaseline, VidRNN
from odevideo.methods.vid_ode.vid_ode import VidODE, VidODEPrediction

__all__ = ["VidODE", "VidODEPrediction", "ODEFCBaseline", "ODEConvBaseline", "ConvGRUBaseline", "VidRNN"]
