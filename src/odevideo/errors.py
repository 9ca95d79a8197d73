"""Exception types shared by every layer.

Each message names the problem *and* what to do about it. The command line turns any
:class:`OdevideoError` into a one-line message and exit status 2.
"""

from __future__ import annotations


class OdevideoError(Exception):
    """Base class of all errors raised on purpose by odevideo."""


class InputError(OdevideoError, ValueError):
    """Bad user input: wrong shapes, non-finite or non-increasing times, bad option values."""


class DatasetError(OdevideoError, FileNotFoundError):
    """A dataset is missing, incomplete, or fails its checksum."""


class VideoFileError(OdevideoError, OSError):
    """A video file is missing, empty, corrupt, or in a format that cannot be read or written."""


class CheckpointError(OdevideoError, OSError):
    """A checkpoint is missing, corrupt, or incompatible with the requested model."""


class ConfigError(OdevideoError, ValueError):
    """An unknown config key, a value of the wrong type, or an unreadable preset file."""


class TrainingDivergedError(OdevideoError, FloatingPointError):
    """The loss (or a gradient) became NaN or infinite during training."""
