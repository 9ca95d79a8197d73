import gzip
import hashlib
import io
import shutil

import numpy as np
import pytest
import torch

import odevideo.data.mnist as mnist
from odevideo.data import download_mnist, load_mnist, parse_idx, read_idx, write_idx
from odevideo.errors import DatasetError, InputError


# ---------------------------------------------------------------------- IDX format
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    arr = (rng.random((3, 4, 5)) * 100).astype(dtype)
    path = write_idx(tmp_path / f"x-idx3{suffix}", arr)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_idx_header_layout():
    data = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))
    np.testing.assert_array_equal(parse_idx(data), np.arange(6, dtype=np.uint8).reshape(2, 3))
    big = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2]) + b"\x01\x02\xff\xfe"
    np.testing.assert_array_equal(parse_idx(big), np.array([258, -2], dtype=np.int16))


@pytest.mark.parametrize(
    "data, match",
    [
        (b"\x00\x00", "only 2 bytes"),
        (bytes([1, 0, 8, 1, 0, 0, 0, 1, 7]), "magic"),
        (bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 7]), "type code"),
        (bytes([0, 0, 8, 0]), "0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 1]), "truncated IDX header"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]), "truncated IDX file"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 1, 1, 2]), "unexpected bytes"),
    ],
)
def test_corrupt_idx_raises_dataset_error(data, match):
    with pytest.raises(DatasetError, match=match):
        parse_idx(data, "test.idx")


def test_truncated_gzip_and_missing_file(tmp_path):
    path = write_idx(tmp_path / "a.gz", np.zeros((50, 28, 28), dtype=np.uint8) + 7)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetError, match="gzip"):
        read_idx(path)
    with pytest.raises(DatasetError, match="not found"):
        read_idx(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):  # DatasetError is a FileNotFoundError
        read_idx(tmp_path / "missing")


