"""``odevideo retime``: a run end to end, and every bad input refused in one line with exit status 2, no traceback
and no file left behind (the library's timing is tested in tests/interpolation/test_retime.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interpolation"))
from retime_clips import read_back, write_clip  # noqa: E402

from odevideo.cli.main import main  # noqa: E402


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """A folder of inputs: a 2 s clip, a one-frame clip, an audio-only file, a text file named .mp4."""
    d = tmp_path_factory.mktemp("inputs")
    write_clip(d / "in.avi")
    write_clip(d / "one.avi", n=1)
    import av

    with av.open(str(d / "audio.mkv"), "w") as c:  # no video stream
        import numpy as np

        a = c.add_stream("aac", rate=48000)
        a.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for p in [*a.encode(frame), *a.encode()]:
            c.mux(p)
    (d / "text.mp4").write_text("not a video\n")
    return d


def test_retime_end_to_end(clips, tmp_path, capsys):
    out = tmp_path / "out.mkv"
    assert main(["retime", "linear_blend", str(clips / "in.avi"), str(out), "--fps", "60", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "120 frames at 60 fps" in printed and "output frames/s" in printed and "48 frames at 24 fps" in printed
    assert len(read_back(out)["frames"]) == 120
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]
    assert main(["retime", "repeat_previous", str(clips / "in.avi"), str(tmp_path / "s.avi"), "--slowmo", "2",
                 "--start", "1", "--no-progress"]) == 0
    assert len(read_back(tmp_path / "s.avi")["frames"]) == 48


def _refused(argv: list[str], words: list[str], tmp_path: Path, capsys) -> str:
    before = sorted(tmp_path.rglob("*"))
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and "\n" not in err.rstrip("\n"), f"not one line: {err!r}"
    assert "Traceback" not in err and "error:" in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    assert sorted(tmp_path.rglob("*")) == before, "a refused command left files behind"
    return err


CASES = [  # (IN, OUT, options, words the message must hold)
    ("missing.mp4", "o.mp4", ["--fps", "60"], ["missing.mp4", "no such file"]),
    ("text.mp4", "o.mp4", ["--fps", "60"], ["text.mp4", "not a video"]),
    ("audio.mkv", "o.mp4", ["--fps", "60"], ["audio.mkv", "no video stream"]),
    ("one.avi", "o.mp4", ["--fps", "60"], ["one.avi", "only one frame"]),
    ("in.avi", "o.mp4", ["--fps", "0"], ["--fps", "out of range"]),
    ("in.avi", "o.mp4", ["--fps", "-24"], ["--fps", "out of range"]),
    ("in.avi", "o.mp4", ["--fps", "nan"], ["--fps", "not a number"]),
    ("in.avi", "o.mp4", ["--fps", "30/0"], ["--fps", "division by zero"]),
    ("in.avi", "o.mp4", ["--factor", "0"], ["--factor", "out of range"]),
    ("in.avi", "o.mp4", ["--slowmo", "inf"], ["--slowmo"]),
    ("in.avi", "o.mp4", ["--fps", "60", "--start", "1.5", "--end", "1"], ["start 1.5 s is not before end 1 s"]),
    ("in.avi", "o.mp4", ["--fps", "60", "--start", "2"], ["start 2 s is at or after the end"]),
    ("in.avi", "o.mp4", ["--fps", "60", "--start", "0.5", "--end", "0.54"], ["only one frame", "widen"]),
    ("in.avi", "o.mp4", ["--fps", "60", "--start", "-1"], ["--start", "out of range"]),
    ("in.avi", "o.mp4", ["--fps", "60", "--fill-missing"], ["--fill-missing", "not allowed with"]),
    ("in.avi", "o.mp4", [], ["one of the arguments --fps --factor --slowmo --fill-missing is required"]),
    ("in.avi", "dir.mp4", ["--fps", "60"], ["dir.mp4", "is a folder"]),
    ("in.avi", "afile/o.mp4", ["--fps", "60"], ["afile", "is a file, not a folder"]),
    ("in.avi", "o.txt", ["--fps", "60"], ["o.txt", "suffix '.txt'"]),
    ("in.avi", "o.mp4", ["--fps", "60", "--device", "nonsense"], ["--device"]),
]


@pytest.mark.parametrize("src, dst, options, words", CASES, ids=[" ".join([c[0], c[1], *c[2]]) for c in CASES])
def test_retime_refuses(src, dst, options, words, clips, tmp_path, capsys):
    (tmp_path / "dir.mp4").mkdir()  # a folder where OUT should go
    (tmp_path / "afile").write_text("a file, not a folder\n")
    argv = ["retime", "linear_blend", str(clips / src), str(tmp_path / dst), "--no-progress", *options]
    _refused(argv, words, tmp_path, capsys)


def test_retime_refuses_an_unknown_model(clips, tmp_path, capsys):
    argv = ["retime", "no_such_model", str(clips / "in.avi"), str(tmp_path / "o.mp4"), "--fps", "60"]
    _refused(argv, ["no_such_model", "linear_blend", "dis_flow"], tmp_path, capsys)


def test_retime_refuses_a_stream_without_rate(clips, tmp_path, capsys, monkeypatch):
    from odevideo.interpolation import retime_input

    # as a stream whose rates are 0/0 or negative
    monkeypatch.setattr(retime_input, "nominal_rate", lambda stream: None)
    argv = ["retime", "linear_blend", str(clips / "in.avi"), str(tmp_path / "o.mp4"), "--fps", "60"]
    _refused(argv, ["no valid frame rate"], tmp_path, capsys)


def test_retime_interrupted_leaves_nothing(clips, tmp_path, capsys, monkeypatch):
    from odevideo.interpolation import api

    def interrupted(self, f0, f1, taus):
        raise KeyboardInterrupt

    monkeypatch.setattr(api.ClassicalInterpolator, "interpolate", interrupted)
    argv = ["retime", "linear_blend", str(clips / "in.avi"), str(tmp_path / "o.mp4"), "--fps", "60", "--no-progress"]
    assert main(argv) == 130
    assert list(tmp_path.iterdir()) == []


def test_retime_with_a_saved_model_folder(clips, tmp_path, capsys):
    """A learned interpolator (ode_flow_interp, untrained: its output is its start, the linear blend) by folder."""
    import numpy as np

    from odevideo.methods.base import ModelSpec
    from odevideo.methods.frame_interp import ODEFlowInterpolator
    from odevideo.methods.frame_interp.config import ODEFlowInterpConfig
    from odevideo.pretrained import save_pretrained

    cfg = ODEFlowInterpConfig(start="linear_blend", work_size=16, channels=8)
    model = ODEFlowInterpolator(3, start="linear_blend", work_size=16, channels=8)
    save_pretrained(tmp_path / "model", model, "ode_flow_interp", cfg, ModelSpec(3, 64, 8, 2, 1.0))
    src = write_clip(tmp_path / "short.avi", n=4)
    out = tmp_path / "out.mkv"
    assert main(["retime", str(tmp_path / "model"), str(src), str(out), "--fps", "48", "--no-progress"]) == 0
    got, frames = read_back(out)["frames"], read_back(src)["frames"].astype(np.float32)
    assert len(got) == 8
    diff = np.abs(got[1].astype(np.float32) - (frames[0] + frames[1]) / 2)
    assert diff.mean() <= 1.0 and diff.max() <= 8


def test_every_video_format_reaches_the_commands():
    """The command line's output suffixes and retime's help list every video container the reader knows."""
    from odevideo.cli.generate import OUTPUT_SUFFIXES
    from odevideo.cli.main import VIDEO_SUFFIXES, build_parser
    from odevideo.data.video_io.formats import VIDEO_EXTENSIONS
    from odevideo.interpolation.retime_output import MUXERS

    assert set(VIDEO_EXTENSIONS) <= set(VIDEO_SUFFIXES) and set(VIDEO_EXTENSIONS) <= set(OUTPUT_SUFFIXES)
    assert set(VIDEO_EXTENSIONS) == set(MUXERS)
    help_text = build_parser()._subparsers._group_actions[0].choices["retime"].format_help()
    assert all(ext in help_text for ext in VIDEO_EXTENSIONS)
