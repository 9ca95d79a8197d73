"""Vid-ODE training-step benchmark: our step against the authors' step, measured the same way.

For every image size x task (extrapolation, interpolation) x variant it reports seconds per step (median of
the timed steps after warm-up), CPU-seconds per step (``time.process_time``, all threads), the function
evaluations (NFE) of the encoder and decoder ODEs per step, peak memory, and the ratios ours / authors
measured in the same run. Each configuration runs in a fresh subprocess, so its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that configuration alone; ``--rounds`` repeats
every configuration, alternating the order of the variants from round to round (A, B, then B, A).

Variants:

* ``authors`` with ``--authors-repo PATH``: the authors' own training iteration, run from a local checkout
  of psh01087/Vid-ODE with their default hyper-parameters and two runtime fixes (``vid_ode_authors.py``:
  ``.cuda()`` in their interpolation sequence windows -> the frames' device; the generator's backward/step
  before the discriminators', same FLOPs). Nothing of theirs is copied into this repository.
* ``authors`` without ``--authors-repo``: :func:`authors_reference_step`, a reconstruction of their
  per-iteration compute pattern from our modules (BatchNorm, decoder dopri5 from the first target, two-pass
  GAN update, fp32), labelled "reconstruction (not the authors' code)" in the table and the JSON.
* ``ours[SPEC]``: :func:`ours_step`, what our trainer runs (GroupNorm, decoder from the last observed frame,
  one fused discriminator pass). ``SPEC`` is ``SOLVER[:bf16|:fp32][:cl][:adjoint][:ode][:ac]``: the decoder solver
  (``dopri5`` = the authors' rtol 1e-3 / atol 1e-4; a fixed-step method such as ``euler``, ``midpoint`` or
  ``rk4`` steps from one query time to the next, i.e. one frame gap per step; ``METHOD@STEP`` sets
  ``step_size`` explicitly), bf16 autocast, channels_last memory format, adjoint backpropagation through
  the decoder ODE (the memory option the model offers: ``SolverConfig.adjoint``), and ``ode``: the ODE nets
  and the ConvGRU under the autocast dtype too (``VidODE(ode_autocast=True)``; states stay float32), and
  ``ac``: activation checkpointing of the Conv-Decoder G.

``--breakdown`` adds one profiled step per configuration split by component (encoder E, ODE-ConvGRU
encoder, decoder ODE, Conv-Decoder G, warping, each discriminator, each optimiser; ``vid_ode_breakdown.py``)
and prints the variants side by side.

    python benchmarks/vid_ode_step.py --authors-repo ../Vid-ODE --sizes 64 --threads 1 --rounds 2 --breakdown \\
        --ours dopri5:fp32 dopri5:bf16 euler@0.1:bf16:ode
    python benchmarks/vid_ode_step.py --sizes 64 --steps 3 --warmup 1 --threads 2    # reconstruction reference
    python benchmarks/vid_ode_step.py --sizes 128 --steps 2 --warmup 1 --ours dopri5:bf16 euler:bf16 --append
    python benchmarks/vid_ode_step.py --sizes 64 --rounds 3 --flops   # interleaved rounds; FLOPs of one step
    python benchmarks/vid_ode_step.py --quick          # tiny smoke run (size 16, batch 2, hidden 16), in-process

Writes ``benchmarks/results/vid_ode_step.json`` (atomically, after every size x task group; ``--out`` to change;
``--append`` keeps the groups of an earlier run that this one does not measure) and prints a table.
Other processes sharing the CPU make absolute timings noisy: compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # the sibling modules vid_ode_authors, vid_ode_breakdown
    sys.path.insert(0, str(Path(__file__).resolve().parent))

FRAMES = 10  # frames per clip
NUM_OBSERVED = 5  # extrapolation: 5 observed + 5 targets
INTERP_STRIDE = 2  # interpolation: every 2nd frame of the clip observed (5 frames), and reconstructed
FRAME_DT = 0.1  # time units between consecutive frames (the project's data.frame_dt)
TASKS = ("extrapolation", "interpolation")
DEFAULT_OURS = ("dopri5:fp32", "dopri5:bf16", "euler:bf16", "midpoint:bf16", "euler:bf16:cl", "dopri5:bf16:adjoint")
AUTHORS = "authors"
FIXED_STEP = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")


@dataclass(frozen=True)
class Setup:
    """Sizes of one benchmark configuration (the issue's defaults unless ``--quick``)."""

    size: int
    task: str
    batch: int = 8
    channels: int = 3
    hidden: int = 128
    n_downs: int = 2
    disc_channels: int = 64  # base width of both PatchGAN discriminators (their default)
    disc_downs: int = 3


@dataclass(frozen=True)
class Variant:
    """One way of running the step; :func:`parse_variant` builds it from its name."""

    name: str
    kind: str  # "authors" or "ours"
    solver: str = "dopri5"  # decoder ODE method, optionally METHOD@STEP_SIZE
    bf16: bool = False
    channels_last: bool = False
    adjoint: bool = False
    ode_autocast: bool = False
    activation_checkpointing: bool = False


def parse_variant(name: str) -> Variant:
    """``"authors"`` or ``"ours[SPEC]"`` / ``"SPEC"`` with ``SPEC = SOLVER[:bf16|:fp32][:cl][:adjoint][:ode][:ac]``."""
    if name == AUTHORS:
        return Variant(AUTHORS, AUTHORS)
    spec = name[5:-1] if name.startswith("ours[") and name.endswith("]") else name
    solver, *flags = spec.split(":")
    unknown = set(flags) - {"bf16", "fp32", "cl", "adjoint", "ode", "ac"}
    if unknown or not solver:
        raise SystemExit(f"bad variant {name!r}: use SOLVER[:bf16|:fp32][:cl][:adjoint][:ode][:ac], e.g. euler:bf16")
    return Variant(f"ours[{spec}]", "ours", solver, "bf16" in flags, "cl" in flags, "adjoint" in flags,
                   "ode" in flags, "ac" in flags)


# ----------------------------------------------------------------------------------------------------------------
# Problem, models and the two steps


def make_problem(setup: Setup, seed: int = 0) -> dict:
    """One batch of the task: context frames/times/mask, query times, targets and the D_seq window mode."""
    import torch

    g = torch.Generator().manual_seed(seed)
    b = setup.batch
    frames = torch.rand(b, FRAMES, setup.channels, setup.size, setup.size, generator=g)
    times = (torch.arange(FRAMES, dtype=torch.float32) * FRAME_DT).expand(b, FRAMES).contiguous()
    if setup.task == "extrapolation":
        ctx, ctx_t = frames[:, :NUM_OBSERVED], times[:, :NUM_OBSERVED]
        query_t, targets = times[:, NUM_OBSERVED:], frames[:, NUM_OBSERVED:]
        window, gap = NUM_OBSERVED + 1, FRAME_DT  # the authors' D_seq window: T_in + 1 frames
    elif setup.task == "interpolation":
        ctx, ctx_t = frames[:, ::INTERP_STRIDE], times[:, ::INTERP_STRIDE]
        query_t, targets = ctx_t, ctx  # training reconstructs the observed frames
        window, gap = ctx.shape[1], INTERP_STRIDE * FRAME_DT  # interpolation windows span the whole clip
    else:
        raise SystemExit(f"unknown task {setup.task!r}; use one of {', '.join(TASKS)}")
    return {
        "context": ctx.contiguous(), "context_times": ctx_t.contiguous(),
        "context_mask": torch.ones(ctx.shape[:2], dtype=torch.bool), "query_times": query_t.contiguous(),
        "targets": targets.contiguous(), "window": window, "seq_mode": setup.task, "frame_gap": gap,
    }


def decoder_solver(variant: Variant):
    """The decoder's SolverConfig for a variant (dopri5 = the authors' tolerances)."""
    from odevideo.methods.vid_ode.vid_ode import AUTHORS_DECODER_SOLVER
    from odevideo.solvers import SolverConfig

    method, _, step = variant.solver.partition("@")
    if method == "dopri5" and not step:
        return SolverConfig(**{**AUTHORS_DECODER_SOLVER.to_dict(), "adjoint": variant.adjoint})
    if method not in FIXED_STEP and step:
        raise SystemExit(f"step sizes apply to fixed-step methods only, not {variant.solver!r}")
    # Fixed-step without a step size steps from one query time to the next: one frame gap per step here.
    return SolverConfig(method=method, step_size=float(step) if step else None, adjoint=variant.adjoint)


def _batchnorm_for_groupnorm(module) -> int:
    """Replaces every GroupNorm under ``module`` by a BatchNorm2d of the same width (in place); returns how many."""
    from torch import nn

    n = 0
    for name, child in module.named_children():
        if isinstance(child, nn.GroupNorm):
            setattr(module, name, nn.BatchNorm2d(child.num_channels))
            n += 1
        else:
            n += _batchnorm_for_groupnorm(child)
    return n


def build(setup: Setup, variant: Variant, problem: dict, seed: int = 0) -> dict:
    """Generator, both discriminators and their Adamax optimisers (lr 1e-3, as the authors)."""
    import torch

    from odevideo.methods.vid_ode.vid_ode import VidODE
    from odevideo.nn.discriminators import ImageDiscriminator, SequenceDiscriminator

    torch.manual_seed(seed)
    common = dict(in_channels=setup.channels, hidden_channels=setup.hidden, n_downs=setup.n_downs)
    if variant.kind == AUTHORS:
        model = VidODE(**common, decoder_solver=None, decoder_start="first_target", first_prev="embedding",
                       warp_previous="warped")
        if _batchnorm_for_groupnorm(model) == 0:
            raise RuntimeError("VidODE has no GroupNorm layers to swap for BatchNorm; update the reference model")
    else:
        model = VidODE(**common, decoder_solver=decoder_solver(variant), decoder_start="last_observed",
                       ode_autocast=variant.ode_autocast)
        model.decoder.activation_checkpointing = variant.activation_checkpointing
    image_disc = ImageDiscriminator(setup.channels, setup.disc_channels, setup.disc_downs)
    seq_disc = SequenceDiscriminator(setup.channels, problem["window"], setup.disc_channels, setup.disc_downs)
    if variant.channels_last:
        for m in (model, image_disc, seq_disc):
            m.to(memory_format=torch.channels_last)
    d_params = [*image_disc.parameters(), *seq_disc.parameters()]
    return {
        "model": model, "image_disc": image_disc, "seq_disc": seq_disc, "d_params": d_params,
        "opt_g": torch.optim.Adamax(model.parameters(), lr=1e-3), "opt_d": torch.optim.Adamax(d_params, lr=1e-3),
    }


def authors_reference_step(nets: dict, problem: dict):
    """One training iteration with the authors' compute pattern (Park et al., AAAI 2021, and their code).

    What it reproduces, rebuilt from our modules so that only the compute pattern differs:

    * fp32 throughout; the generator uses BatchNorm2d (our GroupNorm layers swapped for BatchNorm of the same
      width by :func:`build`), train mode.
    * decoder ODE: dopri5, rtol 1e-3, atol 1e-4, started at the *first target* time
      (``decoder_start="first_target"``), the first previous state is the encoder embedding of the reference
      frame (``first_prev="embedding"``, one extra Conv-Encoder pass) and the chain warps the previous
      *warped* image (``warp_previous="warped"``); ODE-ConvGRU encoder: one Euler step per gap.
    * Adamax optimisers for the generator and for both discriminators (lr 1e-3).
    * the classic two-pass GAN update: first a discriminator update on ``fake.detach()`` (D_img and D_seq
      both run on the real and on the detached fake frames, sequence windows built for it), then a
      generator update with both discriminators run *again* on the (non-detached) fake frames, the
      sequence windows rebuilt, and the generator loss back-propagated through the discriminators (their
      parameter gradients are computed too, then zeroed before the next D update, as a plain
      ``loss.backward()`` does).
    * losses: L1 reconstruction + lambda_diff L1 difference + 0.003 LSGAN terms (eq. 3-7).

    Returns the prediction (for NFE and shapes).
    """
    from odevideo.methods.vid_ode.losses import (
        VidODELossWeights,
        difference_loss,
        lsgan_discriminator_loss,
        lsgan_generator_loss,
        reconstruction_loss,
        sequence_windows,
    )

    model, d_img, d_seq = nets["model"], nets["image_disc"], nets["seq_disc"]
    w = VidODELossWeights()
    ctx, mask, targets = problem["context"], problem["context_mask"], problem["targets"]
    win_kw = dict(mode=problem["seq_mode"], query_times=problem["query_times"], context_times=problem["context_times"])
    window = problem["window"]

    pred = model(ctx, problem["context_times"], mask, problem["query_times"])
    fake = pred.raw_frames

    # 1) discriminator update on the detached fake frames
    nets["opt_d"].zero_grad()
    fake_d = fake.detach()
    loss_d_img = lsgan_discriminator_loss(d_img(targets.flatten(0, 1)), d_img(fake_d.flatten(0, 1)))
    real_w = sequence_windows(targets, window, ctx, mask, **win_kw)
    fake_w = sequence_windows(fake_d, window, ctx, mask, **win_kw)
    loss_d_seq = lsgan_discriminator_loss(d_seq(real_w.flatten(0, 1)), d_seq(fake_w.flatten(0, 1)))
    (loss_d_img + loss_d_seq).backward()
    nets["opt_d"].step()

    # 2) generator update: the discriminators run again on the fake frames, windows rebuilt
    nets["opt_g"].zero_grad()
    loss_g = reconstruction_loss(pred, targets) + w.diff * difference_loss(pred, targets)
    loss_g = loss_g + w.img * lsgan_generator_loss(d_img(fake.flatten(0, 1)))
    fake_w = sequence_windows(fake, window, ctx, mask, **win_kw)
    loss_g = loss_g + w.seq * lsgan_generator_loss(d_seq(fake_w.flatten(0, 1)))
    loss_g.backward()
    nets["opt_g"].step()
    return pred, float(loss_g.detach())


def ours_step(nets: dict, problem: dict, *, bf16: bool = False, channels_last: bool = False):
    """One training iteration as our trainer runs it: one fused discriminator pass, one backward per loss.

    :func:`~odevideo.methods.vid_ode.losses.vid_ode_losses` runs each discriminator once on the real and once
    on the non-detached fake frames; :func:`~odevideo.methods.base.backward_adversarial` back-propagates the
    discriminator loss into the discriminators' parameters and the generator loss into the generator's.
    Optional bf16 autocast for the forward pass (the model keeps its ODEs in fp32) and channels_last inputs.
    Returns the prediction (for NFE and shapes).
    """
    import torch

    from odevideo.methods.base import backward_adversarial
    from odevideo.methods.vid_ode.losses import vid_ode_losses

    model = nets["model"]
    ctx, targets = problem["context"], problem["targets"]
    if channels_last:  # frames (B, T, C, H, W): channels_last per frame = C innermost
        ctx = ctx.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
        targets = targets.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
    nets["opt_g"].zero_grad(set_to_none=True)
    nets["opt_d"].zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        pred = model(ctx, problem["context_times"], problem["context_mask"], problem["query_times"])
        losses = vid_ode_losses(
            pred, targets, None, context_frames=ctx, context_mask=problem["context_mask"],
            context_times=problem["context_times"], image_disc=nets["image_disc"], seq_disc=nets["seq_disc"],
            seq_mode=problem["seq_mode"],
        )
    backward_adversarial(losses.generator, losses.discriminator, model.parameters(), nets["d_params"])
    nets["opt_g"].step()
    nets["opt_d"].step()
    return pred, float(losses.generator.detach())


def run_step(nets: dict, problem: dict, variant: Variant):
    if variant.kind == AUTHORS:
        return authors_reference_step(nets, problem)
    return ours_step(nets, problem, bf16=variant.bf16, channels_last=variant.channels_last)


RECONSTRUCTION_LABEL = "reconstruction (not the authors' code)"


class OursRunner:
    """Our step for a variant, or (``kind == "authors"`` without ``--authors-repo``) the reconstruction."""

    def __init__(self, setup: Setup, variant: Variant, problem: dict):
        self.variant, self.problem = variant, problem
        self.nets = build(setup, variant, problem)
        self.label = RECONSTRUCTION_LABEL if variant.kind == AUTHORS else "ours"

    def step(self) -> tuple[list[int], float]:
        pred, loss = run_step(self.nets, self.problem, self.variant)
        return list(pred.frames.shape), loss

    def counters(self) -> tuple[int, int, int, int]:
        enc, dec = self.nets["model"].ode_encoder.dynamics, self.nets["model"].decoder_dynamics
        return enc.nfe_forward, enc.nfe_backward, dec.nfe_forward, dec.nfe_backward

    def mark(self, scopes) -> None:
        """Profiler ranges around the components (:mod:`vid_ode_breakdown`)."""
        import odevideo.methods.vid_ode.vid_ode as vid_ode_module

        model = self.nets["model"]
        scopes.module("encoder E", model.encoder)
        scopes.module("ODE-ConvGRU encoder", model.ode_encoder)
        scopes.function("decoder ODE", vid_ode_module, "odeint_batch")
        scopes.module("Conv-Decoder G", model.decoder)
        scopes.function("warping + composition", vid_ode_module, "compose_frame_chain")
        scopes.module("D_img", self.nets["image_disc"])
        scopes.module("D_seq", self.nets["seq_disc"])
        scopes.function("optimizer G", self.nets["opt_g"], "step")
        scopes.function("optimizer D", self.nets["opt_d"], "step")


def make_runner(setup: Setup, variant: Variant, problem: dict, authors_repo: str | None = None):
    """The authors' code (``--authors-repo``) for the reference, else :class:`OursRunner`."""
    if variant.kind == AUTHORS and authors_repo:
        from vid_ode_authors import AuthorsRunner

        return AuthorsRunner(authors_repo, problem, size=setup.size, task=setup.task, batch=setup.batch)
    return OursRunner(setup, variant, problem)


# ----------------------------------------------------------------------------------------------------------------
# Measuring one configuration


def _flops(runner) -> dict:
    """FLOPs of one (extra, untimed) step, forward + backward (``torch.utils.flop_counter``).

    Only the total is reported: FlopCounterMode's per-module split attributes backward FLOPs to whichever
    module's backward hook fired last (e.g. generator backward work lands in the discriminators' first conv),
    so its per-part numbers do not add up and are left out.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        runner.step()
    return {"tflop_per_step": counter.get_total_flops() / 1e12}


def _breakdown(runner) -> dict:
    """One extra (untimed) step under the profiler, split by component (:mod:`vid_ode_breakdown`)."""
    from vid_ode_breakdown import profile_step, scoped

    with scoped(runner.mark) as scopes:
        return profile_step(runner.step, scopes)


def measure(setup: Setup, variant: Variant, steps: int, warmup: int, threads: int, flops: bool = False,
            authors_repo: str | None = None, breakdown: bool = False) -> dict:
    """Builds the configuration and times ``warmup + steps`` steps (in this process)."""
    import resource

    import torch

    torch.set_num_threads(threads)
    problem = make_problem(setup)
    runner = make_runner(setup, variant, problem, authors_repo)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu, nfe, losses = [], [], [], []
    shape = None
    for step in range(warmup + steps):
        c0 = runner.counters()
        t0, p0 = time.perf_counter(), time.process_time()
        shape, loss = runner.step()
        t1, p1 = time.perf_counter(), time.process_time()
        c1 = runner.counters()
        losses.append(loss)
        if step >= warmup:
            wall.append(t1 - t0)
            cpu.append(p1 - p0)
            nfe.append([b - a for a, b in zip(c0, c1)])
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load = os.getloadavg()[0]  # other processes on the machine (this one counts for about `threads`)
    mean_nfe = [sum(col) / len(col) for col in zip(*nfe)]
    row = {
        "variant": variant.name, **asdict(variant), "reference": runner.label if variant.kind == AUTHORS else None,
        "size": setup.size, "task": setup.task, "batch": setup.batch,
        "hidden": setup.hidden, "frames": FRAMES, "seq_window": problem["window"], "frame_gap": problem["frame_gap"],
        "precision": "bf16" if variant.bf16 else "fp32", "steps_timed": steps, "warmup": warmup, "threads": threads,
        "s_per_step": statistics.median(wall), "s_per_step_min": min(wall), "s_per_step_all": wall,
        "cpu_s_per_step": statistics.median(cpu), "cpu_s_per_step_all": cpu, "loadavg_1min": load,
        "nfe_encoder_fwd": mean_nfe[0], "nfe_encoder_bwd": mean_nfe[1],
        "nfe_decoder_fwd": mean_nfe[2], "nfe_decoder_bwd": mean_nfe[3],
        "peak_rss_mb": peak_kb / 1024, "rss_before_steps_mb": rss0 / 1024, "rss_growth_mb": (peak_kb - rss0) / 1024,
        "output_shape": shape, "final_generator_loss": losses[-1], "losses_finite": all(map(_finite, losses)),
    }
    if hasattr(runner, "options"):
        from vid_ode_authors import code_identity

        row["authors_code"] = code_identity(authors_repo)
        row["authors_options"] = runner.options
    # Extra steps after the peak-memory reading, so they cannot change it.
    if flops and variant.adjoint:
        # FlopCounterMode's module tracker hooks backward nodes, which torch refuses inside the adjoint's
        # autograd.grad; the adjoint variant runs the same forward as its non-adjoint twin.
        row["flops"] = {"skipped": "FlopCounterMode does not support the adjoint backward (autograd.grad)"}
    elif flops:
        row["flops"] = _flops(runner)
    if breakdown:
        row["breakdown"] = _breakdown(runner)
    return row


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


# ----------------------------------------------------------------------------------------------------------------
# Driver


def _setup(size: int, task: str, quick: bool) -> Setup:
    if quick:
        return Setup(size=size, task=task, batch=2, hidden=16, disc_channels=8)
    return Setup(size=size, task=task)


def _worker_cmd(args, size: int, task: str, variant: str, breakdown: bool = False) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", str(size), task, variant,
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    cmd += ["--authors-repo", args.authors_repo] if args.authors_repo else []
    return (cmd + (["--quick"] if args.quick else []) + (["--flops"] if args.flops else [])
            + (["--breakdown"] if breakdown else []))


def _environment(args) -> dict:
    import torch

    model_name = platform.processor() or platform.machine()
    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model_name in ("", platform.machine()):
                model_name = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = [f for f in line.split(":", 1)[1].split() if "bf16" in f or f.startswith("amx")]
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True,
                                    cwd=Path(__file__).parent).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "machine": model_name, "cpu_flags_bf16": flags, "cpu_count": os.cpu_count(), "threads": args.threads,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "torch": torch.__version__,
        "python": platform.python_version(), "git_commit": commit, "src_modified": dirty,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


NOTES = [
    "s_per_step / cpu_s_per_step: medians over the timed steps (after warm-up) of all rounds; s_per_step_min: the "
    "fastest timed step; cpu = process CPU time, all threads (OpenMP threads spinning at barriers while another "
    "process holds a core count as CPU time too, so it also grows under contention).",
    "On a machine shared with other processes (loadavg_1min: the 1-minute load average at the end of each run, this "
    "run included) a 2-thread step waits for whichever of its threads was descheduled at every parallel region, "
    "which inflates the many small ODE convolutions most; --rounds interleaves the variants, and the ratio of the "
    "min step times (ratio_vs_authors.s_per_step_min) is the least load-sensitive comparison.",
    "nfe_*_fwd: ODE right-hand-side evaluations per step (NFECounter.nfe_forward; for adjoint variants they include "
    "the re-evaluations in the backward solve); nfe_*_bwd: vector-Jacobian products through it "
    "(NFECounter.nfe_backward).",
    "peak_rss_mb: ru_maxrss of a fresh subprocess per configuration (includes the ~0.3-0.4 GB of the Python+torch "
    "process itself); rss_growth_mb: high-water mark growth during the steps. Not isolated with --in-process.",
    "ratio_vs_authors: this variant / the authors' reference at the same size and task, measured in the same run.",
    "Memory control that VidODE offers: SolverConfig(adjoint=True) for the decoder ODE (variants ':adjoint'). "
    "The ODE-ConvGRU encoder takes one Euler step per gap, so adjoint gains nothing there. Activation "
    "checkpointing of the Conv-Decoder G (train.activation_checkpointing; variants ':ac') recomputes its "
    "activations in the backward pass.",
    "ours fixed-step decoder solvers without '@STEP' step from one query time to the next (one frame gap per step: "
    "0.1 extrapolation, 0.2 interpolation) and need no interpolation evaluations.",
    "Initialisation: both models use VidODE's default init (zero-initialised last conv of the ODE functions), so the "
    "dopri5 NFE reflect an untrained model; they grow as the dynamics are learned.",
]


def _row_name(r: dict) -> str:
    return r.get("reference") or r["variant"] if r["kind"] == AUTHORS else r["variant"]


def _table(rows: list[dict]) -> str:
    width = max(26, *(len(_row_name(r)) for r in rows)) if rows else 26
    head = (f"{'size':>4} {'task':13s} {'variant':{width}s} {'s/step':>7} {'min s':>6} {'cpu-s':>6} {'NFE enc':>7} "
            f"{'NFE dec':>7} {'peak MB':>7} {'x cpu':>6} {'x wall':>6} {'x min':>6} {'x mem':>5} {'TFLOP':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = r.get("ratio_vs_authors", {})
        lines.append(
            f"{r['size']:>4} {r['task']:13s} {_row_name(r):{width}s} {r['s_per_step']:7.3f} "
            f"{r['s_per_step_min']:6.2f} {r['cpu_s_per_step']:6.2f} {r['nfe_encoder_fwd']:7.1f} "
            f"{r['nfe_decoder_fwd']:7.1f} {r['peak_rss_mb']:7.0f} {ratio.get('cpu_s_per_step', float('nan')):6.2f} "
            f"{ratio.get('s_per_step', float('nan')):6.2f} {ratio.get('s_per_step_min', float('nan')):6.2f} "
            f"{ratio.get('peak_rss_mb', float('nan')):5.2f} "
            f"{r.get('flops', {}).get('tflop_per_step', float('nan')):6.3f}"
        )
    return "\n".join(lines)


def _breakdown_tables(rows: list[dict]) -> str:
    """Per size and task: the components of every variant that has a breakdown, side by side."""
    from vid_ode_breakdown import format_breakdown

    out = []
    groups: dict[tuple, list] = {}
    for r in rows:
        if r.get("breakdown"):
            groups.setdefault((r["size"], r["task"]), []).append((_row_name(r), r["breakdown"]))
    for (size, task), items in groups.items():
        out.append(f"breakdown, {size} px {task}: one profiled step each, CPU ms per component (share of the "
                   "step's profiled time x its CPU time) and share")
        out.append(format_breakdown(items))
    return "\n".join(out)


RATIO_KEYS = ("s_per_step", "s_per_step_min", "cpu_s_per_step", "peak_rss_mb")


def _run_one(args, size: int, task: str, name: str, breakdown: bool = False) -> dict:
    """One configuration, in a fresh subprocess (or in this process with --in-process)."""
    if args.in_process:
        row = measure(_setup(size, task, args.quick), parse_variant(name), args.steps, args.warmup, args.threads,
                      args.flops, args.authors_repo, breakdown)
        row["memory_isolated"] = False
        return row
    out = subprocess.run(_worker_cmd(args, size, task, name, breakdown), capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"worker {size} {task} {name} failed (exit {out.returncode})")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["memory_isolated"] = True
    return row


def _merge_rounds(rows: list[dict]) -> dict:
    """One row from several rounds of the same configuration: statistics over all their timed steps."""
    row = dict(rows[-1])
    wall = [x for r in rows for x in r["s_per_step_all"]]
    cpu = [x for r in rows for x in r["cpu_s_per_step_all"]]
    row.update(
        rounds=len(rows), s_per_step=statistics.median(wall), s_per_step_min=min(wall), s_per_step_all=wall,
        cpu_s_per_step=statistics.median(cpu), cpu_s_per_step_all=cpu,
        peak_rss_mb=max(r["peak_rss_mb"] for r in rows), rss_growth_mb=max(r["rss_growth_mb"] for r in rows),
        loadavg_1min=[r["loadavg_1min"] for r in rows], losses_finite=all(r["losses_finite"] for r in rows),
    )
    for key in ("nfe_encoder_fwd", "nfe_encoder_bwd", "nfe_decoder_fwd", "nfe_decoder_bwd"):
        row[key] = statistics.fmean(r[key] for r in rows)
    return row


def _write(args, rows: list[dict], previous: list[dict]) -> dict:
    from odevideo._atomic import atomic_write_text

    env = _environment(args)
    command = " ".join(["benchmarks/vid_ode_step.py", *args.argv])
    for r in rows:
        r.setdefault("measured", env["date"])
        r.setdefault("command", command)  # rows kept by --append keep the command that measured them
    all_rows = sorted(previous + rows, key=lambda r: (r["size"], TASKS.index(r["task"]) if r["task"] in TASKS else 9))
    result = {
        "benchmark": "vid_ode_step", "issue": 3, "quick": args.quick, "environment": env,
        "setup": {"frames": FRAMES, "num_observed": NUM_OBSERVED, "interp_stride": INTERP_STRIDE,
                  "frame_dt": FRAME_DT, "optimizer": "Adamax lr 1e-3",
                  **{k: v for k, v in asdict(_setup(0, "", args.quick)).items() if k not in ("size", "task")}},
        "command": command, "commands": list(dict.fromkeys(r["command"] for r in all_rows if r.get("command"))),
        "steps": args.steps, "warmup": args.warmup, "rounds": args.rounds, "notes": NOTES, "rows": all_rows,
    }
    atomic_write_text(Path(args.out), json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", type=int, default=[64, 128])
    ap.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    ap.add_argument("--ours", nargs="+", default=list(DEFAULT_OURS), metavar="SPEC",
                    help="our variants, SOLVER[:bf16|:fp32][:cl][:adjoint][:ode][:ac] (default: %(default)s)")
    ap.add_argument("--authors-repo", metavar="PATH", default=None,
                    help="a checkout of psh01087/Vid-ODE: the reference is the authors' own training iteration "
                    "(benchmarks/vid_ode_authors.py); without it, a reconstruction from our modules, labelled so")
    ap.add_argument("--no-authors", action="store_true", help="skip the authors' reference (no ratios then)")
    ap.add_argument("--breakdown", action="store_true",
                    help="one extra profiled step per configuration (last round), split by component")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per configuration")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every configuration this many times, interleaved (noisy shared machines)")
    ap.add_argument("--flops", action="store_true", help="also count FLOPs of one extra step (slow)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: size 16, batch 2, hidden 16, 1 step, in-process (unless --sizes/--steps given)")
    ap.add_argument("--in-process", action="store_true", help="run every configuration in this process "
                    "(faster start; peak memory is then not per configuration)")
    ap.add_argument("--append", action="store_true",
                    help="keep the rows of --out for sizes/tasks not measured in this run (e.g. add 128 later)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "vid_ode_step.json"))
    ap.add_argument("--_worker", nargs=3, metavar=("SIZE", "TASK", "VARIANT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    given = set(args.argv)
    if args.quick:
        if "--sizes" not in given:
            args.sizes = [16]
        if "--steps" not in given:
            args.steps = 1
        args.in_process = True
    if args.steps < 1 or args.warmup < 0 or args.rounds < 1:
        raise SystemExit("--steps and --rounds must be >= 1 and --warmup >= 0")

    if args._worker:
        size, task, name = args._worker
        row = measure(_setup(int(size), task, args.quick), parse_variant(name), args.steps, args.warmup,
                      args.threads, args.flops, args.authors_repo, args.breakdown)
        print(json.dumps(row))
        return row

    variants = ([] if args.no_authors else [AUTHORS]) + [parse_variant(s).name for s in args.ours]
    previous: list[dict] = []
    if args.append and Path(args.out).exists():  # keep the other (size, task) groups of an earlier run
        keep = {(size, task) for size in args.sizes for task in args.tasks}
        previous = [r for r in json.loads(Path(args.out).read_text())["rows"] if (r["size"], r["task"]) not in keep]
    rows = []
    for size in args.sizes:
        for task in args.tasks:
            runs: dict[str, list[dict]] = {name: [] for name in variants}
            for rnd in range(args.rounds):  # rounds interleave the variants, so load changes hit all of them
                # A/B, then B/A: no variant always runs first (or right after the reference) in its round.
                for name in (variants if rnd % 2 == 0 else variants[::-1]):
                    row = _run_one(args, size, task, name, breakdown=args.breakdown and rnd == args.rounds - 1)
                    print(f"  round {rnd + 1}/{args.rounds} {size} {task} {name}: {row['s_per_step']:.3f} s/step "
                          f"(min {row['s_per_step_min']:.3f}), cpu {row['cpu_s_per_step']:.2f} s, "
                          f"peak {row['peak_rss_mb']:.0f} MB, load {row['loadavg_1min']:.1f}", flush=True)
                    runs[name].append(row)
            group = [_merge_rounds(runs[name]) for name in variants]
            ref = next((r for r in group if r["kind"] == AUTHORS), None)
            if ref is not None:
                for r in group:
                    r["ratio_vs_authors"] = {
                        k: r[k] / ref[k] for k in RATIO_KEYS if ref[k] > 0
                    }
                    r["meets_half_wall_time"] = r["ratio_vs_authors"].get("s_per_step", 1.0) <= 0.5
            rows.extend(group)
            _write(args, rows, previous)  # after every group: an interrupted run keeps what it measured

    result = _write(args, rows, previous)
    print(_table(result["rows"]))
    if args.breakdown:
        print(_breakdown_tables(rows))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
