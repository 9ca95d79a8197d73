"""Readers refuse oversized or lying files from their headers, before decoding or allocating."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from odevideo.configio import read_yaml
from odevideo.data.moving_mnist import load_moving_mnist_npy
from odevideo.data.video_io import ReadLimits, read_video, write_video
from odevideo.errors import ConfigError, DatasetError, VideoFileError


def _gif_with_screen(tmp_path, width, height):
    path = tmp_path / "clip.gif"
    write_video(path, torch.rand(6, 1, 8, 8), fps=10)
    data = bytearray(path.read_bytes())
    data[6:10] = struct.pack("<HH", width, height)
    path.write_bytes(bytes(data))
    return path


def test_gif_claiming_a_huge_screen_is_refused_before_decoding(tmp_path):
    path = _gif_with_screen(tmp_path, 8000, 8000)
    with pytest.raises(VideoFileError, match="8000x8000 pixels is larger than the limit"):
        read_video(path)


def test_gif_fps_comment_must_agree_with_durations(tmp_path):
    path = tmp_path / "clip.gif"
    write_video(path, torch.rand(6, 1, 8, 8), fps=10)
    for fake in (b"100000", b"1e308", b"0.5"):
        old, new = b"odevideo fps=10.0", b"odevideo fps=" + fake
        data = path.read_bytes().replace(bytes([len(old)]) + old, bytes([len(new)]) + new)
        assert new in data
        bad = tmp_path / f"bad{len(fake)}.gif"
        bad.write_bytes(data)
        frames, fps = read_video(bad)
        assert frames.shape[0] == 6 and fps == pytest.approx(10.0)


def test_gif_keeps_repeated_frames_and_exact_fps(tmp_path):
    clip = torch.rand(2, 1, 8, 8).repeat_interleave(3, dim=0)
    write_video(tmp_path / "c.gif", clip, fps=30)
    frames, fps = read_video(tmp_path / "c.gif")
    assert frames.shape[0] == 6 and fps == 30.0


def test_limits_are_overridable(tmp_path):
    write_video(tmp_path / "c.npy", torch.rand(5, 1, 8, 8))
    write_video(tmp_path / "c.gif", torch.rand(5, 1, 8, 8))
    write_video(tmp_path / "c", torch.rand(5, 1, 8, 8))
    for name in ("c.npy", "c.gif", "c"):
        assert read_video(tmp_path / name)[0].shape[0] == 5
        with pytest.raises(VideoFileError, match="more than 4 frames"):
            read_video(tmp_path / name, limits=ReadLimits(frames=4))
        with pytest.raises(VideoFileError, match="larger than the limit of 63 pixels"):
            read_video(tmp_path / name, limits=ReadLimits(frame_pixels=63))
        with pytest.raises(VideoFileError, match="exceed the limit of 100 values"):
            read_video(tmp_path / name, limits=ReadLimits(values=100))
        assert read_video(tmp_path / name, max_frames=1, limits=ReadLimits(values=64))[0].shape[0] == 1


U1 = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }"


def _npy_with_header(path, header: str) -> None:
    header = header + " " * (-(len(header) + 11) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + b"\0" * 64)


@pytest.mark.parametrize(
    "header, match",
    [
        ("{'descr': '|u1', 'fortran_order': False, 'shape': (-1, 1, 32, 32), }", "invalid shape"),
        (U1 % "(1000000000000, 1, 32, 32)", "larger than the limit|truncated"),
        (U1 % "(2, 1, 100000, 100000)", "larger than the limit|truncated"),
        ("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 2, 2), }", "unsupported dtype"),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (1, 1, 2, 2), }", "not a readable|unsupported dtype"),
        ("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 2, 2), ", "not a readable"),
        ("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 1, 8, 8), }", "truncated"),
    ],
)
def test_bad_npy_headers_are_refused(tmp_path, header, match):
    path = tmp_path / "x.npy"
    _npy_with_header(path, header)
    with pytest.raises(VideoFileError, match=match):
        read_video(path)


def test_moving_mnist_npy_header_checked(tmp_path):
    path = tmp_path / "m.npy"
    _npy_with_header(path, "{'descr': '|u1', 'fortran_order': False, 'shape': (-20, 10, 64, 64), }")
    with pytest.raises(DatasetError, match="invalid shape"):
        load_moving_mnist_npy(path)
    np.save(path, np.zeros((20, 2, 8, 8), np.uint8))
    assert load_moving_mnist_npy(path).shape == (2, 20, 1, 8, 8)


def test_yaml_bombs_and_deep_nesting_are_refused(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines))
    with pytest.raises(ConfigError, match="aliases"):
        read_yaml(tmp_path / "bomb.yaml")
    (tmp_path / "deep.yaml").write_text("x: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigError, match="nested more than"):
        read_yaml(tmp_path / "deep.yaml")
    (tmp_path / "big.yaml").write_text("# pad\n" * 200_000)
    with pytest.raises(ConfigError, match="larger than"):
        read_yaml(tmp_path / "big.yaml")


def test_type_mismatch_message_is_short():
    from odevideo._config_types import _mismatch

    msg = str(_mismatch("train.lr", float, list(range(10**6))))
    assert len(msg) < 400
