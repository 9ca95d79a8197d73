"""Smoke test of benchmarks/vid_ode_step.py: --quick runs every variant on tiny sizes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "vid_ode_step.py"


def _load():
    spec = importlib.util.spec_from_file_location("vid_ode_step_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_json_with_timings_and_matching_shapes(tmp_path):
    bench = _load()
    out = tmp_path / "vid_ode_step.json"
    bench.main(["--quick", "--threads", "1", "--rounds", "2", "--out", str(out),
                "--ours", "euler:bf16", "midpoint:bf16:cl", "dopri5:fp32:adjoint"])
    result = json.loads(out.read_text())
    assert result["benchmark"] == "vid_ode_step" and result["quick"] is True
    assert {"torch", "threads", "machine"} <= set(result["environment"])
    rows = result["rows"]
    assert result["commands"] == [result["command"]] and all(r["command"] == result["command"] for r in rows)
    assert {(r["task"], r["kind"]) for r in rows} == {
        (t, k) for t in ("extrapolation", "interpolation") for k in ("authors", "ours")
    }
    assert len(rows) == 2 * 4
    for r in rows:
        assert r["rounds"] == 2 and len(r["s_per_step_all"]) == 2  # 1 timed step per round
        assert 0 < r["s_per_step_min"] <= r["s_per_step"]
        for key in ("s_per_step", "cpu_s_per_step", "peak_rss_mb"):
            assert r[key] > 0, (r["variant"], key)
        assert r["nfe_encoder_fwd"] > 0 and r["nfe_decoder_fwd"] > 0
        assert r["losses_finite"]
        assert set(r["ratio_vs_authors"]) == {"s_per_step", "s_per_step_min", "cpu_s_per_step", "peak_rss_mb"}
    for task in ("extrapolation", "interpolation"):
        group = [r for r in rows if r["task"] == task]
        ref = next(r for r in group if r["kind"] == "authors")
        assert ref["ratio_vs_authors"]["s_per_step"] == pytest.approx(1.0)
        # ours and the authors' reference predict the same frames: (B, Q, C, H, W) = (2, 5, 3, 16, 16)
        assert all(r["output_shape"] == ref["output_shape"] == [2, 5, 3, 16, 16] for r in group)
    # fixed-step decoders step one frame gap per query: 5 evaluations (extrapolation) vs the adaptive dopri5
    euler = next(r for r in rows if r["task"] == "extrapolation" and r["variant"] == "ours[euler:bf16]")
    assert euler["nfe_decoder_fwd"] == 5


def test_variant_names_parse():
    bench = _load()
    v = bench.parse_variant("ours[rk4@0.05:bf16:cl]")
    assert (v.kind, v.solver, v.bf16, v.channels_last, v.adjoint) == ("ours", "rk4@0.05", True, True, False)
    assert bench.parse_variant("authors").kind == "authors"
    assert bench.decoder_solver(bench.parse_variant("dopri5:adjoint")).adjoint
    with pytest.raises(SystemExit):
        bench.parse_variant("euler:fp16")


def test_reference_without_authors_repo_is_labelled_a_reconstruction(tmp_path):
    bench = _load()
    out = tmp_path / "r.json"
    bench.main(["--quick", "--threads", "1", "--tasks", "extrapolation", "--out", str(out), "--ours", "euler"])
    rows = json.loads(out.read_text())["rows"]
    ref = next(r for r in rows if r["kind"] == "authors")
    assert ref["reference"] == "reconstruction (not the authors' code)"
    assert next(r for r in rows if r["kind"] == "ours")["reference"] is None


def test_breakdown_splits_the_step_into_components(tmp_path):
    bench = _load()
    out = tmp_path / "b.json"
    bench.main(["--quick", "--threads", "1", "--tasks", "interpolation", "--breakdown", "--no-authors",
                "--out", str(out), "--ours", "dopri5:fp32"])
    (row,) = json.loads(out.read_text())["rows"]
    comps = row["breakdown"]["components"]
    assert set(comps) == {"encoder E", "ODE-ConvGRU encoder", "decoder ODE", "Conv-Decoder G", "warping + composition",
                          "D_img", "D_seq", "optimizer G", "optimizer D", "other"}
    assert sum(c["share"] for c in comps.values()) == pytest.approx(1.0, abs=1e-6)
    for name in ("Conv-Decoder G", "D_img", "D_seq", "decoder ODE"):  # forward and backward both found
        assert comps[name]["forward_ms"] > 0 and comps[name]["backward_ms"] > 0, name
    assert comps["optimizer G"]["total_ms"] > 0 and comps["optimizer D"]["total_ms"] > 0


def test_scopes_restore_what_they_wrap():
    bench = _load()
    from vid_ode_breakdown import scoped

    import odevideo.methods.vid_ode.vid_ode as vid_ode_module

    setup = bench._setup(16, "extrapolation", quick=True)
    problem = bench.make_problem(setup)
    runner = bench.make_runner(setup, bench.parse_variant("euler"), problem)
    before = (vid_ode_module.odeint_batch, vid_ode_module.compose_frame_chain)
    with scoped(runner.mark):
        assert vid_ode_module.odeint_batch is not before[0]
        runner.step()
    assert (vid_ode_module.odeint_batch, vid_ode_module.compose_frame_chain) == before
    assert "step" not in vars(runner.nets["opt_g"])
    model = runner.nets["model"]
    assert not model.encoder._forward_pre_hooks and not model.decoder._forward_hooks


# A stand-in for a checkout of the authors' repository (psh01087/Vid-ODE): the same module names, entry points
# and two hazards (a .cuda() call in the interpolation windows, a discriminator graph shared by the generator's
# loss), none of their code.
_STUB_MAIN = '''
import argparse
def get_opt():
    parser = argparse.ArgumentParser()
    parser.add_argument('-b', '--batch_size', type=int, default=8)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--lamb_adv', type=float, default=0.003)
    parser.add_argument('--sample_size', type=int, default=10)
    parser.add_argument('--extrap', action='store_true', default=False)
    parser.add_argument('--run_backwards', action='store_true', default=True)
    parser.add_argument('--dec_diff', type=str, default='dopri5', choices=['dopri5', 'euler'])
'''
_STUB_G = '''
import torch
from torch import nn
import utils

class Func(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Conv2d(3, 3, 3, padding=1)
    def forward(self, t, y):
        return self.net(y)

class Solver(nn.Module):
    def __init__(self):
        super().__init__()
        self.ode_func = Func()
    def forward(self, y, t):
        ys = [y]
        for _ in range(len(t) - 1):
            ys.append(ys[-1] + 0.1 * self.ode_func(None, ys[-1]))
        return torch.stack(ys, 1)

class Enc(nn.Module):
    def __init__(self):
        super().__init__()
        self.z0_diffeq_solver = Solver()
    def forward(self, x):
        h = x[:, 0]
        for i in range(x.shape[1]):
            h = h + self.z0_diffeq_solver.ode_func(None, x[:, i])
        return h

class VidODE(nn.Module):
    def __init__(self, opt, device):
        super().__init__()
        self.encoder = nn.Conv2d(3, 3, 1)
        self.encoder_z0 = Enc()
        self.diffeq_solver = Solver()
        self.decoder = nn.Conv2d(3, 3, 1)
    def get_warped_images(self, x):
        return x * 1.0
    def compute_all_losses(self, batch_dict):
        x = batch_dict["observed_data"]
        b, t = x.shape[:2]
        e = self.encoder(x.flatten(0, 1)).view(x.shape)
        h = self.diffeq_solver(self.encoder_z0(e), batch_dict["tp_to_predict"])
        pred = self.get_warped_images(self.decoder(h.flatten(0, 1)).view(h.shape))
        return {"loss": (pred - batch_dict["data_to_predict"]).abs().mean(), "pred_y": pred}
'''
_STUB_GAN = '''
import torch
from torch import nn

class Discriminator(nn.Module):
    def __init__(self, in_ch, seq):
        super().__init__()
        self.seq = seq
        self.conv = nn.Conv2d(in_ch, 1, 3)
    def forward(self, x):
        return self.conv(x)
    def rearrange_seq_interp(self, real, fake, input_real, only_fake=True):
        b, t = fake.shape[:2]
        mask = torch.eye(t).float().cuda()
        fake_seqs = [(1 - mask[i].view(1, -1, 1, 1, 1)) * input_real + mask[i].view(1, -1, 1, 1, 1) * fake
                     for i in range(t)]
        return torch.cat(fake_seqs, 0).flatten(1, 2)
    def netD_adv_loss(self, real, fake, input_real):
        x = self.rearrange_seq_interp(real, fake.detach(), input_real) if self.seq else fake.detach().flatten(0, 1)
        return (self.forward(x) ** 2).mean()
    def netG_adv_loss(self, fake, input_real):
        x = self.rearrange_seq_interp(None, fake, input_real) if self.seq else fake.flatten(0, 1)
        return ((self.forward(x) - 1) ** 2).mean()

def create_netD(opt, device):
    d_img, d_seq = Discriminator(3, False), Discriminator(3 * opt.sample_size // 2, True)
    return d_img, d_seq, torch.optim.Adamax([*d_img.parameters(), *d_seq.parameters()], lr=opt.lr)
'''


def _stub_repo(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "main.py").write_text(_STUB_MAIN)
    (root / "utils.py").write_text("")
    (root / "models" / "__init__.py").write_text("")
    (root / "models" / "ode_func.py").write_text("")
    (root / "models" / "conv_odegru.py").write_text(_STUB_G)
    (root / "models" / "gan.py").write_text(_STUB_GAN)
    return root


def test_authors_defaults_come_from_their_argparse_options(tmp_path):
    bench = _load()
    from vid_ode_authors import authors_defaults

    d = authors_defaults(_stub_repo(tmp_path / "repo"))
    assert d == {"batch_size": 8, "lr": 1e-3, "lamb_adv": 0.003, "sample_size": 10, "extrap": False,
                 "run_backwards": True, "dec_diff": "dopri5"}
    assert bench.AUTHORS == "authors"


def test_authors_repo_runs_in_a_worker_with_both_runtime_fixes(tmp_path):
    """Interpolation reaches the .cuda() call (fix 1) and the generator's loss runs through the discriminators
    (fix 2: in their order, the discriminator step would invalidate that graph); the row says which code ran."""
    import os
    import subprocess

    repo = _stub_repo(tmp_path / "repo")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--_worker", "16", "interpolation", "authors", "--quick", "--steps", "2",
         "--warmup", "0", "--threads", "1", "--authors-repo", str(repo), "--breakdown"],
        capture_output=True, text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["reference"] == "authors' code (psh01087/Vid-ODE)"
    assert row["authors_code"]["path"] == str(repo.resolve())
    assert len(row["authors_code"]["sha256_models_utils_main"]) == 64
    assert row["authors_options"]["extrap"] is False and row["authors_options"]["input_size"] == 16
    assert row["output_shape"] == [2, 5, 3, 16, 16] and row["losses_finite"]
    assert row["nfe_encoder_fwd"] == 5 and row["nfe_decoder_fwd"] == 4 and row["nfe_decoder_bwd"] > 0
    comps = row["breakdown"]["components"]
    assert comps["D_seq"]["forward_ms"] > 0 and comps["D_seq"]["backward_ms"] > 0  # their forward() calls, wrapped
