import sys

import numpy as np
import pytest
import torch
from PIL import Image

import odevideo.data.video_io.writers as vio
from odevideo.data import BouncingBalls, iter_video_frames, make_grid, read_video, save_image, write_video
from odevideo.errors import InputError, VideoFileError

Q = 0.5 / 255 + 1e-6  # uint8 quantisation error


@pytest.fixture(scope="module")
def gray_clip():
    return BouncingBalls(num_clips=1, num_frames=12)[0]  # (12, 1, 32, 32)


@pytest.fixture(scope="module")
def color_clip():
    # smooth colour content (codecs are made for natural images, not noise)
    t = torch.linspace(0, 1, 8)[:, None, None, None]
    y = torch.linspace(0, 1, 24)[None, None, :, None]
    x = torch.linspace(0, 1, 40)[None, None, None, :]
    r = (0.5 + 0.4 * torch.sin(6 * x + 3 * t)).expand(8, 1, 24, 40)
    g = (0.5 + 0.4 * torch.cos(5 * y - 2 * t)).expand(8, 1, 24, 40)
    b = (0.3 + 0.3 * x * y).expand(8, 1, 24, 40)
    return torch.cat([r, g, b], 1).contiguous()


def _only(tmp_path, *names):
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


@pytest.mark.parametrize("name, tol", [("clip.gif", Q), ("clip.avi", Q), ("clip.npy", 0.0), ("frames", Q)])
def test_lossless_round_trips_gray(tmp_path, gray_clip, name, tol):
    write_video(tmp_path / name, gray_clip, fps=12.5)
    out, fps = read_video(tmp_path / name, channels=1)
    assert out.shape == gray_clip.shape and out.dtype == torch.float32
    assert float((out - gray_clip).abs().max()) <= tol
    assert fps == (None if name in ("clip.npy", "frames") else pytest.approx(12.5))
    _only(tmp_path, name)  # no temporary files left


def test_mp4_round_trip_is_close(tmp_path, gray_clip, color_clip):
    write_video(tmp_path / "g.mp4", gray_clip, fps=10)
    out, fps = read_video(tmp_path / "g.mp4", channels=1)
    assert out.shape == gray_clip.shape and fps == pytest.approx(10)
    assert float((out - gray_clip).abs().mean()) < 0.01
    rgb, _ = read_video(tmp_path / "g.mp4")
    assert rgb.shape == (12, 3, 32, 32)
    write_video(tmp_path / "c.mp4", color_clip, fps=24)
    out, fps = read_video(tmp_path / "c.mp4")
    assert out.shape == color_clip.shape and fps == pytest.approx(24)
    assert float((out - color_clip).abs().mean()) < 0.02


def test_color_round_trips(tmp_path, color_clip):
    for name in ("c.avi", "c.npy", "cf"):
        write_video(tmp_path / name, color_clip, fps=5)
        out, _ = read_video(tmp_path / name)
        assert out.shape == color_clip.shape and float((out - color_clip).abs().max()) <= Q
    write_video(tmp_path / "c.gif", color_clip, fps=5)
    out, _ = read_video(tmp_path / "c.gif")  # RGB GIF: 3 channels
    assert out.shape == color_clip.shape and float((out - color_clip).abs().mean()) < 0.02  # 256-colour palette


def test_y4m_round_trip(tmp_path, gray_clip, color_clip):
    """YUV4MPEG2 (the format of standard test sequences): uncompressed 4:2:0, so grayscale comes back exact to 8-bit
    rounding and colour within the chroma subsampling; the frame rate (an NTSC fraction too) is kept."""
    write_video(tmp_path / "g.y4m", gray_clip, fps=30000 / 1001)
    out, fps = read_video(tmp_path / "g.y4m", channels=1)
    assert out.shape == gray_clip.shape and fps == pytest.approx(30000 / 1001)
    assert float((out - gray_clip).abs().max()) <= 2 * Q + 1 / 255  # luma range scaling only
    assert (tmp_path / "g.y4m").read_bytes().startswith(b"YUV4MPEG2 W32 H32 F30000:1001")
    write_video(tmp_path / "c.y4m", color_clip, fps=24)
    out, _ = read_video(tmp_path / "c.y4m")
    assert out.shape == color_clip.shape and float((out - color_clip).abs().mean()) < 0.02  # as .mp4: chroma 4:2:0


