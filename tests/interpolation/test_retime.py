"""retime_video: the output grid (counts, timestamps), the pixels at and between input times, the codec and audio
choices, dropped frames, odd sizes, and an interrupted run leaving nothing behind.

Clips are tiny (64x48, 2 s) and lossless (FFV1 in .avi, whose time base is exactly 1/fps), so counts are exact and
pixels differ from the input only by the RGB -> YUV 4:2:0 -> RGB round trip of the encoder.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from retime_clips import audio_packets, read_back, write_clip  # noqa: E402

from odevideo.errors import InputError, VideoFileError  # noqa: E402
from odevideo.interpolation import load_interpolator  # noqa: E402
from odevideo.interpolation.retime import parse_rate, parse_seconds, probe_video, retime_video  # noqa: E402
from odevideo.interpolation.retime_input import nominal_rate  # noqa: E402


def close(a: np.ndarray, b: np.ndarray, mean: float = 1.0, worst: int = 8) -> bool:
    """Equal up to the YUV 4:2:0 round trip: mean absolute difference <= ``mean`` levels, none above ``worst``."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float(d.mean()) <= mean and int(d.max()) <= worst


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """48 frames at 24 fps, 64x48, FFV1 in .avi: frame i at exactly i / 24 s, 2 s in all."""
    return write_clip(tmp_path_factory.mktemp("clip") / "in.avi")


@pytest.fixture(scope="module")
def clip_frames(clip) -> np.ndarray:
    return read_back(clip)["frames"]


