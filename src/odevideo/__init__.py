"""odevideo: continuous-time video generation with neural differential equations.

Every conditional model answers ``model(frames, times, mask, query_times)`` with frames at any real-valued
times: between observations, after them, or before them.

>>> import odevideo
>>> model = odevideo.load_model("runs/demo")                 # a saved model folder or a run folder
>>> clip = odevideo.BouncingBalls(num_clips=1)[0]             # (T, C, H, W) in [0, 1]
>>> times = torch.arange(10) * model.spec.frame_dt            # observed frame times
>>> query = torch.linspace(-0.5, 3.0, 141)                    # 4x frame rate, past and future
>>> frames = odevideo.predict_clip(model, clip[:10], times, query)

Loading a model imports no training code; ``Trainer``, ``load_config`` and ``ExperimentConfig`` are imported
from :mod:`odevideo.training` on first use.
"""

from odevideo.data import BouncingBalls, ClipBatch, MovingMNIST, read_video, write_video
from odevideo.errors import OdevideoError
from odevideo.methods.prediction import VideoPrediction
from odevideo.pretrained import load_model, save_pretrained
from odevideo.solvers import SDESolverConfig, SolverConfig, odeint, odeint_batch, sdeint

__version__ = "0.1.0"

_TRAINING = ("ExperimentConfig", "Trainer", "load_config", "predict_clip")


def __getattr__(name: str):
    if name in _TRAINING:  # the training package only when asked for
        import odevideo.training as training

        return getattr(training, name)
    raise AttributeError(f"module 'odevideo' has no attribute {name!r}")


__all__ = [
    "odeint", "odeint_batch", "sdeint", "SolverConfig", "SDESolverConfig",
    "ClipBatch", "MovingMNIST", "BouncingBalls", "read_video", "write_video", "VideoPrediction",
    "load_model", "save_pretrained", "ExperimentConfig", "Trainer", "load_config", "predict_clip",
    "OdevideoError", "__version__",
]
