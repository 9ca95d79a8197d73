import pytest
import torch

from odevideo.errors import InputError
from odevideo.methods.base import backward_adversarial
from odevideo.methods.vid_ode.losses import (
    VidODELossWeights,
    difference_loss,
    difference_targets,
    reconstruction_loss,
    sequence_windows,
    vid_ode_losses,
)
from odevideo.methods.vid_ode.vid_ode import VidODE, VidODEPrediction
from odevideo.nn import ImageDiscriminator, SequenceDiscriminator
from odevideo.solvers import SolverConfig

# Fixed steps on a grid anchored at each clip's start: per-clip results do not depend on the batch.
SOLVER = SolverConfig(method="rk4", step_size=0.05)


def _model(**kw):
    torch.manual_seed(0)
    kw.setdefault("decoder_solver", SOLVER)
    model = VidODE(in_channels=1, hidden_channels=8, ode_hidden=8, ode_layers=1, **kw)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # non-zero ODE dynamics (they start at zero), so times matter in every test
        for p in [*model.ode_encoder.dynamics.parameters(), *model.decoder_dynamics.parameters()]:
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def _clip(b=2, t=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    frames = torch.rand(b, t, 1, 16, 16, generator=g)
    times = torch.arange(t, dtype=torch.float32).expand(b, -1) * 0.1
    return frames, times.contiguous()


def test_shapes_interpolation_and_extrapolation():
    model = _model()
    frames, times = _clip()
    for query in (
        torch.tensor([0.05, 0.15, 0.25]), torch.tensor([0.35, 0.4, 0.55, 0.7]), torch.tensor([0.0, 0.3, 0.45])
    ):
        pred = model(frames, times, None, query)
        q = query.numel()
        assert isinstance(pred, VidODEPrediction)
        assert pred.frames.shape == pred.raw_frames.shape == (2, q, 1, 16, 16)
        assert pred.warped.shape == pred.differences.shape == (2, q, 1, 16, 16)
        assert pred.flows.shape == (2, q, 2, 16, 16) and pred.masks.shape == (2, q, 1, 16, 16)
        assert pred.hidden.shape == (2, q, 8, 4, 4) and pred.latents.shape == (2, q, 8 * 16)
        assert (pred.frames >= 0).all() and (pred.frames <= 1).all()
        assert torch.isfinite(pred.raw_frames).all() and pred.nfe > 0


def test_reference_frame_and_decoder_start():
    model = _model()
    frames, times = _clip()
    extra = model(frames, times, None, torch.tensor([0.4, 0.5]))
    torch.testing.assert_close(extra.reference_frames, frames[:, -1])  # extrapolation warps the last observed frame
    torch.testing.assert_close(extra.start_times, times[:, -1])
    inter = model(frames, times, None, torch.tensor([0.05, 0.15]))
    torch.testing.assert_close(inter.reference_frames, frames[:, 0])  # the last observed frame before the queries
    torch.testing.assert_close(inter.start_times, times[:, -1])  # the ODE still starts at the last observed time
    # the decoder state at the last observed time is the encoder state: the authors' start at the first target
    # gives the same state when that target is the last observed time
    compat = _model(decoder_start="first_target")
    at_last = model(frames, times, None, times[0, -1:])
    torch.testing.assert_close(compat(frames, times, None, times[0, -1:]).hidden, at_last.hidden)
    # ... but for a later target the authors' version ignores the elapsed time, ours does not
    later = torch.tensor([0.6])
    assert torch.allclose(compat(frames, times, None, later).hidden, at_last.hidden)
    assert not torch.allclose(model(frames, times, None, later).hidden, at_last.hidden)


def test_time_shift_invariance():
    model = _model()
    frames, times = _clip()
    query = torch.tensor([0.05, 0.3, 0.45])
    a = model(frames, times, None, query)
    b = model(frames, times + 2.0, None, query + 2.0)
    torch.testing.assert_close(a.frames, b.frames, rtol=1e-4, atol=1e-5)


def test_masked_frames_do_not_influence_the_output():
    model = _model()
    frames, times = _clip(b=1, t=5)
    mask = torch.tensor([[True, False, True, True, False]])
    query = torch.tensor([0.1, 0.35, 0.6])
    pred = model(frames, times, mask, query)
    noisy = frames.clone()
    noisy[:, ~mask[0]] = torch.rand_like(noisy[:, ~mask[0]]) * 5
    noisy[:, 1] = float("nan")
    torch.testing.assert_close(model(noisy, times, mask, query).frames, pred.frames)
    keep = mask[0]
    dropped = model(frames[:, keep], times[:, keep], None, query)
    torch.testing.assert_close(dropped.frames, pred.frames, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(pred.start_times, times[:, 3])  # last *observed* time


def test_per_sample_irregular_grids_equal_separate_runs():
    model = _model()
    frames, _ = _clip(b=3, t=4)
    times = torch.tensor([[0.0, 0.1, 0.2, 0.3], [0.0, 0.15, 0.5, 0.55], [1.0, 1.3, 1.35, 1.6]])
    mask = torch.tensor([[True, True, True, True], [True, False, True, True], [True, True, False, True]])
    query = torch.tensor([[0.05, 0.3, 0.4], [0.1, 0.6, 0.9], [1.35, 1.6, 1.65]])
    pred = model(frames, times, mask, query)
    for b in range(3):
        one = model(frames[b : b + 1], times[b : b + 1], mask[b : b + 1], query[b : b + 1])
        torch.testing.assert_close(one.frames, pred.frames[b : b + 1], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(one.hidden, pred.hidden[b : b + 1], rtol=1e-4, atol=1e-5)


def test_ablation_switches_change_the_computation():
    frames, times = _clip()
    query = torch.tensor([0.4, 0.5])
    full = _model()(frames, times, None, query)
    warp_only = _model(use_mask_composition=False)(frames, times, None, query)
    vanilla = _model(use_flow_warping=False, use_mask_composition=False)(frames, times, None, query)
    no_warp = _model(use_flow_warping=False)(frames, times, None, query)
    # (D) pure warping: frames are the warped previous frames, no D or M
    assert warp_only.masks is None and warp_only.differences is None
    torch.testing.assert_close(warp_only.raw_frames, warp_only.warped)
    # (B) vanilla: G's image head is a logit map, no flow / warping / composition
    assert vanilla.flows is None and vanilla.warped is None and vanilla.masks is None
    torch.testing.assert_close(vanilla.frames, vanilla.logits.sigmoid())
    # composition without warping composes the unwarped previous frame
    torch.testing.assert_close(no_warp.warped[:, 0], frames[:, -1])
    assert no_warp.flows is None
    # (E) full: the frame is the composition of the warped frame and the difference
    torch.testing.assert_close(full.raw_frames, full.masks * full.warped + (1 - full.masks) * full.differences)
    outs = [full.frames, warp_only.frames, vanilla.frames, no_warp.frames]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.allclose(outs[i], outs[j])
    # the chain warps the previous output (paper) or the previous warped image (authors' code)
    authors = _model(warp_previous="warped")(frames, times, None, query)
    torch.testing.assert_close(authors.raw_frames[:, 0], full.raw_frames[:, 0])
    assert not torch.allclose(authors.raw_frames[:, 1], full.raw_frames[:, 1])
    emb = _model(first_prev="embedding")(frames, times, None, query)
    assert not torch.allclose(emb.frames[:, 0], full.frames[:, 0])


def test_eval_and_train_give_the_same_output():
    model = _model()
    frames, times = _clip()
    query = torch.tensor([0.05, 0.35, 0.5])
    train_out = model.train()(frames, times, None, query).frames
    eval_out = model.eval()(frames, times, None, query).frames
    torch.testing.assert_close(train_out, eval_out)
    torch.testing.assert_close(model.predict_frames(frames, times, query), eval_out)


def test_bad_inputs_raise_input_error():
    model = _model()
    frames, times = _clip()
    with pytest.raises(InputError, match="increasing"):
        model(frames, times, None, torch.tensor([0.5, 0.4]))
    with pytest.raises(InputError, match="increasing"):
        model(frames, times, None, torch.tensor([0.4, 0.4]))
    with pytest.raises(InputError, match="first observed"):
        model(frames, times, None, torch.tensor([-0.1, 0.2]))
    mask = torch.tensor([[False, True, True, True]] * 2)
    with pytest.raises(InputError, match="first observed"):
        model(frames, times, mask, torch.tensor([0.05]))
    with pytest.raises(InputError, match="channel"):
        model(frames.expand(-1, -1, 3, -1, -1), times, None, torch.tensor([0.5]))
    with pytest.raises(InputError, match="divisible"):
        model(frames[..., :14, :14], times, None, torch.tensor([0.5]))
    with pytest.raises(InputError):
        model(frames, times, torch.zeros(2, 4, dtype=torch.bool), torch.tensor([0.5]))
    with pytest.raises(InputError):
        model(frames, times, None, torch.tensor([[0.5]] * 3))
    with pytest.raises(InputError, match="decoder_start"):
        VidODE(in_channels=1, hidden_channels=8, decoder_start="middle")
    with pytest.raises(InputError):
        VidODE(in_channels=1, hidden_channels=6)


def test_difference_targets_use_the_previous_ground_truth_not_zero():
    model = _model()
    frames, times = _clip(b=1, t=6)
    ctx_f, ctx_t, tgt, q = frames[:, :3], times[:, :3], frames[:, 3:], times[:, 3:]
    pred = model(ctx_f, ctx_t, None, q[0])
    target_mask = torch.tensor([[True, False, True]])
    delta, valid = difference_targets(pred, tgt, target_mask)
    torch.testing.assert_close(delta[:, 0], tgt[:, 0] - ctx_f[:, -1])  # first query: vs the reference frame
    torch.testing.assert_close(delta[:, 2], tgt[:, 2] - tgt[:, 1])
    assert valid.tolist() == [[True, False, False]]  # previous frame missing -> left out, not compared to zeros
    expected = (pred.differences[:, 0] - delta[:, 0]).abs().mean()
    torch.testing.assert_close(difference_loss(pred, tgt, target_mask), expected)


def test_sequence_windows():
    ctx = torch.arange(4.0).view(1, 4, 1, 1, 1).expand(1, 4, 1, 2, 2)
    mask = torch.tensor([[True, True, False, True]])
    fake = 10 + torch.arange(3.0).view(1, 3, 1, 1, 1).expand(1, 3, 1, 2, 2)
    w = sequence_windows(fake, 3, ctx, mask)
    assert w.shape == (1, 3, 3, 1, 2, 2)
    assert w[0, :, :, 0, 0, 0].tolist() == [[1, 3, 10], [3, 10, 11], [10, 11, 12]]  # frame 2 unobserved: skipped
    with pytest.raises(InputError):
        sequence_windows(fake, 5, ctx, mask)
    times = torch.tensor([[0.0, 0.1, 0.2, 0.3]])
    w = sequence_windows(
        fake[:, :2], 4, ctx, mask, mode="interpolation", query_times=times[:, [1, 3]], context_times=times
    )
    assert w[0, :, :, 0, 0, 0].tolist() == [[0, 10, 0, 3], [0, 1, 0, 11]]
    with pytest.raises(InputError):
        sequence_windows(fake[:, :1], 4, ctx, mask, mode="interpolation", query_times=torch.tensor([[0.05]]),
                         context_times=times)


def _setup(seed=0):
    model = _model()
    frames, times = _clip(b=2, t=6, seed=seed)
    return model, frames[:, :3], times[:, :3], frames[:, 3:], times[:, 3:]


def test_single_discriminator_pass_and_separate_gradients():
    model, ctx_f, ctx_t, tgt, q = _setup()
    d_img = ImageDiscriminator(1, base_channels=4, n_downs=2)
    d_seq = SequenceDiscriminator(1, window=4, base_channels=4, n_downs=2)
    calls = {"img": 0, "seq": 0}
    d_img.register_forward_hook(lambda *a: calls.__setitem__("img", calls["img"] + 1))
    d_seq.register_forward_hook(lambda *a: calls.__setitem__("seq", calls["seq"] + 1))
    pred = model(ctx_f, ctx_t, None, q)
    losses = vid_ode_losses(pred, tgt, context_frames=ctx_f, image_disc=d_img, seq_disc=d_seq)
    assert calls == {"img": 2, "seq": 2}  # one real and one fake pass each
    assert set(losses.metrics) >= {"recon_l1", "diff_l1", "adv_img_g", "adv_seq_g", "disc_loss", "loss"}
    g_params, d_params = list(model.parameters()), [*d_img.parameters(), *d_seq.parameters()]
    backward_adversarial(losses.generator, losses.discriminator, g_params, d_params)
    g_grads = [p.grad.clone() for p in g_params]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in d_params)
    # the generator's gradient is that of the generator loss alone (the discriminator loss did not leak in)
    model.zero_grad()
    pred = model(ctx_f, ctx_t, None, q)
    vid_ode_losses(pred, tgt, context_frames=ctx_f, image_disc=d_img, seq_disc=d_seq).generator.backward()
    for a, p in zip(g_grads, g_params):
        torch.testing.assert_close(a, p.grad)


def test_losses_decrease_over_a_few_adam_steps():
    model, ctx_f, ctx_t, tgt, q = _setup()
    d_img = ImageDiscriminator(1, base_channels=4, n_downs=2)
    d_seq = SequenceDiscriminator(1, window=4, base_channels=4, n_downs=2)
    opt_g = torch.optim.Adam(model.parameters(), lr=3e-3)
    opt_d = torch.optim.Adam([*d_img.parameters(), *d_seq.parameters()], lr=3e-3)
    weights = VidODELossWeights()
    history = []
    for _ in range(10):
        opt_g.zero_grad()
        opt_d.zero_grad()
        pred = model(ctx_f, ctx_t, None, q)
        losses = vid_ode_losses(pred, tgt, context_frames=ctx_f, image_disc=d_img, seq_disc=d_seq, weights=weights)
        d_params = [*d_img.parameters(), *d_seq.parameters()]
        backward_adversarial(losses.generator, losses.discriminator, model.parameters(), d_params)
        opt_g.step()
        opt_d.step()
        history.append((losses.metrics["recon_l1"] + losses.metrics["diff_l1"], losses.metrics["disc_loss"]))
    assert history[-1][0] < 0.9 * history[0][0]
    assert history[-1][1] < history[0][1]
    with torch.no_grad():
        pred = model(ctx_f, ctx_t, None, q)
        assert reconstruction_loss(pred, tgt) < reconstruction_loss(_model()(ctx_f, ctx_t, None, q), tgt)


def test_coarse_flow_is_constant_per_cell_average_and_keeps_constant_flows():
    from odevideo.methods.vid_ode.vid_ode import coarse_flow

    g = torch.Generator().manual_seed(0)
    flow = torch.randn(3, 2, 16, 16, generator=g)
    out = coarse_flow(flow, 4)
    assert out.shape == flow.shape
    # a constant flow (a rigid shift) is unchanged, and the cell means are what gets interpolated
    const = torch.full((1, 2, 16, 16), 1.7)
    torch.testing.assert_close(coarse_flow(const, 4), const)
    cells = torch.nn.functional.avg_pool2d(flow, 4)
    torch.testing.assert_close(
        torch.nn.functional.avg_pool2d(out, 4)[..., 1:-1, 1:-1], cells[..., 1:-1, 1:-1], atol=0.35, rtol=0
    )
    with pytest.raises(InputError, match="flow_stride"):
        coarse_flow(torch.zeros(1, 2, 10, 10), 4)


def test_flow_stride_gives_smooth_flows_and_mask_init_sets_the_initial_mask():
    frames, times = _clip()
    query = torch.tensor([0.35, 0.45])
    coarse = _model(flow_stride=4)(frames, times, None, query)
    fine = _model()(frames, times, None, query)
    # per-pixel flows vary inside a 4x4 cell; coarse ones only by the bilinear upsampling between cells
    jump = lambda f: (f[..., 1:, :] - f[..., :-1, :]).abs().max()  # noqa: E731
    assert jump(coarse.flows) < jump(fine.flows)
    pred = _model(mask_init=0.95)(frames, times, None, query)
    assert 0.9 < float(pred.masks.mean()) < 0.99 and 0.3 < float(fine.masks.mean()) < 0.7
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(InputError, match="mask_init"):
            _model(mask_init=bad)
    with pytest.raises(InputError, match="flow_stride"):
        _model(flow_stride=0)


def test_ode_autocast_runs_the_ode_nets_in_bf16_with_float32_states():
    frames, times = _clip()
    query = torch.tensor([0.35, 0.45])
    seen = {}

    def record(name):
        def hook(module, args, out):
            seen[name] = out.dtype
        return hook

    for flag in (False, True):
        model = _model(ode_autocast=flag)
        model.decoder_dynamics.register_forward_hook(record("dynamics"))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            pred = model(frames, times, None, query)
        assert seen["dynamics"] == (torch.bfloat16 if flag else torch.float32)
        assert pred.hidden.dtype == torch.float32  # the solver's state stays float32 either way
        if flag:
            ref = _model()(frames, times, None, query)  # float32 everywhere
            assert (pred.frames - ref.frames).abs().max() < 0.1


def test_activation_checkpointing_of_the_conv_decoder_gives_the_same_gradients():
    frames, times = _clip()
    query = torch.tensor([0.35, 0.45])
    grads = []
    for flag in (False, True):
        model = _model()
        model.decoder.activation_checkpointing = flag
        model(frames, times, None, query).raw_frames.square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-5, atol=1e-7)


def test_channels_last_model_gives_the_conv_decoder_channels_last_input_and_the_same_gradients():
    """train.channels_last puts the model in channels_last; G then converts its (NCHW) input too, so the first
    bilinear upsampling takes the NHWC kernel. Same outputs and gradients up to float rounding; a model left
    in the default format runs G on its input unchanged."""
    from odevideo.methods.vid_ode.networks import VidODEConvDecoder

    frames, times = _clip()
    query = torch.tensor([0.35, 0.45])
    seen, grads = [], []
    for channels_last in (False, True):
        model = _model()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.decoder.net[0].register_forward_pre_hook(
            lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
        out = model(frames, times, None, query).raw_frames
        out.square().mean().backward()
        grads.append((out.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}))
    assert seen == [False, True]
    torch.testing.assert_close(grads[1][0], grads[0][0], rtol=1e-5, atol=1e-6)
    for name in grads[0][1]:
        torch.testing.assert_close(grads[1][1][name], grads[0][1][name], rtol=1e-4, atol=1e-6)
    assert VidODEConvDecoder(8, 1, n_ups=0)._first_conv == 0  # no upsampling level: G is one conv


@pytest.mark.parametrize("checkpointing", [False, True])
def test_conv_decoder_in_chunks_gives_the_same_outputs_and_gradients(checkpointing):
    """On a CPU, G runs CPU_CHUNK (clip, query) pairs at a time: the same heads and gradients as one pass, up to
    the float rounding of the weight gradients summed chunk by chunk."""
    from odevideo.methods.vid_ode.networks import VidODEConvDecoder

    torch.manual_seed(0)
    g = VidODEConvDecoder(8, 1, 2)
    g.activation_checkpointing = checkpointing
    x = torch.randn(2 * g.CPU_CHUNK + 3, 16, 4, 4)
    calls = []
    g.net.register_forward_pre_hook(lambda m, args: calls.append(args[0].shape[0]))
    results = []
    for chunk in (len(x), g.CPU_CHUNK):
        g.CPU_CHUNK = chunk
        g.zero_grad()
        xi = x.clone().requires_grad_(True)
        out = g(xi)
        (out * torch.linspace(-1, 1, out.numel()).view(out.shape)).sum().backward()
        results.append((out.detach(), xi.grad, [p.grad.clone() for p in g.parameters()]))
    assert calls[0] == len(x) and calls[-3:] == [8, 8, 3]  # (with checkpointing, recomputed in backward)

    def rel(a, b):  # the biases before GroupNorm have a zero gradient (rounding noise): floor the scale at 1
        return float((a - b).norm() / max(float(b.norm()), 1.0))

    assert rel(results[1][0], results[0][0]) < 1e-6
    assert rel(results[1][1], results[0][1]) < 1e-5
    assert max(rel(a, b) for a, b in zip(results[1][2], results[0][2])) < 1e-5


def test_observation_anchors_pick_the_latest_observation_between_queries():
    from odevideo.methods.vid_ode.vid_ode import observation_anchors

    times = torch.tensor([[0.0, 0.2, 0.4, 0.6, 0.8]] * 2)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 2] = False  # clip 1 misses the frame at 0.4
    queries = torch.tensor([[0.0, 0.1, 0.3, 0.5, 0.7]] * 2)
    idx, use = observation_anchors(times, mask, queries)
    assert use.tolist() == [[False, True, True, True, True], [False, True, True, False, True]]
    assert idx[use].tolist() == [0, 1, 2, 3, 0, 1, 3]
    # training on the observed times: each frame is made from the observation one interval earlier
    idx, use = observation_anchors(times, mask, times)
    assert use[0].tolist() == [False, True, True, True, True] and idx[0, 1:].tolist() == [0, 1, 2, 3]
    # 0.4 unobserved: 0.4 is made from the frame at 0.2; 0.6 then continues from the generated 0.4
    assert use[1].tolist() == [False, True, True, False, True]