def test_mp4_odd_size_is_edge_padded(tmp_path):
    frames = torch.rand(3, 1, 1, 1).expand(3, 1, 15, 21).contiguous() * 0.5 + 0.25
    write_video(tmp_path / "odd.mp4", frames, fps=5)
    out, _ = read_video(tmp_path / "odd.mp4", channels=1)
    assert out.shape == (3, 1, 16, 22)
    assert float((out[:, :, :15, :21] - frames).abs().max()) < 0.03
    assert float((out[:, :, 15] - out[:, :, 14]).abs().max()) < 0.03  # replicated row


def test_natural_channels(tmp_path, gray_clip):
    write_video(tmp_path / "g.gif", gray_clip)
    assert read_video(tmp_path / "g.gif")[0].shape[1] == 1  # grayscale GIF
    assert read_video(tmp_path / "g.gif", channels=3)[0].shape[1] == 3
    write_video(tmp_path / "g.avi", gray_clip)
    assert read_video(tmp_path / "g.avi")[0].shape[1] == 3  # video files are RGB
    write_video(tmp_path / "gf", gray_clip)
    assert read_video(tmp_path / "gf")[0].shape[1] == 1  # 8-bit gray PNGs


def test_gif_keeps_repeated_frames(tmp_path, gray_clip):
    frames = gray_clip[[0, 0, 0, 1, 1, 2]]
    write_video(tmp_path / "rep.gif", frames, fps=30)
    out, fps = read_video(tmp_path / "rep.gif", channels=1)
    assert out.shape == frames.shape and float((out - frames).abs().max()) <= Q and fps == pytest.approx(30)


def test_iter_video_frames_streams(tmp_path, gray_clip):
    for name in ("s.avi", "s.gif", "s.npy", "sf"):
        write_video(tmp_path / name, gray_clip, fps=10)
        it = iter_video_frames(tmp_path / name, channels=1)
        first = next(it)
        assert first.shape == (1, 32, 32)
        rest = list(it)
        assert len(rest) == 11 and float((torch.stack([first, *rest]) - gray_clip).abs().max()) <= Q
    out, _ = read_video(tmp_path / "s.avi", max_frames=4)
    assert out.shape == (4, 3, 32, 32)


def test_npy_layout_rules(tmp_path):
    rng = np.random.default_rng(0)
    thw = rng.integers(0, 256, (5, 8, 10), dtype=np.uint8)
    np.save(tmp_path / "thw.npy", thw)
    out, fps = read_video(tmp_path / "thw.npy")
    assert out.shape == (5, 1, 8, 10) and fps is None
    assert torch.allclose(out[:, 0], torch.from_numpy(thw).float() / 255)
    np.save(tmp_path / "thwc.npy", rng.random((5, 8, 10, 3)).astype(np.float32))
    assert read_video(tmp_path / "thwc.npy")[0].shape == (5, 3, 8, 10)
    np.save(tmp_path / "tchw.npy", rng.random((5, 3, 8, 10)))
    assert read_video(tmp_path / "tchw.npy")[0].shape == (5, 3, 8, 10)
    assert read_video(tmp_path / "tchw.npy", channels=1)[0].shape == (5, 1, 8, 10)
    amb = rng.random((5, 3, 8, 3)).astype(np.float32)
    np.save(tmp_path / "amb.npy", amb)
    with pytest.raises(VideoFileError, match="ambiguous"):
        read_video(tmp_path / "amb.npy")
    assert read_video(tmp_path / "amb.npy", layout="THWC")[0].shape == (5, 3, 3, 8)
    assert read_video(tmp_path / "amb.npy", layout="TCHW")[0].shape == (5, 3, 8, 3)
    for name, arr, match in [
        ("neither.npy", np.zeros((5, 4, 8, 5), np.float32), "neither"),
        ("range.npy", np.full((2, 4, 4), 1.5, np.float32), r"\[0, 1\]"),
        ("nan.npy", np.full((2, 4, 4), np.nan, np.float32), r"\[0, 1\]"),
        ("int16.npy", np.zeros((2, 4, 4), np.int16), "dtype"),
        ("two_d.npy", np.zeros((4, 4), np.uint8), "3-D"),
    ]:
        np.save(tmp_path / name, arr)
        with pytest.raises(VideoFileError, match=match):
            read_video(tmp_path / name)


