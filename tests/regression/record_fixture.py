"""Record the behaviour fixture: for one tiny config of every method, a hash of the initial parameters (model
and critics) and the metrics of the first 5 seeded training steps. Run once before a refactor:

    python tests/regression/record_fixture.py tests/regression/fixture.json

``test_regression.py`` rebuilds the same configs and compares.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile

import torch


def state_hash(module) -> str:
    h = hashlib.sha256()
    if module is None:
        return ""
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def run_case(cfg, steps: int = 5) -> dict:
    from odevideo.training import Trainer

    t = Trainer(cfg)
    out = {"model_hash": state_hash(t.model), "critics_hash": state_hash(t.critics), "steps": []}
    for _ in range(steps):
        metrics = t._train_step()
        t.step += 1
        out["steps"].append({k: float(v) for k, v in sorted(metrics.items()) if isinstance(v, (int, float))})
    return out


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from cases import CASES, build_config

    torch.set_num_threads(1)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            result[name] = run_case(build_config(name, tmp))
            print(name, result[name]["steps"][-1].get("loss"), flush=True)
    with open(sys.argv[1], "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
