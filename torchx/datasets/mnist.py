"""MNIST from the standard IDX files in `load/mnist` (nothing is downloaded at run time)."""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from torchx.datasets.base import DataModule
from torchx.datasets.tools import register
from torchx.errors import UserError
from torchx.registry import require

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def find_idx(root: Path, stem: str) -> Path | None:
    """The IDX file `stem` in `root`, plain or gzipped."""
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (magic, dims, big-endian sizes, unsigned bytes)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise UserError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise UserError(f"{path}: holds {data.size} values, its header says {dims}")
    return data.reshape(dims)


@register("mnist")
class MNIST(DataModule):
    """28×28 digits; the last `val_size` training images are the validation split, t10k the test split."""

    def __init__(self, root: str = "load/mnist", val_size: int = 5000, **loader_args: Any) -> None:
        super().__init__(**loader_args)
        self.root, self.val_size = Path(root), val_size

    @classmethod
    def check_args(cls, args: Mapping[str, Any]) -> None:
        super().check_args(args)
        require(args, "val_size", lambda v: v >= 0, "must be an integer ≥ 0")

    def validate(self) -> None:
        missing = [stem for stem in FILES.values() if find_idx(self.root, stem) is None]
        if missing:
            raise UserError(
                f"MNIST files missing in {self.root}/: {', '.join(missing)} (.gz or plain); "
                f"download the four IDX files from the MNIST site into {self.root}/"
            )

    def _tensors(self, images: str, labels: str) -> TensorDataset:
        x = read_idx(find_idx(self.root, FILES[images]))  # type: ignore[arg-type]
        y = read_idx(find_idx(self.root, FILES[labels]))  # type: ignore[arg-type]
        return TensorDataset(torch.from_numpy(x.copy()).float().unsqueeze(1) / 255.0,
                             torch.from_numpy(y.astype(np.int64)))

    def load(self) -> tuple[Dataset[Any], Dataset[Any], Dataset[Any]]:
        self.validate()
        train = self._tensors("train_images", "train_labels")
        n = len(train)
        val_size = min(self.val_size, n // 2)
        return (Subset(train, range(n - val_size)), Subset(train, range(n - val_size, n)),
                self._tensors("test_images", "test_labels"))
