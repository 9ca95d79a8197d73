"""SIGKILL at every phase of a checkpoint save and during validation; ``--resume`` then finishes the run with the
weights of an uninterrupted one, bit for bit.

Each kill runs ``odevideo train`` in a subprocess (the WORKER script) that wraps one function of the save path
and kills its own process with SIGKILL at the n-th call, as a power cut or the OOM killer would: no cleanup,
no ``finally`` blocks. The resume runs in this process through the same command line. The phases:

``before_write``   entering ``save_checkpoint`` (the checkpoint of that name is the old one)
``temp_written``   the temporary file written and fsync'ed, not yet renamed (a stale temporary is left)
``renamed``        right after the one ``os.replace`` (the directory not yet fsync'ed)
``model_folder``   the best model's folder filled, not yet moved into place
``validation``     entering a validation

Each case names the checkpoint (or ``model`` / ``validation``) and which of its calls dies. Saves of the tiny run
(6 steps, validation and checkpoint every 3): after step 3 ``best`` (+ model folder), ``good``, ``last``; after
step 6 ``best`` if the score improved, ``good``, ``last``. A kill before the first checkpoint leaves nothing to
resume; a fresh start then works (tests/training/test_resume_safety.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from odevideo.checkpoints import load_checkpoint
from odevideo.cli.main import main
from odevideo.training.config import applicable_overrides

TIMEOUT_S = 120

WORKER = r'''
import os, signal, sys
from pathlib import Path
import odevideo.pretrained as pretrained_mod
import odevideo.checkpoints as ckpt_mod
import odevideo.training.trainer as trainer_mod
from odevideo.cli.main import main

point, name, at, argv = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
calls, saving = [0], [None]


def kill_at_call(this):
    if this == name:
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)


real_save = trainer_mod.save_checkpoint


def save(path, **kwargs):  # the name of the checkpoint being saved, for the phases below
    saving[0] = Path(path).name
    if point == "before_write":
        kill_at_call(saving[0])
    return real_save(path, **kwargs)


trainer_mod.save_checkpoint = save
if point == "temp_written":
    real_fsync = ckpt_mod.fsync_file

    def fsync_then_kill(path):
        real_fsync(path)
        kill_at_call(saving[0])

    ckpt_mod.fsync_file = fsync_then_kill
elif point == "renamed":
    real_fsync_dir = ckpt_mod.fsync_dir

    def kill_then_fsync_dir(path):
        kill_at_call(saving[0])
        real_fsync_dir(path)

    ckpt_mod.fsync_dir = kill_then_fsync_dir
elif point == "model_folder":
    real_dir = pretrained_mod.atomic_write_dir

    def write_dir(folder, fill):
        def fill_then_kill(tmp):
            fill(tmp)
            kill_at_call("model")

        return real_dir(folder, fill_then_kill)

    pretrained_mod.atomic_write_dir = write_dir
elif point == "validation":
    real_validate = trainer_mod.Trainer.validate

    def validate(self):
        kill_at_call("validation")
        return real_validate(self)

    trainer_mod.Trainer.validate = validate
elif point != "before_write":
    raise SystemExit(f"unknown kill point {point}")
sys.exit(main(argv))
'''

# (phase, what is being written, the call at which the process dies, the step --resume continues from)
CASES = [
    ("before_write", "last", 1, 3),  # the first last: good and best of step 3 exist
    ("temp_written", "last", 1, 3),  # its temporary written: a stale temporary is left
    ("renamed", "last", 1, 3),  # last of step 3 in place, the directory not fsync'ed
    ("temp_written", "last", 2, 6),  # the final last half written: good of step 6 is the newest
    ("model_folder", "model", 1, 3),  # best of step 3 saved, its model folder filled but not moved in
    ("validation", "validation", 2, 3),  # in the validation of step 6
]


def _args(tiny_overrides, out_dir, name, *extra):
    args = ["train", "--preset", "default", "--output-dir", str(out_dir)]
    for kv in applicable_overrides("default", [*tiny_overrides, f"name={name}", "train.threads=1", *extra]):
        args += ["--set", kv]
    return args


@pytest.fixture(scope="module")
def reference(tiny_overrides, tmp_path_factory):
    out = tmp_path_factory.mktemp("kill_ref")
    assert main(_args(tiny_overrides, out, "full")) == 0
    return load_checkpoint(out / "full" / "checkpoints" / "last")


@pytest.mark.parametrize("point,name,at,resume_step", CASES, ids=[f"{p}-{w}-{n}" for p, w, n, _ in CASES])
def test_kill_anywhere_then_resume_matches_the_uninterrupted_run(tiny_overrides, tmp_path, reference, point, name,
                                                                at, resume_step, capsys):
    args = _args(tiny_overrides, tmp_path, "run")
    proc = subprocess.run([sys.executable, "-c", WORKER, point, name, str(at), *args], capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert proc.returncode == -9, proc.stderr[-3000:]  # SIGKILL
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(args) == 2  # a fresh start is refused with the way to continue
    assert "continue it with --resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    assert f"at step {resume_step} (the newest intact checkpoint)" in capsys.readouterr().err
    got = load_checkpoint(run / "checkpoints" / "last")
    assert got.extra_state["step"] == 6
    for k, v in reference.model_state.items():
        assert torch.equal(got.model_state[k], v), k
    for idx, state in reference.optimizer_state["state"].items():
        for key, value in state.items():
            assert torch.equal(got.optimizer_state["state"][idx][key], value), (idx, key)
    log = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["kind"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in log if r["kind"] == "val"] == [3, 6]
    leftovers = [p.name for p in run.rglob(".*")]
    assert leftovers == [], leftovers  # no temporaries, no moved-aside folders
    assert sorted(p.name for p in (run / "model").iterdir()) == ["config.json", "model.safetensors"]