@pytest.mark.parametrize("family", ["vid_ode", "vid_rnn"])
def test_anchor_observed_warps_the_observed_frame_and_leaves_extrapolation_alone(family):
    from odevideo.methods.vid_ode.baselines import VidRNN
    from odevideo.methods.vid_ode.vid_ode import observation_anchors
    from odevideo.nn.warping import warp

    def build(anchor):
        if family == "vid_ode":
            return _model(anchor_observed=anchor, mask_init=0.9)
        torch.manual_seed(0)
        return VidRNN(in_channels=1, hidden_channels=8, n_downs=2, step=0.1, mask_init=0.9, anchor_observed=anchor)

    frames, times = _clip(t=5)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 2] = False
    anchored, plain = build(True).eval(), build(False).eval()
    with torch.no_grad():
        # extrapolation: no observation lies after the first query, so nothing changes
        q_ext = torch.tensor([0.5, 0.6, 0.75])
        assert torch.equal(anchored(frames, times, mask, q_ext).frames, plain(frames, times, mask, q_ext).frames)
        # interpolation: each anchored frame is the warp of its observation, not of the previous output
        q = torch.tensor([[0.0, 0.05, 0.15, 0.25, 0.35]] * 2)
        pred = anchored(frames, times, mask, q)
        idx, use = observation_anchors(times, mask, q)
        for b, k in use.nonzero().tolist():
            expect = warp(frames[b, idx[b, k]][None], pred.flows[b, k][None])[0]
            torch.testing.assert_close(pred.warped[b, k], expect)
        assert not torch.allclose(pred.frames, plain(frames, times, mask, q).frames)
        # unobserved frames never leak in: clip 1's frame at 0.2 is not observed
        poisoned = frames.clone()
        poisoned[1, 2] = float("nan")
        assert torch.isfinite(anchored(poisoned, times, mask, q).frames).all()


