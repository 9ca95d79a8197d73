"""Vid-ODE paper baselines: ODE-FC, ODE-Conv, ConvGRU(-Δt, -Decay), Vid-RNN (tiny sizes, CPU)."""

from __future__ import annotations

import pytest
import torch

from odevideo.errors import InputError
from odevideo.methods.prediction import VideoPrediction
from odevideo.methods.vid_ode.baselines import ConvGRUBaseline, ODEConvBaseline, ODEFCBaseline, VidRNN
from odevideo.methods.vid_ode.vid_ode import VidODEPrediction

B, T, C, S = 2, 4, 1, 16


def _clip(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    frames = torch.rand(B, T, C, S, S, generator=g)
    times = torch.tensor([[0.0, 0.1, 0.25, 0.3], [0.0, 0.2, 0.3, 0.4]])
    return frames, times


def _ode_fc():
    torch.manual_seed(0)
    return ODEFCBaseline(in_channels=C, n_frames=T, frame_size=S, hidden_channels=8, n_downs=2, latent_dim=16)


def _ode_conv():
    torch.manual_seed(0)
    return ODEConvBaseline(in_channels=C, n_frames=T, frame_size=S, hidden_channels=8, n_downs=2)


def _gru(kind: str = "none"):
    torch.manual_seed(0)
    return ConvGRUBaseline(in_channels=C, hidden_channels=8, n_downs=2, time_input=kind)


def _vidrnn():
    torch.manual_seed(0)
    return VidRNN(in_channels=C, hidden_channels=8, n_downs=2, step=0.1)


ALL = [_ode_fc, _ode_conv, lambda: _gru("none"), lambda: _gru("delta_t"), lambda: _gru("decay"), _vidrnn]
IDS = ["ode_fc", "ode_conv", "gru", "gru_dt", "gru_decay", "vidrnn"]
EXTRAP = torch.tensor([0.5, 0.6, 0.7])


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_extrapolation_shapes(make):
    frames, times = _clip()
    pred = make()(frames, times, None, EXTRAP)
    assert isinstance(pred, VideoPrediction)
    assert pred.frames.shape == (B, 3, C, S, S)
    assert pred.logits.shape == (B, 3, C, S, S)
    assert pred.latents.shape[:2] == (B, 3)
    assert pred.query_times.shape == (B, 3)
    assert torch.isfinite(pred.frames).all() and pred.frames.min() >= 0 and pred.frames.max() <= 1


@pytest.mark.parametrize("make", [_ode_fc, _ode_conv, _vidrnn], ids=["ode_fc", "ode_conv", "vidrnn"])
def test_interpolation_shapes(make):
    frames, times = _clip()
    q = torch.tensor([[0.05, 0.15, 0.35], [0.1, 0.25, 0.35]])
    pred = make()(frames, times, None, q)
    assert pred.frames.shape == (B, 3, C, S, S)
    assert torch.equal(pred.query_times, q)


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_masked_frames_do_not_affect_outputs(make):
    model = make().eval()
    frames, times = _clip()
    mask = torch.tensor([[True, False, True, True], [True, True, False, True]])
    out1 = model(frames, times, mask, EXTRAP).frames
    frames2 = frames.clone()
    frames2[~mask] = torch.rand_like(frames2[~mask])
    out2 = model(frames2, times, mask, EXTRAP).frames
    torch.testing.assert_close(out1, out2)
    # ... while an observed frame does.
    frames3 = frames.clone()
    frames3[:, 0] = 1 - frames3[:, 0]
    assert not torch.allclose(out1, model(frames3, times, mask, EXTRAP).frames)


@pytest.mark.parametrize("kind,reacts", [("none", False), ("delta_t", True), ("decay", True)])
def test_convgru_variants_react_to_gaps(kind, reacts):
    model = _gru(kind).eval()
    if kind == "decay":  # make the decay bite at this time scale
        with torch.no_grad():
            model.enc_cell.decay_weight.fill_(5.0)
            model.dec_cell.decay_weight.fill_(5.0)
    frames, times = _clip()
    out = model(frames, times, None, EXTRAP).frames
    times2 = times.clone()
    times2[:, 1] = times2[:, 1] + 0.04  # an input gap changes, the order does not
    out_in = model(frames, times2, None, EXTRAP).frames
    out_q = model(frames, times, None, torch.tensor([0.5, 0.9, 1.3])).frames  # query gaps change
    assert (not torch.allclose(out, out_in)) == reacts
    assert (not torch.allclose(out, out_q)) == reacts


def test_ode_baselines_react_to_query_time():
    frames, times = _clip()
    for model in (_ode_fc(), _ode_conv()):
        with torch.no_grad():  # non-trivial dynamics (the last layer starts at zero)
            for p in model.dynamics.parameters():
                p.add_(0.1 * torch.randn_like(p))
        a = model(frames, times, None, torch.tensor([0.5])).frames
        b = model(frames, times, None, torch.tensor([0.9])).frames
        assert not torch.allclose(a, b)


def test_vidrnn_midpoint_is_decode_of_interpolated_state():
    model = _vidrnn().eval()
    frames, times = _clip()
    mid = torch.tensor([0.45])  # between grid points 0.4 and 0.5 (t0 = 0)
    with torch.no_grad():
        pred = model(frames, times, None, mid)
        assert isinstance(pred, VidODEPrediction)
        grid = model.grid_states(model.encode(frames, times, torch.ones(B, T, dtype=torch.bool)), 5)
        h_mid = 0.5 * (grid[:, 4] + grid[:, 5])
        torch.testing.assert_close(pred.hidden[:, 0], h_mid)
        # reference frame = last observed at or before 0.45 = frame 3 (t = 0.3 / 0.4); its state is interpolated too
        ref_pos = times[:, 3] / 0.1
        h_ref = model.interpolate(grid, ref_pos[:, None])[:, 0]
        raw = model.decode(h_mid[:, None], h_ref, frames[:, 3])[0]
        torch.testing.assert_close(pred.raw_frames, raw)
        # at a grid point it is that state exactly
        on_grid = model(frames, times, None, torch.tensor([0.5]))
        torch.testing.assert_close(on_grid.hidden[:, 0], grid[:, 5])


@pytest.mark.parametrize(
    "make,query,match",
    [
        (lambda: _gru("none"), torch.tensor([0.2, 0.5]), "only extrapolates"),
        (lambda: _gru("decay"), torch.tensor([0.6, 0.5]), "strictly increasing"),
        (_vidrnn, torch.tensor([-0.1, 0.5]), "precedes"),
        (_vidrnn, torch.tensor([0.5, 0.5]), "strictly increasing"),
        (_ode_conv, torch.tensor([]), "empty"),
        (_ode_fc, torch.tensor([float("nan")]), "NaN"),
    ],
)
def test_bad_queries_raise(make, query, match):
    frames, times = _clip()
    with pytest.raises(InputError, match=match):
        make()(frames, times, None, query)


def test_bad_inputs_raise():
    frames, times = _clip()
    with pytest.raises(InputError, match="n_frames"):
        _ode_fc()(frames[:, :3], times[:, :3], None, EXTRAP)
    with pytest.raises(InputError, match="channel"):
        _gru()(frames.expand(-1, -1, 3, -1, -1), times, None, EXTRAP)
    with pytest.raises(InputError, match="divisible"):
        _vidrnn()(frames[..., :14, :14], times, None, EXTRAP)
    with pytest.raises(InputError, match="increasing"):
        _gru()(frames, times.flip(1), None, EXTRAP)
    with pytest.raises(InputError, match="time_input"):
        ConvGRUBaseline(in_channels=1, hidden_channels=8, time_input="exp")
    with pytest.raises(InputError, match="step"):
        VidRNN(in_channels=1, hidden_channels=8, step=0.0)


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_adam_reduces_l1(make):
    torch.manual_seed(1)
    model = make()
    frames, times = _clip()
    target = torch.rand(B, 2, C, S, S) * 0.2 + 0.4
    q = torch.tensor([0.5, 0.6])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def loss_fn():
        pred = model(frames, times, None, q)
        out = pred.raw_frames if isinstance(pred, VidODEPrediction) else pred.frames
        return (out - target).abs().mean()

    first = float(loss_fn().detach())
    for _ in range(6):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    assert float(loss_fn().detach()) < first
