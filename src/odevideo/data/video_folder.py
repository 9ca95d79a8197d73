"""Datasets over folders of real videos: one clip per file or per folder of frames.

:class:`VideoFolderDataset` is the generic loader; the papers' named datasets build on it through
:class:`~odevideo.data.paper_dataset.PaperVideoDataset`.

Clips
    Every video file, ``.gif``, ``.npy`` and folder of frame images is one clip, listed in a fixed
    natural order (:mod:`odevideo.data.clip_files`); they are decoded with
    :func:`odevideo.data.read_video` (see :mod:`odevideo.data.video_io` for the formats, the ``.npy``
    layout rules and channel conversion). With ``recursive=True`` sub-folders without frame images
    are searched too.

Items
    ``dataset[i]`` is a float32 ``(num_frames, C, H, W)`` tensor in ``[0, 1]`` (or a dict
    ``{"frames", "label"}`` with ``return_label=True``). The pipeline is: decode -> temporal window
    (every ``frame_stride``-th frame) -> crop -> resize -> optional flip/rotation -> ``transform``.

Windows and determinism
    ``window="random"`` draws the window start uniformly over *all* positions (the last one
    included), ``"first"`` starts at frame 0, ``"center"`` centres the window. The randomness of
    item ``i`` (window start, flip, angle) comes from its own generator seeded with
    ``(seed, epoch, i)``, so ``dataset[i]`` is a pure function of ``(seed, epoch, i)``: the same in
    every run, worker and access order. Call :meth:`VideoFolderDataset.set_epoch` to draw fresh
    windows/augmentations for a new pass over the data.

Speed
    Decoding always starts at a source's first frame and stops after the window's last frame
    (``read_video(max_frames=...)``). A clip's length is known without decoding for ``.npy`` files
    (memory-mapped) and frame folders; video files and GIFs are decoded in full the first time a
    random or centred window is drawn from them (the length is then cached per process). For long
    videos read many times, converting them once to ``.npy`` or frame folders is much faster.

Errors (never silent)
    A missing or empty folder raises :class:`~odevideo.errors.DatasetError` at construction; a clip
    that cannot be decoded raises :class:`~odevideo.errors.DatasetError` (chained to the
    :class:`~odevideo.errors.VideoFileError`) naming the file when it is loaded; a clip shorter than
    the window raises unless ``short_clips`` says otherwise. :meth:`VideoFolderDataset.check` decodes
    every clip once and reports all problems together.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from odevideo.data.batch import DEFAULT_FRAME_DT, ClipDataset, non_negative_int, positive_float, positive_int
from odevideo.data.clip_files import VideoClip, clips_by_class_folder
from odevideo.data.transforms import (
    _size2,
    center_crop,
    center_crop_square,
    hflip,
    make_generator,
    resize,
    rotate,
    sample_flip_rotate,
    window_start,
)
from odevideo.data.video_io import iter_video_frames, probe_frame_count, read_video
from odevideo.errors import DatasetError, InputError, VideoFileError

__all__ = ["VideoFolderDataset", "leave_out_short"]

T = TypeVar("T")

_STREAM_TAG = 0x56464C44  # separates these datasets' generators from other seeded streams
_SHORT_POLICIES = ("error", "pad", "skip")


# ====================================================================== dataset
class VideoFolderDataset(ClipDataset):
    """Fixed-length clips from a folder of videos (see the module docstring).

    Args:
        root: folder with one clip per file (``.mp4/.avi/.gif/.npy`` ...) or per sub-folder of frames.
        num_frames: frames per item ``T`` (>= 1).
        size: output frame size: int (square) or ``(h, w)``; ``None`` keeps the (cropped) source size.
        window: ``"random"`` (training), ``"first"`` or ``"center"`` (evaluation).
        seed: base seed of the per-item generators (non-negative int).
        frame_stride: take every ``frame_stride``-th frame (a window spans ``(T - 1) * stride + 1`` frames).
        crop: applied before resizing: ``None``, ``"center"`` (largest centred square) or an int /
            ``(h, w)`` centred box.
        channels: 1, 3 (default; grayscale is repeated) or ``None`` (each source's natural channels).
        augment: random horizontal flip (probability ``flip_prob``) and rotation in
            ``[-max_rotation, max_rotation]`` degrees, drawn once per item.
        flip_prob: probability of the flip when ``augment``.
        max_rotation: rotation range in degrees when ``augment`` (10 in the Vid-ODE paper).
        rotation_padding: how rotated-in corners are filled: ``"zeros"``, ``"border"``, ``"reflection"``.
        resize_mode: ``"bilinear"`` (default), ``"bicubic"``, ``"nearest-exact"`` or ``"area"``.
        antialias: antialiased shrinking (see :mod:`odevideo.data.transforms`).
        short_clips: what to do with a clip shorter than the window: ``"error"`` (default: raise
            :class:`DatasetError` when it is loaded), ``"pad"`` (repeat its last frame) or ``"skip"``
            (measure every clip at construction -- this decodes videos and GIFs once -- and leave the
            short ones out; they are listed in :attr:`skipped` and reported with a warning).
        recursive: search sub-folders of ``root`` too.
        extensions: accepted file extensions (default: all clip types).
        label_from_folder: give every clip the label of its first-level sub-folder (sorted names,
            index into :attr:`class_names`); needs ``recursive=True`` for class-folder layouts.
        return_label: items are ``{"frames": tensor, "label": int}`` instead of the bare tensor.
        npy_layout: ``"TCHW"`` or ``"THWC"`` for ``.npy`` clips whose layout is ambiguous.
        transform: optional callable applied to the final ``(T, C, H, W)`` tensor.
        frame_dt: time between two returned frames (time units), used by :meth:`collate_fn`.
        clips: explicit :class:`VideoClip` list instead of listing ``root`` (used by subclasses).
        class_names: names of the label indices when ``clips`` carry labels.

    Attributes:
        clips: the :class:`VideoClip` of every index. ``class_names``: label names (or ``None``).
        skipped: ``(clip, num_frames)`` of clips left out by ``short_clips="skip"``.
    """

    #: How to get labels, said when ``return_label=True`` meets clips without one.
    labels_help: ClassVar[str] = "use label_from_folder=True (class sub-folders) or a dataset with labels"

    def __init__(
        self,
        root: str | os.PathLike[str],
        num_frames: int,
        size: int | Sequence[int] | None = None,
        *,
        window: str = "random",
        seed: int = 0,
        frame_stride: int = 1,
        crop: str | int | Sequence[int] | None = None,
        channels: int | None = 3,
        augment: bool = False,
        flip_prob: float = 0.5,
        max_rotation: float = 10.0,
        rotation_padding: str = "zeros",
        resize_mode: str = "bilinear",
        antialias: bool = True,
        short_clips: str = "error",
        recursive: bool = False,
        extensions: Sequence[str] | None = None,
        label_from_folder: bool = False,
        return_label: bool = False,
        npy_layout: str | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        frame_dt: float = DEFAULT_FRAME_DT,
        clips: Sequence[VideoClip] | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.root = Path(root)
        self.num_frames = positive_int(num_frames, "num_frames")
        self.frame_stride = positive_int(frame_stride, "frame_stride")
        self.size = None if size is None else _size2(size)
        if window not in ("random", "first", "center"):
            raise InputError(f"window must be 'random', 'first' or 'center', got {window!r}")
        self.window = window
        self.seed = non_negative_int(seed, "seed")
        self.epoch = 0
        if crop is not None and crop != "center":
            crop = _size2(crop, "crop")
        self.crop = crop
        if channels not in (None, 1, 3):
            raise InputError(f"channels must be 1, 3 or None, got {channels!r}")
        self.channels = channels
        self.augment = bool(augment)
        self.flip_prob = float(flip_prob)
        self.max_rotation = float(max_rotation)
        if not 0.0 <= self.flip_prob <= 1.0:
            raise InputError(f"flip_prob must be in [0, 1], got {flip_prob!r}")
        if not math.isfinite(self.max_rotation) or self.max_rotation < 0:
            raise InputError(f"max_rotation must be a finite number >= 0 (degrees), got {max_rotation!r}")
        if rotation_padding not in ("zeros", "border", "reflection"):
            raise InputError(f"rotation_padding must be 'zeros', 'border' or 'reflection', got {rotation_padding!r}")
        self.rotation_padding = rotation_padding
        if resize_mode not in ("bilinear", "bicubic", "nearest-exact", "area"):
            raise InputError(
                f"resize_mode must be 'bilinear', 'bicubic', 'nearest-exact' or 'area', got {resize_mode!r}"
            )
        self.resize_mode = resize_mode
        self.antialias = bool(antialias)
        if short_clips not in _SHORT_POLICIES:
            raise InputError(f"short_clips must be one of {', '.join(_SHORT_POLICIES)}, got {short_clips!r}")
        self.short_clips = short_clips
        if npy_layout not in (None, "TCHW", "THWC"):
            raise InputError(f"npy_layout must be None, 'TCHW' or 'THWC', got {npy_layout!r}")
        self.npy_layout = npy_layout
        self.return_label = bool(return_label)
        self.transform = transform
        self.frame_dt = positive_float(frame_dt, "frame_dt")
        self._lengths: dict[VideoClip, int] = {}

        if clips is None:
            clips, class_names = clips_by_class_folder(self.root, recursive, extensions, label_from_folder)
        self.clips: list[VideoClip] = list(clips)
        self.class_names = None if class_names is None else list(class_names)
        if not self.clips:
            raise DatasetError(f"{self._name()}: no clips to load under {self.root}")
        unlabeled = [c for c in self.clips if c.label is None]
        if self.return_label and unlabeled:
            raise InputError(
                f"{self._name()}: return_label=True but {len(unlabeled)} of {len(self.clips)} clips carry no labels "
                f"(e.g. {unlabeled[0].path}); {self.labels_help}"
            )
        self.skipped: list[tuple[VideoClip, int]] = []
        if self.short_clips == "skip":
            self._drop_short_clips()

    # ------------------------------------------------------------------ construction helpers
    def _name(self) -> str:
        return type(self).__name__

    def _drop_short_clips(self) -> None:
        kept, self.skipped = leave_out_short(
            self.clips, self.clip_length, self.span, self._name(), "clips", stacklevel=3
        )
        if not kept:
            raise DatasetError(
                f"{self._name()}: all {len(self.clips)} clips under {self.root} are shorter than the {self.span}-frame "
                f"window (num_frames={self.num_frames}, frame_stride={self.frame_stride}); use fewer frames"
            )
        self.clips = kept

    # ------------------------------------------------------------------ properties
    @property
    def span(self) -> int:
        """Number of source frames a window covers: ``(num_frames - 1) * frame_stride + 1``."""
        return (self.num_frames - 1) * self.frame_stride + 1

    @property
    def labels(self) -> list[int | None]:
        """The label of every clip (``None`` entries when the dataset has no labels)."""
        return [c.label for c in self.clips]

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of pass ``epoch`` (new windows and augmentations per epoch)."""
        self.epoch = non_negative_int(epoch, "epoch")

    # ------------------------------------------------------------------ dataset protocol
    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> Any:
        i = self._check_index(index)
        return self._make_item(i, self.clips[i])

    def _make_item(self, i: int, clip: VideoClip) -> Any:
        """Item ``i`` cut from ``clip`` (its window, crop, resize, augmentation drawn from ``i``)."""
        frames, _ = self._load_window(i, clip)
        return self._finish_item(i, self._spatial(frames, clip), clip)

    def _finish_item(self, i: int, frames: torch.Tensor, clip: VideoClip) -> Any:
        """Augmentation (drawn from ``i``), clamp, ``transform`` and label of cropped and resized frames."""
        if self.augment:
            flip, angle = sample_flip_rotate(
                self._generator(i, 1), flip_prob=self.flip_prob, max_degrees=self.max_rotation
            )
            if flip:
                frames = hflip(frames)
            frames = rotate(frames, angle, padding_mode=self.rotation_padding)
        frames = frames.clamp_(0.0, 1.0).contiguous()
        if self.transform is not None:
            frames = self.transform(frames)
        if self.return_label:
            return {"frames": frames, "label": clip.label}
        return frames

    # ------------------------------------------------------------------ introspection
    def clip_info(self, index: int) -> dict[str, Any]:
        """How item ``index`` is made: ``path``, ``label``, ``source_start``/``source_stop`` (the clip's
        range in its source), ``num_source_frames``, ``window_start`` (first frame of the window inside
        the clip), ``frame_indices`` (source frame indices of the returned frames; the last frame is
        repeated when a short clip is padded), ``flip`` and ``angle`` (``None`` without augmentation).
        May decode the clip to learn its length."""
        i = self._check_index(index)
        clip = self.clips[i]
        _, start = self._load_window(i, clip)
        n = self.clip_length(clip)
        idx = [min(start + k * self.frame_stride, n - 1) + clip.start for k in range(self.num_frames)]
        flip = angle = None
        if self.augment:
            flip, angle = sample_flip_rotate(
                self._generator(i, 1), flip_prob=self.flip_prob, max_degrees=self.max_rotation
            )
        return {
            "path": clip.path,
            "label": clip.label,
            "source_start": clip.start,
            "source_stop": clip.stop,
            "num_source_frames": n,
            "window_start": start,
            "frame_indices": idx,
            "flip": flip,
            "angle": angle,
        }

    def clip_length(self, clip: VideoClip | int) -> int:
        """Number of frames of a clip (an index or a :class:`VideoClip`); cached. Decodes videos/GIFs."""
        if not isinstance(clip, VideoClip):
            clip = self.clips[self._check_index(clip)]
        if clip not in self._lengths:
            n = probe_frame_count(clip.path)
            if n is None:
                n = 0
                with self._decoding(clip) as frames:
                    for _ in frames:
                        n += 1
                        if clip.stop is not None and n >= clip.stop:
                            break
            stop = n if clip.stop is None else min(n, clip.stop)
            self._lengths[clip] = max(0, stop - clip.start)
        return self._lengths[clip]

    def check(self, raise_errors: bool = True) -> list[tuple[Path, str]]:
        """Decode every clip once; collect unreadable and too-short clips.

        Returns ``(path, problem)`` pairs (empty = all fine). With ``raise_errors`` a non-empty list
        raises one :class:`DatasetError` listing them all (the first 20 in full).
        """
        problems: list[tuple[Path, str]] = []
        for clip in self.clips:
            try:
                n = self.clip_length(clip)
                if n < self.span and self.short_clips == "error":
                    problems.append((clip.path, f"{n} frames, shorter than the {self.span}-frame window"))
                elif n == 0:
                    problems.append((clip.path, "no frames in the clip's range"))
            except DatasetError as e:
                problems.append((clip.path, str(e.__cause__ or e)))
        if problems and raise_errors:
            lines = "\n".join(f"  {p}: {msg}" for p, msg in problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise DatasetError(
                f"{self._name()}: {len(problems)} of {len(self.clips)} clips under {self.root} have problems; "
                f"fix, re-extract or remove them:\n{lines}{more}"
            )
        return problems

    # ------------------------------------------------------------------ internals
    def _generator(self, i: int, stream: int) -> torch.Generator:
        return make_generator(_STREAM_TAG, self.seed, self.epoch, i, stream)

    def _layout(self, path: Path) -> str | None:
        return self.npy_layout if path.suffix.lower() == ".npy" and path.is_file() else None

    @contextlib.contextmanager
    def _decoding(self, clip: VideoClip):
        """The frames of ``clip``'s file, one at a time; a read error becomes the dataset's one-line error, and the
        file is closed however the block ends."""
        frames = self._open_frames(clip.path, clip)
        try:
            yield frames
        except VideoFileError as e:
            raise self._read_error(clip, e) from e
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    def _open_frames(self, path: Path, clip: VideoClip):
        try:
            return iter_video_frames(path, channels=self.channels, layout=self._layout(path))
        except VideoFileError as e:
            raise self._read_error(clip, e) from e

    def _read_error(self, clip: VideoClip, e: Exception) -> DatasetError:
        return DatasetError(
            f"{self._name()}: cannot read clip {clip.name}: {e}. Re-download/re-extract or delete this file "
            f"(unreadable clips are never skipped silently; dataset.check() lists all of them)"
        )

    def _read(self, clip: VideoClip, max_frames: int | None) -> torch.Tensor:
        try:
            frames, _ = read_video(
                clip.path, channels=self.channels, layout=self._layout(clip.path), max_frames=max_frames
            )
        except VideoFileError as e:
            raise self._read_error(clip, e) from e
        return frames[clip.start : clip.stop]

    def _load_window(self, i: int, clip: VideoClip) -> tuple[torch.Tensor, int]:
        """Decode just enough of the clip and cut the window; returns ``(frames, window_start)``."""
        span = self.span
        g = self._generator(i, 0)
        n = self._lengths.get(clip)
        if n is None:
            cheap = probe_frame_count(clip.path)
            if cheap is not None:
                stop = cheap if clip.stop is None else min(cheap, clip.stop)
                n = self._lengths[clip] = max(0, stop - clip.start)
        if n is None and self.window == "first":
            frames = self._read(clip, clip.start + span)
            if frames.shape[0] >= span:
                return frames[:span:self.frame_stride].clone(), 0
            self._lengths[clip] = frames.shape[0]
            return self._pad_short(frames, clip), 0
        if n is None:
            frames = self._read(clip, clip.stop)
            n = self._lengths[clip] = frames.shape[0]
        else:
            frames = None
        if n < span:
            if frames is None:
                frames = self._read(clip, clip.stop)
            return self._pad_short(frames, clip), 0
        start = window_start(n, span, self.window, g)
        if frames is None:
            frames = self._read(clip, clip.start + start + span)
            if frames.shape[0] < start + span:  # the header promised more frames than were decodable
                raise DatasetError(
                    f"{self._name()}: clip {clip.name} has {n} frames according to its header but only "
                    f"{frames.shape[0]} could be read; re-create the file"
                )
        return frames[start : start + span : self.frame_stride].clone(), start

    def _pad_short(self, frames: torch.Tensor, clip: VideoClip) -> torch.Tensor:
        n = frames.shape[0]
        if n == 0:
            raise DatasetError(
                f"{self._name()}: clip {clip.name} has no frames in its range; check the file or its frame range"
            )
        if self.short_clips != "pad":
            raise DatasetError(
                f"{self._name()}: clip {clip.name} has {n} frames but a window of num_frames={self.num_frames} "
                f"with frame_stride={self.frame_stride} needs {self.span}; use fewer frames or a smaller stride, "
                f"short_clips='pad' (repeat the last frame) or short_clips='skip' (leave short clips out)"
            )
        idx = torch.arange(self.num_frames) * self.frame_stride
        return frames[idx.clamp(max=n - 1)].clone()

    def _spatial(self, frames: torch.Tensor, clip: VideoClip) -> torch.Tensor:
        """Crop then resize (subclasses with another recipe override this)."""
        try:
            if self.crop == "center":
                frames = center_crop_square(frames)
            elif self.crop is not None:
                frames = center_crop(frames, self.crop)
        except InputError as e:
            raise DatasetError(
                f"{self._name()}: clip {clip.name} has {frames.shape[-2]}x{frames.shape[-1]} frames, too small for "
                f"the {self.crop[0]}x{self.crop[1]} crop; use a smaller crop= or crop='center'"
            ) from e
        if self.size is not None:
            frames = resize(frames, self.size, mode=self.resize_mode, antialias=self.antialias)
        return frames

    def __repr__(self) -> str:
        return (
            f"{self._name()}(root={str(self.root)!r}, clips={len(self.clips)}, num_frames={self.num_frames}, "
            f"size={self.size}, window={self.window!r}, frame_stride={self.frame_stride}, crop={self.crop!r}, "
            f"channels={self.channels}, augment={self.augment}, seed={self.seed}, epoch={self.epoch})"
        )


def leave_out_short(
    items: Sequence[T], length: Callable[[T], int], span: int, owner: str, what: str, stacklevel: int = 2
) -> tuple[list[T], list[tuple[T, int]]]:
    """``short_clips="skip"``: the items with at least ``span`` frames, and ``(item, frames)`` of the
    others, which a warning reports (``owner: left out k of n <what> ...``)."""
    kept: list[T] = []
    skipped: list[tuple[T, int]] = []
    for item in items:
        n = length(item)
        if n < span:
            skipped.append((item, n))
        else:
            kept.append(item)
    if skipped:
        warnings.warn(
            f"{owner}: left out {len(skipped)} of {len(items)} {what} shorter than the {span}-frame window "
            f"(short_clips='skip'); see dataset.skipped",
            stacklevel=stacklevel + 1,
        )
    return kept, skipped
