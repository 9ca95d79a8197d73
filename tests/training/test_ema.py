"""train.ema_decay: a moving average of the weights is validated, saved, loaded and resumed exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from odevideo.checkpoints import load_checkpoint
from odevideo.errors import ConfigError
from odevideo.training import Trainer, load_run
from odevideo.training.ema import build_ema, ema_decay_at


def _params(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def test_average_follows_the_warmed_up_decay_and_copies_buffers():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = build_ema(net, 0.9)
    assert ema_decay_at(0.9, 1) == pytest.approx(2 / 11) and ema_decay_at(0.9, 1000) == 0.9
    expected = None
    for n in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net(torch.randn(5, 3))  # BatchNorm running statistics move
        current = _params(net)
        if expected is None:  # the first update copies
            expected = current
        else:
            d = min(0.9, (1 + n) / (10 + n))
            expected = {k: d * expected[k] + (1 - d) * current[k] for k in current}
        ema.update_parameters(net)
        got = _params(ema.module)
        for k in expected:
            torch.testing.assert_close(got[k], expected[k])
        # buffers are the trained model's, not averaged
        torch.testing.assert_close(ema.module[1].running_mean, net[1].running_mean)
    assert int(ema.n_averaged) == 6
    assert not any(p.requires_grad for p in ema.parameters())


@pytest.mark.parametrize("decay", [1.0, -0.5, 1.5])
def test_decay_outside_the_open_unit_interval_is_refused(tiny_config, decay):
    with pytest.raises(ConfigError, match="train.ema_decay"):
        Trainer(tiny_config("name=bad", f"train.ema_decay={decay}"))


def test_trainer_saves_the_average_as_the_model_and_keeps_the_trained_weights(tiny_config):
    t = Trainer(tiny_config("name=ema", "train.ema_decay=0.8", "train.steps=3", "train.eval_every=3",
                            "train.checkpoint_every=3"))
    expected = None
    for n in range(3):  # the trainer's steps, with the average recomputed here from the trained weights
        t._train_step()
        t.step += 1
        current = _params(t.model)
        expected = current if expected is None else {
            k: ema_decay_at(0.8, n) * expected[k] + (1 - ema_decay_at(0.8, n)) * current[k] for k in current}
    t.save("last", 0.0)
    ck = load_checkpoint(t.ckpt_dir / "last")
    trained = ck.extra_state["trained_model_state"]
    assert ck.extra_state["ema_updates"] == 3
    for k, v in expected.items():
        torch.testing.assert_close(ck.model_state[k], v)
        assert torch.equal(trained[k], t.model.state_dict()[k])
    assert any(not torch.equal(ck.model_state[k], trained[k]) for k in expected)
    # evaluate / predict / generate load the average
    loaded, _ = load_run(t.run_dir, which="last")
    for k, v in _params(loaded).items():
        torch.testing.assert_close(v, expected[k])


def test_run_with_average_resumes_exactly(tiny_config, interrupt_fit):
    extra = ("train.ema_decay=0.7",)
    full = Trainer(tiny_config("name=full", *extra)).fit()
    t = Trainer(tiny_config("name=part", *extra))
    interrupt_fit(t, at_step=4)  # checkpoint after step 3
    resumed = Trainer(tiny_config("name=part", *extra), resume=True)
    assert resumed.step == 3 and int(resumed.ema.n_averaged) == 3
    resumed.fit()
    a, b = (load_checkpoint(r / "checkpoints" / "last") for r in (full.run_dir, resumed.run_dir))
    for key in a.model_state:
        assert torch.equal(a.model_state[key], b.model_state[key]), key
        assert torch.equal(a.extra_state["trained_model_state"][key], b.extra_state["trained_model_state"][key]), key


def test_average_switched_on_or_off_at_resume(tiny_config, interrupt_fit):
    t = Trainer(tiny_config("name=plain"))
    interrupt_fit(t, at_step=4)
    on = Trainer(tiny_config("name=plain", "train.ema_decay=0.9"), resume=True)
    for k, v in _params(on.model).items():  # a fresh average starts from the trained weights
        assert torch.equal(_params(on.ema.module)[k], v)
    assert int(on.ema.n_averaged) == 1
    on.fit()
    off = Trainer(tiny_config("name=plain", "train.steps=8"), resume=True)  # back to no average
    trained = load_checkpoint(off.ckpt_dir / "last").extra_state["trained_model_state"]
    for k, v in _params(off.model).items():
        assert torch.equal(trained[k], v)
