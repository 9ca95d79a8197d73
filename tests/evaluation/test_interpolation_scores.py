"""odevideo.evaluation.interpolation.compare on hand-made per-window scores: means, paired differences with
standard errors, "beats" in each metric's direction, and methods that are only reported."""

from __future__ import annotations

import math

import pytest

from odevideo.errors import InputError
from odevideo.evaluation.interpolation import compare

SCORES = {
    "model": {"psnr": [31.0, 33.0, 35.0], "lpips": [0.10, 0.20, 0.30]},
    "blend": {"psnr": [30.0, 31.0, 32.0], "lpips": [0.20, 0.30, 0.40]},
    "start": {"psnr": [31.5, 33.5, 35.5], "lpips": [0.10, 0.20, 0.30]},
}


def test_means_and_paired_differences_by_hand():
    c = compare(SCORES, against=["blend"])
    assert c["windows"] == 3
    assert c["means"]["model"]["psnr"] == pytest.approx(33.0)
    assert c["means"]["start"]["lpips"] == pytest.approx(0.2)  # reported even though not compared
    p = c["paired"]["blend"]["psnr"]  # differences 1, 2, 3: mean 2, sample sd 1, se 1 / sqrt(3)
    assert p["mean_diff"] == pytest.approx(2.0) and p["se"] == pytest.approx(1 / math.sqrt(3))
    assert c["paired"]["blend"]["lpips"]["mean_diff"] == pytest.approx(-0.1) and set(c["paired"]) == {"blend"}
    assert c["beats"]  # higher PSNR and lower LPIPS than the blend


def test_every_other_method_is_a_baseline_by_default():
    c = compare(SCORES)
    assert set(c["paired"]) == {"blend", "start"}
    assert c["paired"]["start"]["psnr"]["mean_diff"] == pytest.approx(-0.5)
    assert not c["beats"]  # the start is better on PSNR and ties on LPIPS


def test_unknown_or_self_comparisons_are_errors():
    with pytest.raises(InputError, match="among the scored methods"):
        compare(SCORES, against=["dis_flow"])
    with pytest.raises(InputError, match="not the model itself"):
        compare(SCORES, against=["model"])
