"""Digit identity over time: the statistics against hand-computed values (a stub classifier with known labels),
bad inputs, and the small classifier learning placed glyphs from a seed."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from odevideo.errors import InputError
from odevideo.metrics import DigitClassifier, classifier_accuracy, digit_consistency, train_digit_classifier


class _LabelFromBrightness(nn.Module):
    """Stub classifier: the class is round(10 * mean pixel) (clamped to 0-9), with logits 20 for it and 0 else."""

    def forward(self, frames):
        k = (frames.mean(dim=(1, 2, 3)) * 10).round().clamp(0, 9).long()
        return 20.0 * nn.functional.one_hot(k, 10).float()


def _clip(labels, size=8):
    return torch.stack([torch.full((1, size, size), c / 10) for c in labels])


def test_statistics_match_hand_computed_values():
    videos = torch.stack([_clip([3, 3, 3, 5]), _clip([1, 1, 2, 2]), _clip([7, 7, 7, 7])])
    out = digit_consistency(videos, _LabelFromBrightness())
    # clip 0: 3 of 4 frames agree with the majority 3, 1 switch in 3 pairs; clip 1: tie -> class 1, 2/4, 1/3;
    # clip 2: 4/4, 0/3
    assert out["consistency"] == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    assert out["switch_rate"] == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert out["majority_histogram"] == [0, 1, 0, 1, 0, 0, 0, 1, 0, 0]
    assert out["classes_covered"] == 3 and out["class_entropy"] == pytest.approx(math.log(3))
    p_top = 1 / (1 + 9 * math.exp(-20))
    assert out["confidence"] == pytest.approx(p_top)
    assert (out["clips"], out["frames"]) == (3, 4)
    single = digit_consistency(_clip([4])[None], _LabelFromBrightness())
    assert single["consistency"] == 1.0 and math.isnan(single["switch_rate"]) and single["class_entropy"] == 0.0


def test_centroid_motion_measures_a_moving_square_in_pixels():
    from odevideo.metrics.digit_consistency import centroid_motion

    clip = torch.zeros(1, 5, 1, 16, 16)
    for k in range(5):  # a 3x3 square moving (+2, +1) px per frame
        clip[0, k, 0, 2 + k: 5 + k, 1 + 2 * k: 4 + 2 * k] = 1.0
    still = clip[:, :1].expand(1, 5, 1, 16, 16)
    out = centroid_motion(torch.cat([clip, still]))
    # the moving clip: sqrt(5) px per frame and 4 sqrt(5) px of travel; the still one: 0 and 0
    assert out["centroid_speed"] == pytest.approx(math.sqrt(5) / 2)
    assert out["centroid_travel"] == pytest.approx(4 * math.sqrt(5) / 2)
    dark = centroid_motion(torch.zeros(2, 3, 1, 8, 8))  # no intensity: the centre stays in the middle
    assert dark == {"centroid_speed": 0.0, "centroid_travel": 0.0}
    assert "centroid_speed" in digit_consistency(torch.cat([clip, still]), _LabelFromBrightness())
    with pytest.raises(InputError, match="B, T, C, H, W"):
        centroid_motion(torch.zeros(3, 8, 8))


def test_bad_inputs_name_the_problem():
    clf = _LabelFromBrightness()
    with pytest.raises(InputError, match=r"\(B, T, 1, H, W\)"):
        digit_consistency(torch.rand(2, 4, 3, 8, 8), clf)  # RGB
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        digit_consistency(torch.rand(2, 4, 1, 8, 8) * 2 - 1, clf)  # GAN range
    bad = torch.rand(2, 4, 1, 8, 8)
    bad[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="finite"):
        digit_consistency(bad, clf)
    with pytest.raises(InputError, match="labels"):
        train_digit_classifier(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 12]), steps=1)
    with pytest.raises(InputError, match="frames"):
        DigitClassifier()(torch.rand(4, 8, 8))


def _glyphs(n, seed, size=16):
    """Three classes of 5x5 glyphs (horizontal bar, vertical bar, hollow square) at random positions."""
    g = torch.Generator().manual_seed(seed)
    shapes = torch.zeros(3, 5, 5)
    shapes[0, 2, :] = 1
    shapes[1, :, 2] = 1
    shapes[2] = 1
    shapes[2, 1:4, 1:4] = 0
    labels = torch.randint(0, 3, (n,), generator=g)
    pos = torch.randint(0, size - 5, (n, 2), generator=g)
    frames = torch.zeros(n, 1, size, size)
    for i in range(n):
        r, c = pos[i].tolist()
        frames[i, 0, r:r + 5, c:c + 5] = shapes[labels[i]]
    return frames, labels


def test_classifier_learns_placed_glyphs_and_is_deterministic_from_its_seed():
    x, y = _glyphs(600, seed=0)
    xv, yv = _glyphs(300, seed=1)
    a = train_digit_classifier(x, y, steps=250, batch_size=64, width=8, seed=3)
    b = train_digit_classifier(x, y, steps=250, batch_size=64, width=8, seed=3)
    assert classifier_accuracy(a, xv, yv) > 0.95
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not a.training
    # a clip of one glyph moving keeps its identity; a clip that changes glyph halfway does not
    moving = torch.zeros(1, 6, 1, 16, 16)
    morph = torch.zeros(1, 6, 1, 16, 16)
    for t in range(6):
        moving[0, t, 0, 4, 1 + 2 * t:6 + 2 * t] = 1  # horizontal bar moving right
        morph[0, t, 0, 4, 1 + 2 * t:6 + 2 * t] = 1 if t < 3 else 0
        if t >= 3:
            morph[0, t, 0, 2:7, 3 + 2 * t] = 1  # vertical bar
    assert digit_consistency(moving, a)["consistency"] == 1.0
    out = digit_consistency(morph, a)
    assert out["consistency"] == 0.5 and out["switch_rate"] == pytest.approx(1 / 5)
