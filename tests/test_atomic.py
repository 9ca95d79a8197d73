"""odevideo._atomic: temp file next to the target, os.replace on success, no leftovers on failure."""

import os
import stat
import sys

import pytest

from odevideo import _atomic
from odevideo._atomic import atomic_write, atomic_write_bytes, atomic_write_dir, atomic_write_text, temp_file


def _names(directory):
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("fsync", [False, True])
def test_success_writes_content(tmp_path, fsync):
    target = tmp_path / "deep" / "er" / "out.bin"  # parents are created
    assert atomic_write_bytes(target, b"\x00\x01payload", fsync=fsync) == target
    assert target.read_bytes() == b"\x00\x01payload"
    assert atomic_write_text(str(tmp_path / "t.txt"), "héllo\n", fsync=fsync) == tmp_path / "t.txt"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    seen = []

    def write(tmp):
        seen.append(tmp)
        assert tmp.parent == tmp_path and tmp.name.startswith(".f.png.") and tmp.name.endswith(".tmp.png")
        tmp.write_bytes(b"new")

    (tmp_path / "f.png").write_bytes(b"old")
    atomic_write(tmp_path / "f.png", write, suffix=".tmp.png", fsync=fsync)
    assert (tmp_path / "f.png").read_bytes() == b"new" and not seen[0].exists()
    assert _names(tmp_path) == ["deep", "f.png", "t.txt"]
    assert _names(tmp_path / "deep" / "er") == ["out.bin"]


@pytest.mark.parametrize("exc", [ValueError("bad"), KeyboardInterrupt()])
def test_failing_write_leaves_nothing_and_keeps_the_target(tmp_path, exc):
    def write(tmp):
        tmp.write_bytes(b"half")
        raise exc

    with pytest.raises(type(exc)):
        atomic_write(tmp_path / "new.bin", write)
    assert _names(tmp_path) == []  # neither the target nor a temp file

    (tmp_path / "old.bin").write_bytes(b"previous")
    with pytest.raises(type(exc)):
        atomic_write(tmp_path / "old.bin", write, fsync=True)
    assert _names(tmp_path) == ["old.bin"]
    assert (tmp_path / "old.bin").read_bytes() == b"previous"


def test_failing_rename_leaves_nothing(tmp_path, monkeypatch):
    (tmp_path / "c.yaml").write_text("old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_atomic.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(tmp_path / "c.yaml", "new")
    monkeypatch.undo()
    assert _names(tmp_path) == ["c.yaml"] and (tmp_path / "c.yaml").read_text() == "old"


def test_temp_file_is_removed_unless_moved(tmp_path):
    with temp_file(tmp_path / "a.json") as tmp:
        assert tmp.is_file() and tmp.parent == tmp_path and tmp.name.endswith(".tmp")
    assert _names(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):
        with temp_file(tmp_path / "a.json") as tmp:
            raise KeyboardInterrupt
    assert _names(tmp_path) == []
    with temp_file(tmp_path / "a.json", suffix=".part") as tmp:
        tmp.write_text("x")
        os.replace(tmp, tmp_path / "a.json")
    assert _names(tmp_path) == ["a.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_permissions_follow_the_umask(tmp_path, umask_027):
    atomic_write_bytes(tmp_path / "f", b"x")
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640
    atomic_write(tmp_path / "g", lambda tmp: tmp.write_bytes(b"y"))
    assert stat.S_IMODE((tmp_path / "g").stat().st_mode) == 0o640
    atomic_write_dir(tmp_path / "d", lambda tmp: (tmp / "a").write_bytes(b"z"))
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o750
    os.umask(0o022)
    atomic_write_text(tmp_path / "f", "x")  # replacing takes the new file's permissions
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644


def test_atomic_write_dir(tmp_path):
    def fill(names):
        def fn(tmp):
            assert tmp.is_dir() and tmp.parent == tmp_path
            for n in names:
                (tmp / n).write_text(n)

        return fn

    atomic_write_dir(tmp_path / "frames", fill(["a", "b", "c"]))
    assert _names(tmp_path / "frames") == ["a", "b", "c"]
    atomic_write_dir(tmp_path / "frames", fill(["x"]))  # replaces the existing folder
    assert _names(tmp_path / "frames") == ["x"]
    assert _names(tmp_path) == ["frames"]

    def broken(tmp):
        (tmp / "half").write_text("")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_dir(tmp_path / "frames", broken)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_dir(tmp_path / "new", broken)
    assert _names(tmp_path) == ["frames"] and _names(tmp_path / "frames") == ["x"]


def test_atomic_write_dir_puts_the_old_folder_back_if_the_final_rename_fails(tmp_path, monkeypatch):
    atomic_write_dir(tmp_path / "frames", lambda tmp: (tmp / "old").write_text("old"))
    real_replace = os.replace

    def replace(src, dst):
        if str(src).endswith(".tmp"):  # moving the new folder in
            raise OSError("no space")
        real_replace(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", replace)
    with pytest.raises(OSError, match="no space"):
        atomic_write_dir(tmp_path / "frames", lambda tmp: (tmp / "new").write_text("new"))
    monkeypatch.undo()
    assert _names(tmp_path) == ["frames"] and _names(tmp_path / "frames") == ["old"]


def test_remove_stale_temporaries(tmp_path):
    from odevideo._atomic import remove_stale_temporaries

    keep = ["last.safetensors", "metrics.jsonl", ".hidden", ".a.tmp", ".x.1234abcd.txt"]
    for name in keep:
        (tmp_path / name).write_text("k")
    stale = [".last.safetensors.0a1b2c3d.tmp", ".step_000003.png.deadbeef.tmp.png"]
    for name in stale:
        (tmp_path / name).write_text("partial")
    (tmp_path / ".model.01234567.tmp").mkdir()  # a folder being filled
    (tmp_path / ".model.01234567.tmp" / "config.json").write_text("{}")
    # a kill between atomic_write_dir's renames: the previous folder aside, the target missing: put back
    (tmp_path / ".samples.89abcdef.old").mkdir()
    (tmp_path / ".samples.89abcdef.old" / "x").write_text("previous")
    # a moved-aside folder whose target exists: the rename went through, only the deletion was missed
    (tmp_path / "best").mkdir()
    (tmp_path / ".best.fedcba98.old").mkdir()
    removed = remove_stale_temporaries(tmp_path)
    assert len(removed) == 5
    assert _names(tmp_path) == sorted([*keep, "samples", "best"])
    assert (tmp_path / "samples" / "x").read_text() == "previous"
    assert remove_stale_temporaries(tmp_path / "missing") == []
