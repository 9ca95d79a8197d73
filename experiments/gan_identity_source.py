"""Which code carries a TGAN generator's digit identity: the content code z0 or the frame codes z_t?

    python experiments/gan_identity_source.py RUN --digit-classifier runs/digit_classifier_mmnist32 [--num 64]

For pairs of random codes (i, j), frames are rendered from content z0_i with the frame codes z_t of j, and
labelled by the digit classifier of ``odevideo evaluate --metric digit_consistency``. If identity lives in the
content code, the mixed frames carry i's labels; if it lives in the frame codes, j's. The share of equal labels
between i's and j's own frames is the chance level. Prints and writes JSON (``--out``). TGAN runs only (MoCoGAN
has no separate frame-code branch).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from odevideo.configio import load_config
from odevideo.methods.video_gan.digit_scores import fit_digit_classifier
from odevideo.methods.video_gan.network_common import to_unit_range
from odevideo.methods.video_gan.tgan import TGANVideoGenerator
from odevideo.training import load_run
from odevideo.training.config import ExperimentConfig


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("run")
    p.add_argument("--digit-classifier", required=True, help="classifier checkpoint (trained and saved if missing)")
    p.add_argument("--num", type=int, default=64, help="code pairs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="JSON file to write")
    args = p.parse_args()
    model, _ = load_run(args.run)
    if not isinstance(model, TGANVideoGenerator):
        print(f"{args.run}: not a TGAN run ({type(model).__name__})", file=sys.stderr)
        return 2
    model.eval()
    cfg = load_config(ExperimentConfig, None, str(Path(args.run) / "config.yaml"), [])
    clf, info = fit_digit_classifier(cfg, path=args.digit_classifier, log=lambda m: print(m, file=sys.stderr))
    g = torch.Generator().manual_seed(args.seed)
    zi, zj = (torch.rand(args.num, model.z_dim, generator=g) * 2 - 1 for _ in range(2))
    times = torch.arange(model.n_frames, dtype=torch.float32)

    @torch.no_grad()
    def labels(content: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        b, t = codes.shape[:2]
        c = content[:, None].expand(b, t, content.shape[-1]).reshape(b * t, -1)
        frames = to_unit_range(model.image(c, codes.reshape(b * t, -1))).clamp(0, 1)
        return clf(frames).argmax(-1)

    with torch.no_grad():
        ci, cj = model.temporal(zi, times), model.temporal(zj, times)
    li, lj, mixed = labels(zi, ci), labels(zj, cj), labels(zi, cj)
    res = {
        "run": args.run, "pairs": args.num, "frames_per_clip": int(times.numel()), "seed": args.seed,
        "mixed_matches_content_source": float((mixed == li).float().mean()),
        "mixed_matches_frame_code_source": float((mixed == lj).float().mean()),
        "chance_i_equals_j": float((li == lj).float().mean()),
        "classifier_val_accuracy": info["val_accuracy"],
    }
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