def test_anchor_observed_needs_decoder_states():
    with pytest.raises(InputError, match="first_prev"):
        _model(anchor_observed=True, first_prev="embedding")


def _heads(flows, c=1):
    """G's raw outputs for a warp-only chain: the given flows ``(B, Q, 2, H, W)``, zero difference and mask logits."""
    b, q, _, h, w = flows.shape
    return torch.cat([flows, torch.zeros(b, q, c + 1, h, w)], dim=2)


def test_warp_previous_is_checked():
    with pytest.raises(InputError, match="warp_previous"):
        _model(warp_previous="cumulative")


def test_warp_padding_reaches_the_chain_and_both_models():
    from odevideo.configio import load_config
    from odevideo.methods import get_method
    from odevideo.methods.vid_ode.baselines import VidRNN
    from odevideo.methods.vid_ode.vid_ode import compose_frame_chain
    from odevideo.training import ExperimentConfig

    ref = torch.zeros(1, 1, 8, 8)
    ref[0, 0, :, 0] = 1.0  # a bright left column, touching the edge
    flows = torch.zeros(1, 3, 2, 8, 8)
    flows[:, :, 0] = -1.0  # content moves right one pixel per step
    border = compose_frame_chain(_heads(flows), ref, use_mask_composition=False)["raw_frames"]
    zeros = compose_frame_chain(_heads(flows), ref, use_mask_composition=False, warp_padding="zeros")["raw_frames"]
    # border padding smears the column into a growing band; zeros padding moves it
    assert float(border[0, 2, 0, 0, :4].sum()) == pytest.approx(4.0)
    torch.testing.assert_close(zeros[0, 2, 0, 0], torch.tensor([0.0, 0, 0, 1, 0, 0, 0, 0]))
    frames, times = _clip()
    query = torch.tensor([0.45, 0.55])
    a = _model()(frames, times, None, query).frames
    b = _model(warp_padding="zeros")(frames, times, None, query).frames
    assert torch.isfinite(b).all() and not torch.equal(a, b)
    with pytest.raises(InputError, match="warp_padding"):
        _model(warp_padding="reflection")
    rnn = VidRNN(in_channels=1, hidden_channels=8, warp_padding="zeros")
    assert rnn.warp_padding == "zeros"
    with pytest.raises(InputError, match="warp_padding"):
        VidRNN(in_channels=1, hidden_channels=8, warp_padding="wrap")
    for preset in ("vid_ode_bb32_extrap", "vid_rnn_bb32_interp"):
        cfg = load_config(ExperimentConfig, preset, None, ["model.warp_padding=zeros"])
        assert get_method(cfg.method).build(cfg).warp_padding == "zeros"


