"""Bad command lines end in one line on stderr naming the option, exit status 2, no traceback, no file written.

Each case runs ``odevideo`` in-process (``main``); the subprocess tests check what a user sees: no traceback without
``--debug``, one with it, and a quiet end when stdout's reader has gone (``odevideo presets | head -1``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from odevideo.cli.main import main

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_overrides) -> Path:
    """A tiny trained run (2 steps) outside the tests' own tmp_path."""
    out = tmp_path_factory.mktemp("bad_input")
    sets = [x for o in [*tiny_overrides, "train.steps=2", "train.eval_every=2", "train.checkpoint_every=2"]
            for x in ("--set", o)]
    assert main(["train", "--preset", "default", *sets, "--set", "name=r", "--output-dir", str(out)]) == 0
    return out / "r"


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def _refused(argv: list[str], option: str, capsys, tmp_path: Path, run_dir: Path | None = None) -> str:
    """Run ``odevideo argv`` in tmp_path (holding the file ``afile``); assert the refusal; return the message."""
    before = _tree(run_dir) if run_dir is not None else None
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and "\n" not in err.rstrip("\n"), f"not one line: {err!r}"
    assert "Traceback" not in err and "error:" in err
    assert option in err, f"{option!r} not named in {err!r}"
    assert _tree(tmp_path) == ["afile"], "a refused command left files behind"
    if run_dir is not None:
        assert _tree(run_dir) == before, "a refused command wrote into the run directory"
    return err


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """tmp_path as the working directory, holding one regular file ``afile`` (to put paths under)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file, not a folder\n")
    return tmp_path


TRAIN_CASES = [
    (["--set", "train.steps=0"], "train.steps"),
    (["--set", "train.steps=-5"], "train.steps"),
    (["--set", "train.lr=nan"], "train.lr"),
    (["--set", "train.lr=-1"], "train.lr"),
    (["--set", "train.lr=0"], "train.lr"),
    (["--set", "train.lr=.inf"], "train.lr"),
    (["--set", "train.disc_lr=nan"], "train.disc_lr"),
    (["--set", "train.disc_lr=-1"], "train.disc_lr"),
    (["--set", "train.batch_size=0"], "train.batch_size"),
    (["--set", "eval.num_clips=0"], "eval.num_clips"),
    (["--set", "eval.interp_gap=1"], "eval.interp_gap"),
    (["--set", "train.max_minutes=-1"], "train.max_minutes"),
    (["--max-minutes", "-1"], "--max-minutes"),
    (["--max-minutes", "nan"], "--max-minutes"),
    (["--set", "name=../../../x"], "name"),
    (["--set", "name=a/b"], "name"),
    (["--set", "name=.."], "name"),
    (["--output-dir", "afile/runs"], "afile"),
]


@pytest.mark.parametrize("extra, option", TRAIN_CASES, ids=[" ".join(a) for a, _ in TRAIN_CASES])
def test_train_refuses(extra, option, in_tmp, capsys, tiny_overrides):
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    err = _refused(["train", "--preset", "default", *sets, "--output-dir", "runs", *extra], option, capsys, in_tmp)
    if option == "name":
        assert "output_dir" in err  # where the run directory goes is chosen there


def test_demo_refuses_an_output_dir_below_a_file(in_tmp, capsys):
    # before the default preset's data are built: the refusal is immediate
    _refused(["demo", "--output-dir", "afile/runs"], "afile", capsys, in_tmp)


def test_max_minutes_zero_saves_at_once(tmp_path, capsys, tiny_overrides):
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    assert main(["train", "--preset", "default", *sets, "--set", "name=z", "--output-dir", str(tmp_path),
                 "--max-minutes", "0"]) == 0
    assert "trained 0 steps" in capsys.readouterr().out
    assert (tmp_path / "z" / "checkpoints" / "last.safetensors").exists()


PREDICT_CASES = [
    (["--times", "0:inf:0.1"], "--times"),
    (["--times", "0,1e30"], "--times"),
    (["--times", "0:1e7:0.1"], "--times"),
    (["--times", "0:5000:0.01"], "--times"),  # 500,001 times: over the limit per call, refused before allocating
    (["--times", "nan,1"], "--times"),
    (["--times", "1:0:0.1"], "--times"),
    (["--times", "0:1:0"], "--times"),
    (["--times", "a,b"], "--times"),
    (["--fps-factor", "0"], "--fps-factor"),
    (["--fps-factor", "-2"], "--fps-factor"),
    (["--fps-factor", "1.5"], "--fps-factor"),
    (["--future", "-100"], "--future"),
    (["--future", "100000000"], "--future"),
    (["--max-input-frames", "-1"], "--max-input-frames"),
    (["--max-input-frames", "0"], "--max-input-frames"),
    (["--input-times", "0.3,0.2,0.1,0"], "--input-times"),
    (["--input-times", "0,0,0.1,0.2"], "--input-times"),
    (["--fps", "0"], "--fps"),
    (["--input-spacing", "0"], "--input-spacing"),
    (["--input-spacing", "-2"], "--input-spacing"),
    (["--input-spacing", "nan"], "--input-spacing"),
    (["--input-spacing", "2", "--input-times", "0,0.1,0.2,0.3"], "--input-spacing"),
    (["--sample", "-1"], "--sample"),
    (["--output", "out.xyz"], "--output"),
    (["--output", "afile/out.npy"], "--output"),
]


@pytest.mark.parametrize("extra, option", PREDICT_CASES, ids=[" ".join(a) for a, _ in PREDICT_CASES])
def test_predict_refuses(extra, option, run_dir, in_tmp, capsys):
    argv = ["predict", str(run_dir), *(["--sample", "0"] if "--sample" not in extra else []), *extra]
    if "--output" not in extra:
        argv += ["--output", "out.npy"]
    _refused(argv, option, capsys, in_tmp, run_dir)


OTHER_CASES = [
    (["evaluate", "{run}", "--num-clips", "-5"], "--num-clips"),
    (["evaluate", "{run}", "--num-clips", "0"], "--num-clips"),
    (["evaluate", "{run}", "--repeats", "0"], "--repeats"),
    (["evaluate", "{run}", "--interp-gap", "1"], "--interp-gap"),
    (["evaluate", "{run}", "--out", "afile/eval"], "--out"),
    (["latents", "{run}", "--out", "lat.xyz"], "--out"),
    (["latents", "{run}", "--out", "lat"], "--out"),
    (["latents", "{run}", "--out", "afile/lat.png"], "--out"),
    (["latents", "{run}", "--num-clips", "0", "--out", "lat.png"], "--num-clips"),
    (["generate", "{run}", "--num", "0", "--output", "g.gif"], "--num"),
    (["generate", "{run}", "--fps-factor", "0", "--output", "g.gif"], "--fps-factor"),
    (["generate", "{run}", "--scale", "0", "--output", "g.gif"], "--scale"),
    (["generate", "{run}", "--times", "0:inf:1", "--output", "g.gif"], "--times"),
    (["generate", "{run}", "--output", "g.xyz"], "--output"),
    (["generate", "{run}", "--output", "afile/g.gif"], "--output"),
    (["experiment", "sampling-rate", "{run}", "--num-clips", "0", "--out", "exp"], "--num-clips"),
    (["experiment", "sampling-rate", "{run}", "--rates", "0,2", "--out", "exp"], "--rates"),
    (["experiment", "frame-rate", "{run}", "--factor", "0", "--out", "exp"], "--factor"),
    (["experiment", "frame-rate", "{run}", "--out", "afile/exp"], "--out"),
]


@pytest.mark.parametrize("argv, option", OTHER_CASES, ids=[" ".join(a).replace(" {run}", "") for a, _ in OTHER_CASES])
def test_command_refuses(argv, option, run_dir, in_tmp, capsys):
    _refused([a.replace("{run}", str(run_dir)) for a in argv], option, capsys, in_tmp, run_dir)


def test_evaluate_refuses_non_positive_clip_counts_in_python(run_dir):
    from odevideo.errors import InputError
    from odevideo.training import evaluate, load_run

    model, cfg = load_run(run_dir)
    with pytest.raises(InputError, match="num_clips"):
        evaluate(model, cfg, num_clips=-5)


def test_config_check_is_the_trainers(tiny_config):
    from odevideo.errors import ConfigError
    from odevideo.training import Trainer

    for override, key in (("train.lr=nan", "train.lr"), ("train.steps=0", "train.steps"), ("name=../x", "name")):
        with pytest.raises(ConfigError, match=key):
            Trainer(tiny_config(override))


def _odevideo(*args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "odevideo", *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          env=ENV, timeout=120)


def test_no_traceback_without_debug(run_dir, tmp_path):
    out = str(tmp_path / "o.npy")
    p = _odevideo("predict", str(run_dir), "--sample", "0", "--times", "0:inf:0.1", "--output", out)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1
    assert "--times" in p.stderr
    p = _odevideo("--debug", "predict", str(run_dir), "--sample", "0", "--times", "0:inf:0.1", "--output", out)
    assert p.returncode != 0 and "Traceback" in p.stderr and "InputError" in p.stderr
    p = _odevideo("predict", str(run_dir), "--sample", "0", "--times", "0:inf:0.1", "--output", out, "--debug")
    assert "Traceback" in p.stderr  # --debug also after the subcommand
    assert not Path(out).exists()


def test_closed_stdout_ends_quietly():
    """``odevideo presets | head -1``: the reader is gone before the first write (deterministic)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        p = _odevideo("presets", stdout=write_end)
    finally:
        os.close(write_end)
    assert p.stderr == ""
    assert p.returncode == 141  # as a process ended by SIGPIPE
