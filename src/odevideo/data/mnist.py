"""MNIST: an IDX file reader/writer, a checksummed downloader and :func:`load_mnist`.

Where :func:`load_mnist` looks for the four MNIST files, in order:

1. ``data_dir`` (if given): ``<data_dir>``, ``<data_dir>/mnist``, ``<data_dir>/MNIST/raw`` and
   ``<data_dir>/MNIST``, each as ``name`` or ``name.gz`` (also the ``name.idx3-ubyte`` spelling).
   Files found there are used as they are and nothing is downloaded. Their structure is always
   validated; their MD5 only with ``verify=True`` (so custom IDX subsets can be used).
2. the cache directory (``cache_dir``, default :func:`default_cache_dir`), MD5-checked.
3. if ``download=True``: :func:`download_mnist` fetches the file into the cache directory from
   :data:`MNIST_MIRRORS` (tried in order), checks the MD5 of the *uncompressed* content against
   :data:`MNIST_MD5` and moves it into place atomically (temporary file, then ``os.replace``).

Decoded arrays are cached in-process (keyed by path, size and modification time), so repeated
calls do not re-read the files.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from odevideo._atomic import atomic_write_bytes
from odevideo.errors import DatasetError, InputError

__all__ = [
    "MNIST_MIRRORS",
    "MNIST_FILES",
    "MNIST_MD5",
    "read_idx",
    "parse_idx",
    "write_idx",
    "default_cache_dir",
    "find_mnist_file",
    "download_mnist",
    "load_mnist",
]

#: Mirrors tried in order by :func:`download_mnist`; each serves ``<mirror><name>.gz``.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: ``split -> (images file, labels file)`` (names without ``.gz``).
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: MD5 of the *uncompressed* content of each file.
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_GZIP_MAGIC = b"\x1f\x8b"

# Indirection so that tests can replace the network opener (never call the real network in tests).
_urlopen = urllib.request.urlopen


# ---------------------------------------------------------------------- IDX format
def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode the content of an (uncompressed) IDX file.

    Layout: two zero bytes, a type code byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), a byte with the number of dims ``n``, ``n`` big-endian uint32
    sizes, then the data in row-major order.

    Args:
        data: the file content.
        source: name used in error messages.

    Returns:
        A numpy array in native byte order (read-only for uint8/int8 data).

    Raises:
        DatasetError: bad magic number, unknown type code, zero dims, truncated or oversized data.
    """
    fix = "delete the file and download it again (or copy an intact one)"
    if len(data) < 4:
        raise DatasetError(f"{source}: not an IDX file (only {len(data)} bytes, header needs 4); {fix}")
    if data[0] != 0 or data[1] != 0:
        raise DatasetError(
            f"{source}: not an IDX file (bad magic number 0x{data[:4].hex()}; the first two bytes must be 0); {fix}"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise DatasetError(f"{source}: unknown IDX data type code 0x{code:02x} (corrupt header); {fix}")
    if ndim < 1:
        raise DatasetError(f"{source}: IDX header declares 0 dimensions (corrupt header); {fix}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{source}: truncated IDX header ({len(data)} bytes, needs {header}); {fix}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got < expected:
        raise DatasetError(
            f"{source}: truncated IDX file: header declares shape {dims} ({expected} data bytes) but only "
            f"{got} bytes follow; {fix}"
        )
    if got > expected:
        raise DatasetError(
            f"{source}: corrupt IDX file: {got - expected} unexpected bytes after the declared shape {dims}; {fix}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=int(np.prod(dims, dtype=np.int64)), offset=header).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def _read_bytes(path: Path) -> bytes:
    """File content, gunzipped when it starts with the gzip magic number."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found; check the path (or let odevideo download the dataset)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read file ({e}); check its permissions") from e
    return _maybe_gunzip(data, str(path))


def _maybe_gunzip(data: bytes, source: str) -> bytes:
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(
            f"{source}: corrupt or truncated gzip data ({e}); delete the file and download it again"
        ) from e


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw; detected from the content, not the name).

    Raises:
        DatasetError: missing, unreadable, corrupt or truncated file (see :func:`parse_idx`).
    """
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path))


def write_idx(path: str | os.PathLike[str], array: np.ndarray | torch.Tensor) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends with ``.gz``), atomically.

    Supported dtypes: uint8, int8, int16, int32, float32, float64.
    """
    path = Path(path)
    arr = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
    code = None
    for c, dt in _IDX_DTYPES.items():
        if np.dtype(dt).newbyteorder("=") == arr.dtype.newbyteorder("="):
            code = c
            break
    if code is None:
        raise InputError(
            f"write_idx: dtype {arr.dtype} is not representable in IDX; use uint8, int8, int16, int32, "
            f"float32 or float64"
        )
    if arr.ndim < 1 or arr.ndim > 255:
        raise InputError(f"write_idx: array must have 1..255 dims, got {arr.ndim}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=np.dtype(_IDX_DTYPES[code])).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    atomic_write_bytes(path, payload)
    return path


# ---------------------------------------------------------------------- locating / caching
def default_cache_dir() -> Path:
    """Where downloaded MNIST files live: ``$ODEVIDEO_CACHE/mnist`` if ``ODEVIDEO_CACHE`` is set,
    else ``$XDG_CACHE_HOME/odevideo/mnist`` (``~/.cache/odevideo/mnist``)."""
    root = os.environ.get("ODEVIDEO_CACHE")
    if root:
        return Path(root).expanduser() / "mnist"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "odevideo" / "mnist"


def _candidate_dirs(directory: Path) -> list[Path]:
    return [directory, directory / "mnist", directory / "MNIST" / "raw", directory / "MNIST"]


def _candidate_names(name: str) -> list[str]:
    alt = name.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
    names = [name, name + ".gz"]
    if alt != name:
        names += [alt, alt + ".gz"]
    return names


def find_mnist_file(name: str, directories: Iterable[str | os.PathLike[str]]) -> Path | None:
    """First existing file for MNIST file ``name`` (e.g. ``"t10k-labels-idx1-ubyte"``) in the
    usual places under each of ``directories`` (see the module docstring), or ``None``."""
    for directory in directories:
        for d in _candidate_dirs(Path(directory).expanduser()):
            for n in _candidate_names(name):
                p = d / n
                if p.is_file():
                    return p
    return None


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, size: int, mtime_ns: int) -> tuple[np.ndarray, str]:
    """(array, md5 of the uncompressed content), cached per (path, size, mtime)."""
    data = _read_bytes(Path(path))
    arr = parse_idx(data, path)
    arr.flags.writeable = False
    return arr, hashlib.md5(data).hexdigest()


def _read_idx_with_md5(path: Path) -> tuple[np.ndarray, str]:
    try:
        st = path.stat()
    except OSError as e:
        raise DatasetError(f"{path}: cannot access file ({e})") from e
    return _read_idx_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


def _has_official_md5(path: Path, name: str) -> bool:
    """Whether ``path`` decodes and its uncompressed content has the official MD5 of ``name``."""
    try:
        return _read_idx_with_md5(path)[1] == MNIST_MD5[name]
    except DatasetError:
        return False


# ---------------------------------------------------------------------- download
def download_mnist(
    split: str | None = None,
    *,
    names: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float = 60.0,
    force: bool = False,
) -> list[Path]:
    """Download MNIST files into ``cache_dir`` and verify their checksums.

    Args:
        split: ``"train"`` or ``"test"`` (its two files); ``None`` with ``names=None`` = all four files.
        names: explicit file names from :data:`MNIST_MD5` (overrides ``split``).
        cache_dir: destination directory; default :func:`default_cache_dir`.
        mirrors: base URLs tried in order (a missing trailing ``/`` is added); the file
            ``<mirror><name>.gz`` is fetched with :mod:`urllib` (``file://`` URLs work too).
            Default: :data:`MNIST_MIRRORS` (looked up at call time).
        timeout: per-request timeout in seconds.
        force: download even if a verified copy is already cached.

    Returns:
        The paths of the cached files.

    Raises:
        DatasetError: every mirror failed for a file (network error or checksum mismatch); the
            message lists each mirror's failure. Nothing is left behind on failure.
    """
    if names is None:
        if split is None:
            names = [n for pair in MNIST_FILES.values() for n in pair]
        else:
            names = list(_split_files(split))
    for n in names:
        if n not in MNIST_MD5:
            raise InputError(f"unknown MNIST file {n!r}; known files: {sorted(MNIST_MD5)}")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(
            f"cannot create the MNIST cache directory {cache} ({e}); set ODEVIDEO_CACHE to a writable directory"
        ) from e
    if mirrors is None:
        mirrors = MNIST_MIRRORS
    out = []
    for n in names:
        existing = None if force else find_mnist_file(n, [cache])
        if existing is not None and _has_official_md5(existing, n):
            out.append(existing)
            continue
        out.append(_download_one(n, cache, mirrors, timeout))
    return out


def _download_one(name: str, cache: Path, mirrors: Sequence[str], timeout: float) -> Path:
    expected = MNIST_MD5[name]
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url = f"{url}{name}.gz"
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "odevideo"})
            with _urlopen(request, timeout=timeout) as response:
                raw = response.read()
            is_gz = raw[:2] == _GZIP_MAGIC
            content = _maybe_gunzip(raw, url)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError, DatasetError) as e:
            failures.append(f"{url}: {e}")
            continue
        md5 = hashlib.md5(content).hexdigest()
        if md5 != expected:
            failures.append(f"{url}: checksum mismatch (MD5 of the uncompressed content is {md5}, expected {expected})")
            continue
        # only a verified download reaches the disk, and atomically
        return atomic_write_bytes(cache / (f"{name}.gz" if is_gz else name), raw)
    details = "; ".join(failures) if failures else "no mirrors given"
    raise DatasetError(
        f"could not download MNIST file {name} ({details}). Fix: check the network connection, or download "
        f"{name}.gz by hand into a directory and pass it with `--set data.data_dir=/that/dir` (data_dir=... in Python)"
    )


# ---------------------------------------------------------------------- loading
def _split_files(split: str) -> tuple[str, str]:
    if split not in MNIST_FILES:
        raise InputError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
    return MNIST_FILES[split]


def _locate(
    name: str,
    data_dir: str | os.PathLike[str] | None,
    download: bool,
    cache_dir: str | os.PathLike[str] | None,
    verify: bool,
) -> tuple[Path, bool]:
    """Path of MNIST file ``name`` and whether its MD5 must be checked."""
    if data_dir is not None:
        p = find_mnist_file(name, [data_dir])
        if p is not None:
            return p, verify
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    p = find_mnist_file(name, [cache])
    if p is not None:
        if _has_official_md5(p, name):
            return p, True
        if not download:
            raise DatasetError(
                f"cached MNIST file {p} fails its checksum (corrupt or incomplete); delete it and allow the "
                f"download (download=True), or point `--set data.data_dir=...` at intact files"
            )
    if download:
        dest = download_mnist(names=[name], cache_dir=cache, force=p is not None)[0]
        if p is not None and p != dest:
            p.unlink(missing_ok=True)  # the bad cached copy would otherwise shadow the fresh one
        return dest, True
    bases = ([data_dir] if data_dir is not None else []) + [cache]
    looked = [str(d) for base in bases for d in _candidate_dirs(Path(base))]
    raise DatasetError(
        f"MNIST file {name} (or {name}.gz) not found; looked in: {', '.join(looked)}. Fix: put the MNIST files in "
        f"one of these directories and pass it with `--set data.data_dir=/path/to/mnist` (data_dir=... in Python), "
        f"or allow the download (download=True)"
    )


def _load_mnist_arrays(
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    verify: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Read-only numpy arrays ``(images uint8 (N, H, W), labels (N,))`` shared with the in-process cache."""
    image_name, label_name = _split_files(split)
    arrays = []
    for name in (image_name, label_name):
        path, check = _locate(name, data_dir, download, cache_dir, verify)
        arr, md5 = _read_idx_with_md5(path)
        if check and md5 != MNIST_MD5[name]:
            raise DatasetError(
                f"{path}: MD5 of the uncompressed content is {md5}, expected {MNIST_MD5[name]} for {name}; "
                f"the file is corrupt or not the official MNIST file -- replace it (or load with verify=False)"
            )
        arrays.append((path, arr))
    (ipath, images), (lpath, labels) = arrays
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(
            f"{ipath}: expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}; "
            f"this is not an MNIST image file"
        )
    if labels.ndim != 1:
        raise DatasetError(
            f"{lpath}: expected labels of shape (N,), got {labels.shape}; this is not an MNIST label file"
        )
    if labels.shape[0] != images.shape[0]:
        raise DatasetError(
            f"MNIST {split} split: {images.shape[0]} images ({ipath}) but {labels.shape[0]} labels ({lpath}); "
            f"the two files do not belong together -- replace them"
        )
    return images, labels


def load_mnist(
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    verify: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one MNIST split.

    Args:
        split: ``"train"`` (60000 digits) or ``"test"`` (10000 digits).
        data_dir: directory with local copies of the files (``.gz`` or raw); used first, never downloads.
        download: fetch missing files into the cache directory (see :func:`download_mnist`).
        cache_dir: cache directory (default :func:`default_cache_dir`).
        verify: also check the MD5 of files found in ``data_dir`` (cached/downloaded files are always checked).

    Returns:
        ``(images, labels)``: a uint8 tensor ``(N, 28, 28)`` and an int64 tensor ``(N,)``
        (fresh copies; the decoded files are cached in-process).

    Raises:
        DatasetError: files missing (with ``download=False``), corrupt, or failing their checksum.
    """
    images, labels = _load_mnist_arrays(split, data_dir, download, cache_dir, verify)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