@pytest.mark.parametrize("family", ["vid_ode", "vid_rnn"])
def test_flow_per_time_scales_the_flow_by_the_gap_to_the_warped_frame(family):
    from odevideo.methods.vid_ode.baselines import VidRNN
    from odevideo.methods.vid_ode.vid_ode import frame_gaps, gather_anchors

    def build(per_time):
        if family == "vid_ode":
            return _model(anchor_observed=True, flow_per_time=per_time, ode_rate=10.0)
        torch.manual_seed(0)
        return VidRNN(
            in_channels=1, hidden_channels=8, n_downs=2, step=0.1, anchor_observed=True, flow_per_time=per_time
        )

    frames, times = _clip(t=5)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 2] = False
    # in-between, at and after observations; clip 1 misses the observation at 0.2
    q = torch.tensor([[0.0, 0.05, 0.15, 0.25, 0.55]] * 2)
    with torch.no_grad():
        scaled, plain = build(True).eval()(frames, times, mask, q), build(False).eval()(frames, times, mask, q)
    # the gap to the frame each query warps: the previous query, or the observation it is anchored on
    anchors = gather_anchors(frames, torch.zeros(2, 5, 1), times, mask, q)
    gaps = frame_gaps(times[:, 0], q, anchors)
    expect = torch.tensor([[0.0, 0.05, 0.05, 0.05, 0.15], [0.0, 0.05, 0.05, 0.1, 0.15]])
    torch.testing.assert_close(gaps, expect)
    torch.testing.assert_close(scaled.flows, plain.flows * 10.0 * gaps[:, :, None, None, None])
    assert torch.equal(scaled.flows[:, 0], torch.zeros_like(scaled.flows[:, 0]))  # no time passes: no motion
