"""`odevideo train --data PATH`: a video file (or folder of them) split in time, in one option."""

from __future__ import annotations

import torch
import yaml

from odevideo.cli.main import main
from odevideo.data import write_video


def test_train_on_a_video_file(tmp_path, capsys, tiny_overrides):
    clip = tmp_path / "clip.avi"
    g = torch.Generator().manual_seed(0)
    write_video(clip, torch.rand(100, 3, 20, 24, generator=g), fps=25)  # 80 / 10 / 10 frames
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    assert main(["train", "--preset", "default", *sets, "--set", "train.steps=2", "--set", "name=own",
                 "--output-dir", str(tmp_path / "runs"), "--data", str(clip)]) == 0
    data = yaml.safe_load((tmp_path / "runs" / "own" / "config.yaml").read_text())["data"]
    assert data["dataset"] == "video_file" and data["data_dir"] == str(clip.resolve())
    assert data["image_size"] == 16 and data["split"] == [0.8, 0.1, 0.1]  # every other value as configured
    assert "trained 2 steps" in capsys.readouterr().out
    folder = tmp_path / "own"
    for split in ("train", "val", "test"):
        write_video(folder / split / "x.avi", torch.rand(10, 3, 20, 24, generator=g), fps=25)
    assert main(["train", "--preset", "default", *sets, "--set", "train.steps=2", "--set", "name=own2",
                 "--output-dir", str(tmp_path / "runs"), "--data", str(folder)]) == 0
    data = yaml.safe_load((tmp_path / "runs" / "own2" / "config.yaml").read_text())["data"]
    assert data["dataset"] == "video_folder"  # train/ val/ test/ sub-folders are used as they are

def test_train_data_must_exist(tmp_path, capsys, tiny_overrides):
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    capsys.readouterr()
    assert main(["train", "--preset", "default", *sets, "--output-dir", str(tmp_path / "runs"),
                 "--data", str(tmp_path / "missing.mp4")]) == 2
    err = capsys.readouterr().err
    assert "--data" in err and "missing.mp4" in err and "\n" not in err.rstrip("\n") and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
