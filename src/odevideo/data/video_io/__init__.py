"""Reading and writing clips: video files, GIFs, folders of frames and ``.npy`` arrays.

:mod:`~odevideo.data.video_io.readers` (one reader per format), :mod:`~odevideo.data.video_io.writers`,
:mod:`~odevideo.data.video_io.images` (grids, single images) and :mod:`~odevideo.data.video_io.formats`
(extension tables, the kind of a path, the order of file names).

Frames are float32 tensors ``(T, C, H, W)`` in ``[0, 1]`` with ``C`` = 1 (grayscale) or 3 (RGB).

Supported sources (chosen by the path):

=====================  =======================================================================
path                   handled as
=====================  =======================================================================
existing directory     a folder of frames: ``.png/.jpg/.jpeg/.bmp/.tif/.tiff/.webp`` files, sorted
                       by name with numbers compared numerically (``f2.png`` before ``f10.png``);
                       hidden files are ignored; all frames must have the same size
``.gif``               Pillow (no optional dependency)
``.mp4 .avi .mov``     PyAV (``pip install 'odevideo[video]'``), imported only when needed
``.mkv .webm .m4v``
``.y4m``               (YUV4MPEG2, uncompressed: the usual format of test sequences)
``.npy``               numpy array, rules below
=====================  =======================================================================

``.npy`` rules: a 3-D array is ``(T, H, W)`` grayscale. A 4-D array is ``(T, C, H, W)`` if its
second dim is 1 or 3 and its last is not, ``(T, H, W, C)`` if its last dim is 1 or 3 and its second is
not; when both or neither are 1/3 the layout is ambiguous/invalid and reading fails unless
``layout="TCHW"`` or ``"THWC"`` is passed. dtype ``uint8`` is scaled by 1/255; floating point data must
be finite and in ``[0, 1]``; other dtypes are rejected.

Channels (``channels=None``): video files give 3 (RGB); GIFs give 1 if their first frame is
grayscale (Pillow mode ``L``, as written by :func:`write_video` for 1-channel clips) and 3 otherwise;
frame folders give 1 if the first image is grayscale (modes L/LA/1) and 3 otherwise (alpha is
dropped); ``.npy`` gives what it stores.
``channels=1`` converts colour to luma (ITU-R 601); ``channels=3`` repeats grayscale.
Video frames come upright: a stream's display rotation (how phones store portrait video) is applied, as players
and FFmpeg's autorotate do.

Limits: a reader refuses a video with more than 100,000 frames, a frame of more than 2**25 pixels or more than
2**31 values in all (:class:`ReadLimits`; pass ``limits=ReadLimits(...)`` to change them), from the ``.npy``
header, the GIF screen, the stream's size or the number of frame files before it decodes anything, and frame by
frame for formats whose length is unknown up front.

``fps`` is returned for video files and GIFs (``None`` for folders and ``.npy``). A GIF's frame rate comes from
its frame durations; the ``odevideo fps=`` comment written by :func:`write_video` is used (for the exact rate and
to undo Pillow's merging of identical frames) only where it agrees with them.

Writing (:func:`write_video`, :func:`save_image`) is atomic: the output is written to a temporary
file (or folder) in the destination directory and moved into place with :func:`os.replace`, so an
error never leaves a half-written file behind and an existing file is only replaced on success.
Every failure to read or write a file raises :class:`odevideo.errors.VideoFileError` naming the file.
"""

from odevideo.data.video_io.formats import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, ReadLimits, natural_key
from odevideo.data.video_io.images import make_grid, save_image
from odevideo.data.video_io.readers import iter_video_frames, probe_frame_count, read_video
from odevideo.data.video_io.writers import write_video

__all__ = [
    "read_video",
    "iter_video_frames",
    "probe_frame_count",
    "write_video",
    "make_grid",
    "save_image",
    "VIDEO_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "natural_key",
    "ReadLimits",
]