def test_unreadable_sources(tmp_path):
    with pytest.raises(VideoFileError, match="no such file"):
        read_video(tmp_path / "missing.mp4")
    for name in ("empty.mp4", "empty.gif", "empty.npy"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(VideoFileError, match="empty") as err:
            read_video(tmp_path / name)
        assert name in str(err.value)
    for seed in (0, 12320):  # FFmpeg probes seed 12320's bytes as a raw H.263 stream with one frame
        junk = np.random.default_rng(seed).bytes(2000)
        for name in ("junk.mp4", "junk.avi", "junk.mkv", "junk.gif", "junk.npy"):
            (tmp_path / name).write_bytes(junk)
            with pytest.raises(VideoFileError, match="junk"):
                read_video(tmp_path / name)
    (tmp_path / "h263.mp4").write_bytes(np.random.default_rng(12320).bytes(2000))
    with pytest.raises(VideoFileError, match="not a .mp4 container"):
        read_video(tmp_path / "h263.mp4")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(VideoFileError, match="no frame images"):
        read_video(tmp_path / "empty_dir")
    (tmp_path / "clip.xyz").write_bytes(b"abc")
    with pytest.raises(VideoFileError, match="unsupported"):
        read_video(tmp_path / "clip.xyz")
    with pytest.raises(OSError):  # VideoFileError is an OSError
        read_video(tmp_path / "missing.gif")


def test_truncated_files(tmp_path, gray_clip, color_clip):
    write_video(tmp_path / "t.gif", color_clip, fps=10)
    blob = (tmp_path / "t.gif").read_bytes()
    (tmp_path / "t.gif").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(VideoFileError, match="t.gif"):
        read_video(tmp_path / "t.gif")
    write_video(tmp_path / "t.mp4", gray_clip, fps=10)
    blob = (tmp_path / "t.mp4").read_bytes()
    (tmp_path / "t.mp4").write_bytes(blob[:200])
    with pytest.raises(VideoFileError, match="t.mp4"):
        read_video(tmp_path / "t.mp4")


def test_folder_problems(tmp_path, gray_clip):
    write_video(tmp_path / "f", gray_clip, fps=10)
    (tmp_path / "f" / "frame_000003.png").write_bytes(b"broken")
    with pytest.raises(VideoFileError, match="frame_000003.png"):
        read_video(tmp_path / "f")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.new("L", (8, 8)).save(mixed / "a1.png")
    Image.new("L", (9, 8)).save(mixed / "a2.png")
    with pytest.raises(VideoFileError, match="same size"):
        read_video(mixed)
    natural = tmp_path / "natural"
    natural.mkdir()
    for k in (10, 2, 1):
        Image.new("L", (4, 4), color=k).save(natural / f"f{k}.png")
    out, _ = read_video(natural)
    assert [round(float(v) * 255) for v in out[:, 0, 0, 0]] == [1, 2, 10]  # numeric order, not 1, 10, 2


def test_writing_is_atomic(tmp_path, gray_clip, monkeypatch):
    target = tmp_path / "out.gif"
    target.write_bytes(b"previous content")

    def broken_save(self, fp, *args, **kwargs):
        with open(fp, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(VideoFileError, match="disk full"):
        write_video(target, gray_clip, fps=10)
    assert target.read_bytes() == b"previous content"
    with pytest.raises(VideoFileError):
        write_video(tmp_path / "new.gif", gray_clip)
    with pytest.raises(VideoFileError):
        save_image(tmp_path / "img.png", gray_clip[0])
    with pytest.raises(VideoFileError):
        write_video(tmp_path / "frames", gray_clip)
    _only(tmp_path, "out.gif")
    monkeypatch.undo()

    def broken_np_save(f, arr, **kwargs):
        f.write(b"\x93NUMPY partial")
        raise OSError("boom")

    monkeypatch.setattr(vio.np, "save", broken_np_save)
    with pytest.raises(VideoFileError, match="boom"):
        write_video(tmp_path / "x.npy", gray_clip)
    monkeypatch.undo()

    def broken_av(av, tmp, *args):
        with open(tmp, "wb") as f:
            f.write(b"half a video")
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(vio, "_write_av", broken_av)
    with pytest.raises(VideoFileError, match="encoder crashed"):
        write_video(tmp_path / "x.mp4", gray_clip)
    _only(tmp_path, "out.gif")


def test_folder_replacement_rules(tmp_path, gray_clip, monkeypatch):
    write_video(tmp_path / "f", gray_clip, fps=10)
    write_video(tmp_path / "f", gray_clip[:3], fps=10)  # replaces an existing frame folder
    assert len(list((tmp_path / "f").iterdir())) == 3
    calls = {"n": 0}
    real_save = Image.Image.save

    def fail_on_second(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("no space")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", fail_on_second)
    with pytest.raises(VideoFileError, match="no space"):
        write_video(tmp_path / "f", gray_clip, fps=10)
    monkeypatch.undo()
    assert len(list((tmp_path / "f").iterdir())) == 3  # the old folder is intact
    _only(tmp_path, "f")
    other = tmp_path / "project"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(VideoFileError, match="refusing"):
        write_video(other, gray_clip)
    assert (other / "notes.txt").read_text() == "keep me"


def test_invalid_frames_write_nothing(tmp_path, gray_clip):
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        write_video(tmp_path / "a.gif", gray_clip * 2)
    with pytest.raises(InputError, match="channels"):
        write_video(tmp_path / "a.gif", torch.rand(3, 2, 8, 8))
    with pytest.raises(InputError, match=r"\(T, C, H, W\)"):
        write_video(tmp_path / "a.mp4", torch.rand(8, 8))
    with pytest.raises(InputError, match="fps"):
        write_video(tmp_path / "a.gif", gray_clip, fps=0)
    with pytest.raises(VideoFileError, match="cannot write"):
        write_video(tmp_path / "a.txt", gray_clip)
    assert list(tmp_path.iterdir()) == []


def test_missing_pyav_gives_install_hint(tmp_path, gray_clip, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` raise ImportError
    with pytest.raises(VideoFileError, match=r"pip install 'odevideo\[video\]'"):
        write_video(tmp_path / "a.mp4", gray_clip)
    (tmp_path / "b.mp4").write_bytes(b"x" * 10)
    with pytest.raises(VideoFileError, match="PyAV"):
        read_video(tmp_path / "b.mp4")
    write_video(tmp_path / "ok.gif", gray_clip)  # GIF needs no PyAV


def test_make_grid_and_save_image(tmp_path):
    imgs = torch.stack([torch.full((1, 4, 5), k / 10) for k in range(5)])
    grid = make_grid(imgs, nrow=3, padding=1, pad_value=1.0)
    assert grid.shape == (1, 2 * 5 + 1, 3 * 6 + 1)
    assert float(grid[0, 0, 0]) == 1.0  # padding
    assert torch.allclose(grid[:, 1:5, 1:6], imgs[0]) and torch.allclose(grid[:, 6:10, 7:12], imgs[4])
    assert float(grid[0, 6:10, 13:18].max()) == 1.0  # empty slot filled with pad_value
    path = save_image(tmp_path / "grid.png", grid)
    back = np.asarray(Image.open(path))
    assert back.shape == (11, 19) and back[1, 1] == 0 and back[7, 8] == round(0.4 * 255)
    save_image(tmp_path / "batch.png", torch.rand(6, 3, 8, 8), nrow=2)
    assert Image.open(tmp_path / "batch.png").size == (2 * 10 + 2, 3 * 10 + 2)
    save_image(tmp_path / "plain.jpg", torch.rand(8, 8))
    assert Image.open(tmp_path / "plain.jpg").format == "JPEG"
    with pytest.raises(InputError):
        save_image(tmp_path / "bad.png", torch.rand(2, 8, 8))
    _only(tmp_path, "grid.png", "batch.png", "plain.jpg")


@pytest.mark.parametrize("rotation, corner", [(0, (0, 0)), (-90, (0, 1)), (90, (1, 0)), (180, (1, 1))])
def test_video_frames_come_upright(tmp_path, rotation, corner):
    """A frame stored with a display rotation (phones record portrait video as rotated landscape frames) is read
    as players show it: a block in the stored frame's top-left corner ends up in ``corner`` (row, column)."""
    av = pytest.importorskip("av")
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.set_display_rotation(rotation)
        for _ in range(3):
            img = np.zeros((48, 64, 3), np.uint8)
            img[:12, :16] = 255
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    frames, _ = read_video(path, channels=1)
    quarter = rotation % 180 != 0
    assert frames.shape == (3, 1, *((64, 48) if quarter else (48, 64)))
    h, w = frames.shape[-2:]
    quadrants = frames[0, 0].reshape(2, h // 2, 2, w // 2).mean((1, 3))  # mean brightness per quadrant
    assert int(quadrants.argmax()) == 2 * corner[0] + corner[1] and float(quadrants.max()) > 0.15
