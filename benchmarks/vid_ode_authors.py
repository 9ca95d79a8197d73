"""The authors' own Vid-ODE training iteration, run from a local checkout of their repository.

``python benchmarks/vid_ode_step.py --authors-repo PATH`` with ``PATH`` a checkout of psh01087/Vid-ODE
(``git clone https://github.com/psh01087/Vid-ODE``; their ``requirements.txt`` pins torch 1.0 and
torchdiffeq 0.0.1, the code runs on the torch and torchdiffeq installed here). Nothing of theirs is copied
into this repository: :func:`load` puts ``PATH`` first on ``sys.path`` in the benchmark's worker process and
imports their ``models.conv_odegru`` and ``models.gan``; their hyper-parameters are the defaults of the
``argparse`` options in their ``main.py``, read from its syntax tree (:func:`authors_defaults`) without
importing it (it imports their data pipeline).

One iteration (:meth:`AuthorsRunner.step`) is the body of the loop in their ``main.train``: their
``VidODE.compute_all_losses`` on the batch, then ``netD_seq``/``netD_img`` ``.netD_adv_loss`` and
``.netG_adv_loss`` (each discriminator runs on the detached fake, the real and again on the fake frames),
``lamb_adv`` times each, then the two backward passes and Adamax steps. Two runtime fixes, applied in
the worker process only, without editing their files:

1. ``Discriminator.rearrange_seq_interp`` (interpolation's sequence windows) builds its mask with
   ``torch.eye(t).float().cuda()``; wrapped so that during the call ``Tensor.cuda`` moves the tensor to
   the fake frames' device instead (:func:`_patch_cuda_in_interp_windows`). Same arithmetic.
2. ``main.train`` steps the discriminators' optimiser (in-place parameter updates) before
   ``loss_netG.backward()``, whose graph runs through the discriminators: torch >= 1.5 refuses that
   ("one of the variables needed for gradient computation has been modified by an inplace operation";
   torch 1.0's ``p.data`` updates went unnoticed and back-propagated through the updated weights). The
   iteration here runs the generator's zero_grad/backward/step first, then the discriminators': the same
   forward and backward passes, the same FLOPs.

Their data pipeline is not timed (neither is ours): the batch dict is built once, as their
``utils.get_next_batch`` would hand it over for a regular (not irregular) clip: ``observed_data`` /
``data_to_predict`` ``(B, T, C, H, W)``, shared time vectors, masks of ones ``(B, T, 1)``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import subprocess
import sys
from pathlib import Path

AUTHORS_REPO_URL = "https://github.com/psh01087/Vid-ODE"
LABEL = "authors' code (psh01087/Vid-ODE)"


def authors_defaults(repo: str | Path) -> dict:
    """The defaults of the ``parser.add_argument`` options in their ``main.py`` (``dest`` -> default)."""
    tree = ast.parse((Path(repo) / "main.py").read_text())
    out = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            continue
        flags = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        long = [f for f in flags if f.startswith("--")] or flags
        if not long:
            continue
        kw = {k.arg: k.value for k in node.keywords}
        dest = ast.literal_eval(kw["dest"]) if "dest" in kw else long[0].lstrip("-").replace("-", "_")
        if "default" in kw:
            out[dest] = ast.literal_eval(kw["default"])
        elif isinstance(kw.get("action"), ast.Constant) and kw["action"].value == "store_true":
            out[dest] = False
    return out


def code_identity(repo: str | Path) -> dict:
    """Which version of their code ran: its git commit (if ``repo`` is a git checkout) and a digest of the
    Python files imported (``models/*.py``, ``utils.py``) and of ``main.py`` (the defaults)."""
    repo = Path(repo)
    digest = hashlib.sha256()
    for f in sorted([*(repo / "models").glob("*.py"), repo / "utils.py", repo / "main.py"]):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"repo": AUTHORS_REPO_URL, "path": str(repo.resolve()), "commit": commit,
            "sha256_models_utils_main": digest.hexdigest()}


def load(repo: str | Path):
    """Imports their ``models.conv_odegru`` and ``models.gan`` from ``repo`` (first on ``sys.path``)."""
    repo = Path(repo).resolve()
    for name in ("main.py", "utils.py", "models/conv_odegru.py", "models/gan.py", "models/ode_func.py"):
        if not (repo / name).is_file():
            raise SystemExit(f"--authors-repo {repo}: no {name}; pass a checkout of {AUTHORS_REPO_URL}")
    clash = [m for m in ("models", "utils") if m in sys.modules
             and not str(getattr(sys.modules[m], "__file__", "")).startswith(str(repo))]
    if clash:
        raise SystemExit(f"modules {clash} are already imported from elsewhere; run the authors' step in a fresh "
                         "process (the benchmark's workers do)")
    sys.path.insert(0, str(repo))
    import warnings

    # Their code indexes with uint8 masks and calls grid_sample without align_corners: deprecation noise.
    warnings.filterwarnings("ignore", message="indexing with dtype torch.uint8")
    warnings.filterwarnings("ignore", message="Default grid_sample and affine_grid behavior")
    import models.conv_odegru as conv_odegru
    import models.gan as gan

    for mod in (conv_odegru, gan):
        if not str(Path(mod.__file__).resolve()).startswith(str(repo)):
            raise SystemExit(f"imported {mod.__name__} from {mod.__file__}, not from {repo}")
    _patch_cuda_in_interp_windows(gan.Discriminator)
    return conv_odegru, gan


def _patch_cuda_in_interp_windows(discriminator_cls) -> None:
    """Fix 1: ``.cuda()`` inside ``rearrange_seq_interp`` -> the fake frames' device (see module docstring)."""
    import torch

    original = discriminator_cls.rearrange_seq_interp
    if getattr(original, "_odevideo_device_fix", False):
        return

    def rearrange_seq_interp(self, real, fake, input_real, only_fake=True):
        cuda = torch.Tensor.cuda
        torch.Tensor.cuda = lambda t, *args, **kwargs: t.to(fake.device)
        try:
            return original(self, real, fake, input_real, only_fake)
        finally:
            torch.Tensor.cuda = cuda

    rearrange_seq_interp._odevideo_device_fix = True
    discriminator_cls.rearrange_seq_interp = rearrange_seq_interp


class _Counter:
    """Calls of an ODE function (forward hooks) and gradients reaching their outputs (tensor hooks)."""

    def __init__(self, module):
        self.fwd = self.bwd = 0
        module.register_forward_hook(self._hook)

    def _hook(self, mod, args, out):
        self.fwd += 1
        if out.requires_grad:
            out.register_hook(self._grad)

    def _grad(self, grad):
        self.bwd += 1


class AuthorsRunner:
    """Their generator, both discriminators and optimisers for one size and task; :meth:`step` = one iteration."""

    label = LABEL

    def __init__(self, repo: str | Path, problem: dict, *, size: int, task: str, batch: int, seed: int = 0):
        import torch

        conv_odegru, gan = load(repo)
        defaults = authors_defaults(repo)
        opt = argparse.Namespace(**defaults)
        # What a run of theirs sets for this benchmark's configuration (everything else stays their default):
        opt.input_size, opt.batch_size, opt.extrap = size, batch, task == "extrapolation"
        opt.input_dim = 3  # main.get_opt sets it after parsing
        opt.phase = "train"
        self.opt = opt
        self.options = {k: v for k, v in vars(opt).items() if not k.endswith(("_dir", "_freq")) and k != "name"}
        torch.manual_seed(seed)
        device = torch.device("cpu")
        self.netG = conv_odegru.VidODE(opt, device)
        self.netD_img, self.netD_seq, self.opt_d = gan.create_netD(opt, device)
        self.opt_g = torch.optim.Adamax(self.netG.parameters(), lr=opt.lr)
        self.enc_count = _Counter(self.netG.encoder_z0.z0_diffeq_solver.ode_func)
        self.dec_count = _Counter(self.netG.diffeq_solver.ode_func)
        b = problem["context"].shape[0]
        if b != batch:
            raise ValueError(f"batch {b} != {batch}")
        ones = torch.ones(b, problem["context"].shape[1], 1)
        # A regular clip as their get_next_batch hands it over (time vectors shared by the batch).
        self.batch = {
            "observed_data": problem["context"].contiguous(), "observed_tp": problem["context_times"][0].contiguous(),
            "data_to_predict": problem["targets"].contiguous(), "tp_to_predict": problem["query_times"][0].contiguous(),
            "observed_mask": ones, "mask_predicted_data": torch.ones(b, problem["targets"].shape[1], 1),
            "mode": "train",
        }

    def counters(self) -> tuple[int, int, int, int]:
        return self.enc_count.fwd, self.enc_count.bwd, self.dec_count.fwd, self.dec_count.bwd

    def step(self) -> tuple[list[int], float]:
        """One iteration of their ``main.train`` loop, with the G-before-D order (fix 2)."""
        opt, batch_dict = self.opt, self.batch
        res = self.netG.compute_all_losses(batch_dict)
        loss_netG = res["loss"]
        real, fake, input_real = batch_dict["data_to_predict"], res["pred_y"], batch_dict["observed_data"]
        loss_netD = opt.lamb_adv * self.netD_seq.netD_adv_loss(real, fake, input_real)
        loss_netD += opt.lamb_adv * self.netD_img.netD_adv_loss(real, fake, None)
        loss_adv_netG = opt.lamb_adv * self.netD_seq.netG_adv_loss(fake, input_real)
        loss_adv_netG += opt.lamb_adv * self.netD_img.netG_adv_loss(fake, None)
        loss_netG += loss_adv_netG
        # Train G (their order: D first; see fix 2)
        self.opt_g.zero_grad()
        loss_netG.backward()
        self.opt_g.step()
        # Train D
        self.opt_d.zero_grad()
        loss_netD.backward()
        self.opt_d.step()
        return list(fake.shape), float(loss_netG.detach())

    def mark(self, scopes) -> None:
        """Profiler ranges around their components (:mod:`vid_ode_breakdown`)."""
        g = self.netG
        scopes.module("encoder E", g.encoder)
        scopes.module("ODE-ConvGRU encoder", g.encoder_z0)
        scopes.module("decoder ODE", g.diffeq_solver)
        scopes.module("Conv-Decoder G", g.decoder)
        scopes.function("warping + composition", g, "get_warped_images")
        # Their adversarial losses call ``self.forward(...)`` directly (no module hooks fire): wrap forward.
        scopes.function("D_img", self.netD_img, "forward")
        scopes.function("D_seq", self.netD_seq, "forward")
        scopes.function("optimizer G", self.opt_g, "step")
        scopes.function("optimizer D", self.opt_d, "step")
