"""What a method provides to the generic training loop, evaluation and the command line.

A *method* (one entry of :data:`odevideo.methods.METHODS`) ties a model class to its config, its training loss,
its optional critics (discriminators) and its validation score. The loop in :mod:`odevideo.training` calls only
these hooks; it never asks which method it trains.

Shapes: clips are ``(B, T, C, H, W)`` float in [0, 1], times ``(B, T)`` in the clip's time units (one frame
interval = ``data.frame_dt``), masks ``(B, T)`` bool.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from odevideo.data import ClipBatch, collate_clips
from odevideo.data.tasks import Task, make_task, target_rows, validation_task


@dataclass(frozen=True)
class ModelSpec:
    """What the data fixes of a model's constructor: frame channels and size, clip length, how many frames a
    task shows the model (``num_observed``) and the time between frames. Saved with every model folder."""

    channels: int
    image_size: int
    num_frames: int
    num_observed: int
    frame_dt: float

    @classmethod
    def of(cls, cfg: Any) -> ModelSpec:
        """The spec of an experiment config (``data`` and ``task`` sections)."""
        d = cfg.data
        return cls(int(d.channels), int(d.image_size), int(d.num_frames), int(cfg.task.num_observed),
                   float(d.frame_dt))


@dataclass
class StepLosses:
    """One micro-batch's training losses: ``loss`` (the model's / generator's, to minimise), ``metrics``
    (floats or ints, logged), and for methods with critics the ``critic_loss`` from the same pass.
    ``regenerate`` (alternating adversarial updates): the generator's loss recomputed against the critics after
    their update, with the same generated clips."""

    loss: Tensor
    metrics: dict
    critic_loss: Tensor | None = None
    regenerate: Callable[[], Tensor] | None = None


@dataclass
class ValidationContext:
    """What a method's validation may use: the device, the process group's size and rank, a ``reduce_sum(list)``
    over processes, a ``main_first()`` context (rank 0 runs the block first) and the autocast context."""

    device: torch.device
    world_size: int = 1
    rank: int = 0
    reduce_sum: Callable[[list], list] = lambda values: values
    main_first: Callable[[], Any] = None  # type: ignore[assignment]
    autocast: Callable[[], Any] = None  # type: ignore[assignment]
    cache: dict = field(default_factory=dict)  # kept between calls (e.g. a feature extractor)


def backward_adversarial(loss: torch.Tensor, critic_loss: torch.Tensor | None, params: Iterable[nn.Parameter],
                         critic_params: Iterable[nn.Parameter] = ()) -> None:
    """Accumulates ``d loss / d params`` and ``d critic_loss / d critic_params`` from one forward pass: each loss
    reaches only its own parameters, so the shared (non-detached) generated frames serve both. Zero the
    gradients before, step the optimisers after."""
    params = [p for p in params if p.requires_grad]
    critic_params = [p for p in critic_params if p.requires_grad]
    if critic_loss is not None and critic_params:
        critic_loss.backward(inputs=critic_params, retain_graph=True)
    if params:
        loss.backward(inputs=params)


def init_kwargs(config: Any) -> dict[str, Any]:
    """A config dataclass as constructor keywords, one level deep (nested configs such as a solver's stay
    objects)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