def test_fps_60_grid_pixels_and_size(clip, clip_frames, tmp_path):
    out = tmp_path / "out.mkv"
    st = retime_video(load_interpolator("linear_blend"), clip, out, fps=60, progress=False)
    got = read_back(out)
    # frames at t_j = j / 60 for every t_j < 2 s (the input's duration: the last frame's time + 1/24): 120
    assert st["output_frames"] == 120 == len(got["frames"]) == round(2.0 * 60)
    assert st["input_fps"] == 24 and st["output_fps"] == 60 and st["input_frames_decoded"] == 48
    assert st["output_duration_s"] == pytest.approx(2.0)
    tick = got["time_base"]
    assert all(abs(t - Fraction(j, 60)) <= tick for j, t in enumerate(got["times"]))
    assert got["frames"].shape[1:] == clip_frames.shape[1:] == (48, 64, 3)
    # every 5th output frame is at an input time (j / 60 = (2 j / 5) / 24): that frame, copied
    for j in range(0, 120, 5):
        assert close(got["frames"][j], clip_frames[2 * j // 5]), j
    # t = 1/60 is 0.4 of the way from frame 0 to frame 1
    blend = 0.6 * clip_frames[0].astype(np.float32) + 0.4 * clip_frames[1].astype(np.float32)
    assert close(got["frames"][1], np.rint(blend).astype(np.uint8))
    # 24 frames copied at input times, 2 held after the last input frame (t = 118/60 and 119/60 > 47/24)
    assert st["copied_frames"] == 26 and st["interpolated_frames"] == 94
    assert close(got["frames"][119], clip_frames[47])
    assert st["video_codec"] == "ffv1" and st["audio"] == "none"
    assert not list(tmp_path.glob(".*")), "a temporary was left next to the output"


def test_factor_and_slowmo_counts(clip, clip_frames, tmp_path):
    model = load_interpolator("repeat_previous")
    st = retime_video(model, clip, tmp_path / "x.avi", factor=2.5, progress=False)
    assert st["output_fps"] == 60 and st["output_frames"] == 120 == len(read_back(tmp_path / "x.avi")["times"])
    st = retime_video(model, clip, tmp_path / "s.mkv", slowmo=4, progress=False)
    got = read_back(tmp_path / "s.mkv")
    # 4 x as many frames (step 1/96 s of input), written at the input's 24 fps: 8 s
    assert st["output_frames"] == 192 == len(got["frames"]) and st["output_fps"] == 24
    assert st["output_duration_s"] == pytest.approx(8.0)
    assert abs(got["times"][-1] - Fraction(191, 24)) <= got["time_base"]
    # repeat_previous: output frame j shows input frame floor(j / 4)
    for j in (0, 1, 2, 3, 5, 101, 191):
        assert close(got["frames"][j], clip_frames[j // 4]), j


def test_dis_flow_model(tmp_path):
    clip = write_clip(tmp_path / "short.avi", n=6)
    st = retime_video(load_interpolator("dis_flow"), clip, tmp_path / "f.mkv", fps=48, progress=False)
    got = read_back(tmp_path / "f.mkv")
    src = read_back(clip)["frames"]
    assert st["output_frames"] == 12 == len(got["frames"])
    assert st["model_calls"] == 5 == st["interpolated_frames"]  # one call per gap; t = 11/48 holds the last frame
    for j in range(0, 12, 2):
        assert close(got["frames"][j], src[j // 2]), j


def test_start_end(clip, clip_frames, tmp_path):
    st = retime_video(load_interpolator("linear_blend"), clip, tmp_path / "c.mkv", fps=60, start=0.5, end="1.5",
                      progress=False)
    got = read_back(tmp_path / "c.mkv")
    assert st["output_frames"] == 60 == len(got["frames"])
    assert got["times"][0] == 0  # the output starts at --start
    assert close(got["frames"][0], clip_frames[12]) and close(got["frames"][5], clip_frames[14])


def test_audio_copied_and_trimmed(tmp_path):
    clip = write_clip(tmp_path / "av.mp4", codec="mpeg4", audio=True)
    model = load_interpolator("linear_blend")
    st = retime_video(model, clip, tmp_path / "a.mp4", fps=60, progress=False)
    got = read_back(tmp_path / "a.mp4")
    assert st["audio"] == "copied (aac)" and st["video_codec"] == "mpeg4" and len(got["frames"]) == 120
    assert [a["codec"] for a in got["audio"]] == ["aac"]
    assert audio_packets(tmp_path / "a.mp4") == audio_packets(clip)  # every packet copied
    # the AAC priming packet before time 0 stays out of .mkv, whose muxer would delay the video to make room for it
    retime_video(model, clip, tmp_path / "a.mkv", fps=60, progress=False)
    got = read_back(tmp_path / "a.mkv")
    assert all(abs(t - Fraction(j, 60)) <= got["time_base"] for j, t in enumerate(got["times"]))
    assert got["audio"][0]["times"][0] == 0
    st = retime_video(model, clip, tmp_path / "t.mkv", fps=60, start=0.5, end=1.5, progress=False)
    audio = read_back(tmp_path / "t.mkv")["audio"][0]
    # whole packets that start in [0.5, 1.5) s, moved by 0.5 s with the video
    assert 0 <= audio["times"][0] < Fraction(1024, 48000) + Fraction(1, 1000)
    assert audio["times"][-1] < 1 and 40 <= len(audio["times"]) <= 48
    notes = []
    st = retime_video(model, clip, tmp_path / "slow.mp4", slowmo=2, progress=False, log=notes.append)
    assert st["audio"] == "dropped" and read_back(tmp_path / "slow.mp4")["audio"] == []
    assert notes and "audio" in notes[0] and "dropped" in notes[0]


def test_fill_missing_fills_a_dropped_frame(tmp_path):
    clip = write_clip(tmp_path / "gap.mp4", codec="mpeg4", skip=(10,))  # 47 frames: frame 10 is missing
    src = read_back(clip)
    assert len(src["frames"]) == 47
    probe = probe_video(clip)
    assert probe.fps == 24  # the nominal rate, not the average 47 frames / 2 s
    st = retime_video(load_interpolator("linear_blend"), clip, tmp_path / "filled.mkv", fill_missing=True,
                      progress=False)
    got = read_back(tmp_path / "filled.mkv")
    assert st["output_frames"] == 48 == len(got["frames"]) and st["interpolated_frames"] == 1
    assert all(abs(t - Fraction(j, 24)) <= got["time_base"] for j, t in enumerate(got["times"]))
    f9, f11 = src["frames"][9].astype(np.float32), src["frames"][10].astype(np.float32)  # input 10 is frame 11
    assert close(got["frames"][10], np.rint((f9 + f11) / 2).astype(np.uint8), mean=1.5)
    assert close(got["frames"][11], src["frames"][10], mean=1.5) and close(got["frames"][9], src["frames"][9])


def test_odd_size_is_padded(tmp_path):
    clip = write_clip(tmp_path / "odd.avi", n=4, w=63, h=47, pix_fmt="yuv444p")
    notes = []
    st = retime_video(load_interpolator("linear_blend"), clip, tmp_path / "o.mkv", factor=2, progress=False,
                      log=notes.append)
    assert st["input_size"] == "63x47" and st["size"] == "64x48"
    assert any("padded to 64x48" in n for n in notes)
    assert read_back(tmp_path / "o.mkv")["frames"].shape[1:] == (48, 64, 3)


@pytest.mark.parametrize("rotation", [-90, 180])
def test_a_phone_clip_comes_out_upright(rotation, tmp_path):
    """A clip stored 64x48 with a display rotation (how phones record portrait video) is retimed as players show
    it: 48x64 for a quarter turn, and every input frame at its time equal to the upright decoded frame."""
    src = write_clip(tmp_path / "phone.mp4", n=6, codec="libx264", rotation=rotation)
    probe = probe_video(src)
    assert probe.rotation == rotation % 360
    st = retime_video(load_interpolator("linear_blend"), src, tmp_path / "o.mp4", factor=2, progress=False,
                      log=lambda _: None)
    upright = np.rot90(read_back(src)["frames"], rotation // 90, axes=(1, 2))  # PyAV returns the coded frames
    got = read_back(tmp_path / "o.mp4")["frames"]
    assert st["input_size"] == f"{upright.shape[2]}x{upright.shape[1]}" == st["size"]
    assert got.shape == (12, *upright.shape[1:])
    assert all(close(got[2 * i], upright[i], mean=1.5, worst=16) for i in range(6))


@pytest.mark.parametrize("suffix, rotation, want", [(".mp4", 0, Fraction(8, 9)), (".mkv", 0, Fraction(8, 9)),
                                                     (".mp4", -90, Fraction(9, 8))])
def test_non_square_pixels_keep_their_shape(suffix, rotation, want, tmp_path):
    """Anamorphic video (e.g. DV's 8:9 pixels) is written with the same pixel shape, so players show the same
    picture; turned upright, the pixels turn too."""
    import av

    src = write_clip(tmp_path / f"dv{suffix}", n=4, codec="libx264", rotation=rotation,
                     sample_aspect_ratio=Fraction(8, 9))
    retime_video(load_interpolator("linear_blend"), src, tmp_path / f"o{suffix}", factor=2, progress=False,
                 log=lambda _: None)
    with av.open(str(tmp_path / f"o{suffix}")) as c:
        assert Fraction(c.streams.video[0].sample_aspect_ratio) == want


def test_bf16_runs_a_trained_model_under_autocast(clip, tmp_path):
    """``bf16=True`` puts a trained model (an nn.Module) under bf16 autocast and leaves a classical interpolator as it
    is (with a note); the shipped model's frames stay within the 8-bit rounding of its float32 frames."""

    class Spy(torch.nn.Module):
        autocast: list[bool] = []

        def interpolate(self, f0, f1, taus):
            self.autocast.append(torch.is_autocast_enabled("cpu"))
            t = taus.view(-1, 1, 1, 1)
            return (1 - t) * f0 + t * f1

    for bf16 in (False, True):
        Spy.autocast = []
        retime_video(Spy(), clip, tmp_path / f"spy{bf16}.mkv", factor=2, progress=False, bf16=bf16)
        assert Spy.autocast and set(Spy.autocast) == {bf16}
    notes = []
    retime_video(load_interpolator("linear_blend"), clip, tmp_path / "blend.mkv", factor=2, progress=False,
                 bf16=True, log=notes.append)
    assert any("no effect" in n for n in notes)
    pytest.importorskip("cv2")
    small = write_clip(tmp_path / "small.avi", n=4)
    got = {}
    for bf16 in (False, True):
        retime_video(load_interpolator("interp-real-64"), small, tmp_path / f"m{bf16}.avi", factor=2,
                     progress=False, bf16=bf16)
        got[bf16] = read_back(tmp_path / f"m{bf16}.avi")["frames"]
    assert got[True].shape == got[False].shape == (8, 48, 64, 3)
    assert close(got[True], got[False], mean=0.5, worst=4)


def test_y4m_in_and_out(clip, clip_frames, tmp_path):
    """A YUV4MPEG2 test sequence is retimed like any video: to .y4m (uncompressed) and from it (to .mp4)."""
    st = retime_video(load_interpolator("linear_blend"), clip, tmp_path / "o.y4m", factor=2, progress=False)
    got = read_back(tmp_path / "o.y4m")
    assert st["video_codec"] == "wrapped_avframe" and got["frames"].shape == (96, 48, 64, 3)
    assert got["times"][:3] == [Fraction(0), Fraction(1, 48), Fraction(2, 48)]
    assert close(got["frames"][10], clip_frames[5])
    st = retime_video(load_interpolator("linear_blend"), tmp_path / "o.y4m", tmp_path / "o.mp4", factor=0.5,
                      progress=False)
    assert read_back(tmp_path / "o.mp4")["frames"].shape == (48, 48, 64, 3)
    assert close(read_back(tmp_path / "o.mp4")["frames"][5], clip_frames[5], mean=2.5, worst=16)  # 4:2:0 twice


def test_an_interrupted_run_leaves_nothing(clip, tmp_path):
    class Interrupted:
        calls = 0

        def interpolate(self, f0, f1, taus):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return f0.expand(len(taus), *f0.shape)

    with pytest.raises(KeyboardInterrupt):
        retime_video(Interrupted(), clip, tmp_path / "never.mp4", fps=60, progress=False)
    assert list(tmp_path.iterdir()) == []

    class Wrong:
        def interpolate(self, f0, f1, taus):
            return torch.zeros(len(taus), 3, 8, 8)

    with pytest.raises(InputError, match="returned shape"):
        retime_video(Wrong(), clip, tmp_path / "never.mp4", fps=60, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, want", [
    ("60", Fraction(60)), ("59.94", Fraction(60000, 1001)), ("29.97", Fraction(30000, 1001)),
    ("23.976", Fraction(24000, 1001)), ("30000/1001", Fraction(30000, 1001)), ("2997/50", Fraction(2997, 50)),
    ("12.5", Fraction(25, 2)), (59.94, Fraction(60000, 1001)), (25, Fraction(25)),
])
def test_parse_rate(text, want):
    assert parse_rate(text) == want


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "1/0", "abc", "", "1e9", "0/5", True])
def test_parse_rate_refuses(text):
    with pytest.raises(InputError):
        parse_rate(text)


def test_parse_seconds():
    assert parse_seconds("1.5", "start") == Fraction(3, 2) and parse_seconds(0, "end") == 0
    for bad in ("-1", "nan", "x"):
        with pytest.raises(InputError):
            parse_seconds(bad, "start")


def test_nominal_rate():
    def stream(avg, guess, base=None):
        return SimpleNamespace(average_rate=avg, guessed_rate=guess, base_rate=base)

    assert nominal_rate(stream(Fraction(47, 2), Fraction(24))) == 24  # a dropped frame lowers the average
    assert nominal_rate(stream(Fraction(30), Fraction(90000))) == 30  # a time base, not a frame rate
    assert nominal_rate(stream(None, Fraction(25))) == 25
    assert nominal_rate(stream(Fraction(0), None)) is None
    assert nominal_rate(stream(None, None, Fraction(-5))) is None


def test_probe_refuses(tmp_path):
    (tmp_path / "text.mp4").write_text("not a video\n")
    with pytest.raises(VideoFileError, match="not a video|corrupt"):
        probe_video(tmp_path / "text.mp4")
    with pytest.raises(VideoFileError, match="no such file"):
        probe_video(tmp_path / "missing.mp4")


def test_codec_family_or_container_default():
    import av

    from odevideo.interpolation.retime_output import choose_encoder

    def supported(fmt: str) -> set[str]:
        import io

        with av.open(io.BytesIO(), "w", format=fmt) as c:
            return set(c.supported_codecs)

    size = (64, 48, Fraction(60))
    assert choose_encoder(av, ".avi", "mpeg4", supported("avi"), *size)[:2] == ("mpeg4", "yuv420p")
    assert choose_encoder(av, ".mkv", "ffv1", supported("matroska"), *size)[0] == "ffv1"
    name, _, why = choose_encoder(av, ".mp4", "ffv1", supported("mp4"), *size)  # FFV1 in .mp4: not for players
    assert name in ("libx264", "h264", "mpeg4") and "default" in why
    name, _, why = choose_encoder(av, ".webm", "mpeg4", supported("webm"), *size)
    assert name in ("libvpx-vp9", "libvpx") and "does not go into .webm" in why
    # FFmpeg's MJPEG encoder opens only with full-range YUV
    assert choose_encoder(av, ".avi", "mjpeg", supported("avi"), *size)[:2] == ("mjpeg", "yuvj420p")
    # MPEG-1 takes only the standard rates: 48 fps goes to the container's default, 24 fps stays MPEG-1
    name, _, why = choose_encoder(av, ".mkv", "mpeg1video", supported("matroska"), 64, 48, Fraction(48))
    assert name != "mpeg1video" and "has no encoder here for 64x48 at 48 fps" in why
    assert choose_encoder(av, ".mkv", "mpeg1video", supported("matroska"), 64, 48, Fraction(24))[0] == "mpeg1video"


@pytest.mark.parametrize("codec, pix_fmt, suffix", [("mjpeg", "yuvj420p", ".avi"), ("mpeg1video", "yuv420p", ".mkv")])
def test_inputs_whose_encoder_refuses_the_first_choice(codec, pix_fmt, suffix, tmp_path):
    """A camera's MJPEG .avi is retimed to MJPEG (full-range YUV); an MPEG-1 file at 2x (48 fps, not an MPEG-1
    rate) to the container's default encoder."""
    src = write_clip(tmp_path / f"in{suffix}", n=6, codec=codec, pix_fmt=pix_fmt)
    st = retime_video(load_interpolator("linear_blend"), src, tmp_path / f"out{suffix}", factor=2, progress=False,
                      log=lambda _: None)
    got, src_frames = read_back(tmp_path / f"out{suffix}"), read_back(src)["frames"]
    assert got["frames"].shape == (12, 48, 64, 3)
    # the input frames come back at their times, colours kept (a range mix-up would shift them by ~16 levels)
    assert close(got["frames"][0], src_frames[0]) and close(got["frames"][4], src_frames[2], mean=1.5, worst=12)
    assert (st["video_codec"] == codec) == (codec == "mjpeg")