# ---------------------------------------------------------------------- synthetic MNIST-like files
def _fake_split(directory, split, n, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    img_name, lab_name = mnist.MNIST_FILES[split]
    ext = ".gz" if gz else ""
    write_idx(directory / (img_name + ext), images)
    write_idx(directory / (lab_name + ext), labels)
    return images, labels


def _md5_of(path):
    return hashlib.md5(read_idx_bytes(path)).hexdigest()


def read_idx_bytes(path):
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _forbid_download(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("download attempted")

    monkeypatch.setattr(mnist, "download_mnist", fail)
    monkeypatch.setattr(mnist, "_urlopen", fail)


@pytest.mark.parametrize("gz", [True, False])
def test_data_dir_is_used_without_download(tmp_path, monkeypatch, gz):
    images, labels = _fake_split(tmp_path, "test", 30, gz=gz)
    _forbid_download(monkeypatch)
    x, y = load_mnist("test", data_dir=tmp_path, download=True)
    assert x.dtype == torch.uint8 and x.shape == (30, 28, 28) and y.dtype == torch.int64
    np.testing.assert_array_equal(x.numpy(), images)
    np.testing.assert_array_equal(y.numpy(), labels)
    # returned tensors are copies: modifying them does not poison the in-process cache
    x.zero_()
    assert torch.equal(load_mnist("test", data_dir=tmp_path)[0], torch.from_numpy(images))


def test_data_dir_torchvision_layout(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    images, _ = _fake_split(raw, "train", 12, gz=False)
    _forbid_download(monkeypatch)
    x, _ = load_mnist("train", data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(x.numpy(), images)


def test_missing_files_without_download(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_mnist("train", data_dir=tmp_path / "nowhere", download=False, cache_dir=tmp_path / "cache")
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "nowhere") in msg and str(tmp_path / "cache") in msg
    assert "data.data_dir" in msg and "download" in msg
    with pytest.raises(InputError, match="split"):
        load_mnist("validation", data_dir=tmp_path)


def test_mismatched_image_and_label_counts(tmp_path):
    _fake_split(tmp_path, "test", 10)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(9, dtype=np.uint8))
    with pytest.raises(DatasetError, match="do not belong together"):
        load_mnist("test", data_dir=tmp_path, download=False)


def test_verify_checks_md5_of_data_dir_files(tmp_path):
    _fake_split(tmp_path, "test", 10)
    load_mnist("test", data_dir=tmp_path, download=False)  # structure only: fine
    with pytest.raises(DatasetError, match="MD5"):
        load_mnist("test", data_dir=tmp_path, download=False, verify=True)


# ---------------------------------------------------------------------- downloader (never the network)
@pytest.fixture
def fake_official(tmp_path, monkeypatch):
    """Synthetic test-split files registered as the 'official' ones (patched MD5 table)."""
    src = tmp_path / "mirror"
    src.mkdir()
    images, labels = _fake_split(src, "test", 20)
    for name in mnist.MNIST_FILES["test"]:
        monkeypatch.setitem(mnist.MNIST_MD5, name, _md5_of(src / (name + ".gz")))
    return src, images, labels


def test_download_from_file_mirror_with_fallback(tmp_path, fake_official):
    src, images, labels = fake_official
    cache = tmp_path / "cache"
    dead = (tmp_path / "dead").as_uri() + "/"
    paths = download_mnist("test", cache_dir=cache, mirrors=[dead, src.as_uri()])  # no trailing slash
    assert [p.name for p in paths] == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in paths)  # no temp files left
    np.testing.assert_array_equal(read_idx(paths[0]), images)
    # now cached: loading works without download
    x, y = load_mnist("test", download=False, cache_dir=cache)
    np.testing.assert_array_equal(y.numpy(), labels)


def test_download_checksum_mismatch_leaves_nothing(tmp_path, fake_official):
    src, _, _ = fake_official
    evil = tmp_path / "evil"
    evil.mkdir()
    _fake_split(evil, "test", 20, seed=123)  # same names, different content
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError) as err:
        download_mnist(names=["t10k-labels-idx1-ubyte"], cache_dir=cache, mirrors=[evil.as_uri() + "/"])
    assert "checksum mismatch" in str(err.value) and "data.data_dir" in str(err.value)
    assert list(cache.iterdir()) == []
    # a bad first mirror falls through to a good one
    path = download_mnist(names=["t10k-labels-idx1-ubyte"], cache_dir=cache, mirrors=[evil.as_uri(), src.as_uri()])[0]
    assert path.exists() and len(list(cache.iterdir())) == 1


def test_load_mnist_downloads_through_default_mirrors(tmp_path, monkeypatch, fake_official):
    src, images, _ = fake_official
    requested = []

    def opener(request, timeout=None):
        url = request.full_url
        requested.append(url)
        return io.BytesIO((src / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(mnist, "_urlopen", opener)
    x, _ = load_mnist("test", download=True)  # default cache dir = $ODEVIDEO_CACHE/mnist (a temp dir here)
    np.testing.assert_array_equal(x.numpy(), images)
    assert requested == [mnist.MNIST_MIRRORS[0] + n + ".gz" for n in mnist.MNIST_FILES["test"]]
    assert (mnist.default_cache_dir() / "t10k-images-idx3-ubyte.gz").is_file()
    requested.clear()
    load_mnist("test", download=True)
    assert requested == []  # served from the cache


def test_corrupt_cache_is_redownloaded(tmp_path, monkeypatch, fake_official):
    src, _, labels = fake_official
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(src / "t10k-images-idx3-ubyte.gz", cache)
    (cache / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01garbage")
    with pytest.raises(DatasetError, match="checksum"):
        load_mnist("test", download=False, cache_dir=cache)
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", (src.as_uri() + "/",))
    _, y = load_mnist("test", download=True, cache_dir=cache)
    np.testing.assert_array_equal(y.numpy(), labels)
    assert not (cache / "t10k-labels-idx1-ubyte").exists()


def test_real_file_downloads_with_official_checksum(tmp_path, mnist_dir):
    from odevideo.data import find_mnist_file

    src = find_mnist_file("t10k-labels-idx1-ubyte", [mnist_dir])
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    if src.name.endswith(".gz"):
        shutil.copy(src, mirror / "t10k-labels-idx1-ubyte.gz")
    else:
        (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(src.read_bytes()))
    path = download_mnist(
        names=["t10k-labels-idx1-ubyte"], cache_dir=tmp_path / "c", mirrors=[mirror.as_uri() + "/"]
    )[0]
    assert read_idx(path).shape == (10000,)


# ---------------------------------------------------------------------- the real files
def test_real_mnist_files(mnist_dir):
    x, y = load_mnist("train", data_dir=mnist_dir, download=False, verify=True)
    assert x.shape == (60000, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (60000,) and int(y.min()) == 0 and int(y.max()) == 9
    xt, yt = load_mnist("test", data_dir=mnist_dir, download=False, verify=True)
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert [int(v) for v in yt[:5]] == [7, 2, 1, 0, 4]  # well-known first test labels
    assert 30 < float(x[:1000].float().mean()) < 40  # mean MNIST intensity is about 33
    # in-process cache: a second load decodes nothing (no timing: CI machines are shared)
    from odevideo.data import mnist as mnist_mod

    hits = mnist_mod._read_idx_cached.cache_info().hits
    load_mnist("train", data_dir=mnist_dir, download=False, verify=True)
    assert mnist_mod._read_idx_cached.cache_info().hits == hits + 2  # images and labels