class Method:
    """Base class of the methods: subclasses set :attr:`name`, :attr:`family`, the config types and
    :meth:`build_model`, and override the hooks they need."""

    name: ClassVar[str]
    family: ClassVar[str]  # the package under odevideo.methods (presets/<family>/)
    model_config: ClassVar[type]
    loss_config: ClassVar[type]
    #: more config sections of this method: name -> dataclass type
    sections: ClassVar[dict[str, type]] = {}
    #: True: the model predicts frames from context frames (evaluate / predict); False: it samples clips from
    #: noise (generate)
    conditional: ClassVar[bool] = True
    #: True: the model renders the frame at any fraction of the gap between two frames (the
    #: :class:`~odevideo.interpolation.Interpolator` interface that ``odevideo demo`` scores)
    interpolator: ClassVar[bool] = False
    #: the validation result that picks the best checkpoint (lower is better)
    val_key: ClassVar[str] = "val_mse"
    #: configs written before one config per method: the shared section that held this method's loss
    #: (``objective``, ``adversarial`` or ``gan``; None: there are no such configs), and keys renamed since,
    #: ``"section.old" -> "section.new"`` (see :mod:`odevideo.training.legacy`)
    legacy_section: ClassVar[str | None] = None
    legacy_renames: ClassVar[dict[str, str]] = {}

    # -------------------------------------------------------------- building
    def check(self, cfg: Any) -> None:
        """Refuse, before any work, a config whose values do not fit together (a one-line ConfigError)."""

    def build_model(self, model_cfg: Any, spec: ModelSpec) -> nn.Module:
        raise NotImplementedError

    def build(self, cfg: Any) -> nn.Module:
        """The model of an experiment config."""
        return self.build_model(cfg.model, ModelSpec.of(cfg))

    def build_critics(self, cfg: Any) -> nn.ModuleDict | None:
        """The discriminators of the training loss (None: none)."""
        return None

    # -------------------------------------------------------------- training
    def training_noise(self, cfg: Any, step: int) -> Tensor | None:
        """Random draws ``(B, D)`` for the whole global batch of ``step`` (sliced per micro-batch), or None."""
        return None

    def loss_units(self, cfg: Any, mask: Tensor) -> float:
        """How many units the loss of :meth:`losses` averages over for a batch with observation ``mask``: a
        micro-batch's loss weighted by its share of the global batch's units gives the global gradient."""
        return float(mask.shape[0])

    def losses(self, cfg: Any, model: nn.Module, critics: nn.ModuleDict | None, batch: ClipBatch,
               noise: Tensor | None, step: int, rng: torch.Generator) -> StepLosses:
        raise NotImplementedError

    def alternating(self, cfg: Any) -> bool:
        """Whether critics step first and the model's loss is then recomputed (:attr:`StepLosses.regenerate`)."""
        return False

    def after_critic_step(self, cfg: Any, critics: nn.ModuleDict, iteration: int) -> None:
        """A constraint applied after critic update number ``iteration`` (1-based), e.g. weight clipping."""

    # -------------------------------------------------------------- validation
    def validate(self, cfg: Any, model: nn.Module, val_set: Any, ctx: ValidationContext) \
            -> tuple[dict, tuple[Tensor, Tensor] | None]:
        """``(scores, samples)``: scores hold :attr:`val_key`; ``samples`` = ``(truth, generated)`` clips
        ``(N, T, C, H, W)`` to show (rank 0), or None."""
        raise NotImplementedError


def task_of(cfg: Any, batch: ClipBatch) -> Task:
    """The training :class:`~odevideo.data.tasks.Task` of the configured ``task`` section on ``batch``."""
    t = cfg.task
    return make_task(batch, t.formulation, t.num_observed, stride=t.interp_stride)


class ConditionalMethod(Method):
    """A method whose model predicts frames at query times from context frames; validated by the prediction
    MSE of the validation task (:func:`odevideo.data.tasks.validation_task`)."""

    def loss_units(self, cfg: Any, mask: Tensor) -> float:
        """Observed target frames (frame-mean losses); the VAEs override this with clips."""
        return float(target_rows(mask, cfg.task.formulation, cfg.task.num_observed, cfg.task.interp_stride).sum())

    @torch.no_grad()
    def validate(self, cfg, model, val_set, ctx):
        se, n, nfe, first = 0.0, 0, 0, None
        bs, k_show = cfg.eval.batch_size, cfg.eval.num_sample_clips
        for k, start in enumerate(range(0, len(val_set), bs)):
            if k % ctx.world_size != ctx.rank:
                continue
            idx = range(start, min(start + bs, len(val_set)))
            batch = collate_clips([val_set[i] for i in idx], frame_dt=cfg.data.frame_dt).to(ctx.device)
            task = validation_task(batch, cfg.task.formulation, cfg.task.num_observed, cfg.task.interp_stride)
            with ctx.autocast():
                pred = model(task.context_frames, task.context_times, task.context_mask, task.query_times)
            err = ((pred.frames.float() - task.targets) ** 2).flatten(2).mean(-1)
            se += err[task.target_mask].sum().item()
            n += int(task.target_mask.sum())
            nfe += pred.nfe
            if first is None:
                first = (task.targets[:k_show], pred.frames[:k_show].float())
        se, n, nfe = ctx.reduce_sum([se, n, nfe])
        return {"val_mse": se / max(n, 1), "val_nfe": int(round(nfe))}, first
