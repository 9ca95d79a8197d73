"""odevideo: continuous-time video generation with neural differential equations.

Every model answers ``model(frames, times, mask, query_times)`` with frames at any real-valued
times: between observations, after them, or before them.

>>> import odevideo
>>> model, cfg = odevideo.load_model("runs/demo")            # a run directory or checkpoint
>>> clip = odevideo.BouncingBalls(num_clips=1)[0]             # (T, C, H, W) in [0, 1]
>>> times = torch.arange(10) * cfg.data.frame_dt              # observed frame times
>>> query = torch.linspace(-0.5, 3.0, 141)                    # 4x frame rate, past and future
>>> frames = odevideo.predict_clip(model, clip[:10], times, query)
"""

from odevideo.data import BouncingBalls, ClipBatch, MovingMNIST, read_video, write_video
from odevideo.errors import OdevideoError
from odevideo.models import EncoderODEDecoder, LatentODEVAE, VideoPrediction
from odevideo.solvers import SDESolverConfig, SolverConfig, odeint, odeint_batch, sdeint
from odevideo.training import ExperimentConfig, Trainer, load_config, load_model, predict_clip

__version__ = "0.1.0"

__all__ = [
    "odeint", "odeint_batch", "sdeint", "SolverConfig", "SDESolverConfig",
    "ClipBatch", "MovingMNIST", "BouncingBalls", "read_video", "write_video",
    "LatentODEVAE", "EncoderODEDecoder", "VideoPrediction",
    "ExperimentConfig", "Trainer", "load_config", "load_model", "predict_clip",
    "OdevideoError", "__version__",
]
