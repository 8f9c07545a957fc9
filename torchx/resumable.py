"""The training loader both entries iterate, so that a run stopped inside an epoch resumes exactly there.

`resumable(loader, seed)` rebuilds a data module's train loader as a `ResumableLoader`: the same dataset
and settings, its order a function of (seed, epoch) alone (`EpochSampler`, a `DistributedSampler`: one
replica on one device, this rank's shard once a process group exists, however the ranks were started),
so the epoch a run stopped in can be replayed; and it can start an epoch at any batch, skipping the
trained ones by index (no data is loaded for them).

Lightning saves and restores its state by itself: it keeps a `state_dict`/`load_state_dict` of each
train loader in the checkpoint and restores it on a mid-epoch resume, and it leaves a loader with a
`DistributedSampler` as it is under DDP. The plain entry calls `set_epoch` and `resume_at` itself.
Torch-only (no Lightning): the plain entry imports it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch.distributed as dist
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, RandomSampler, SequentialSampler

_OWN_SETTINGS = ("self", "shuffle", "sampler", "batch_sampler")


def data_seed(config: Mapping[str, Any], run_name: str) -> int:
    """The run's seed, or one derived from its name: every rank and every resume of a run agree on it."""
    seed = config.get("seed")
    return int(seed) if seed is not None else zlib.crc32(run_name.encode())


class EpochSampler(DistributedSampler[int]):
    """A DistributedSampler whose next pass may start `start` samples in (a resumed epoch), built for one
    replica and following the process group once there is one."""

    start = 0

    def __init__(self, dataset: Any, shuffle: bool, seed: int) -> None:
        super().__init__(dataset, num_replicas=1, rank=0, shuffle=shuffle, seed=seed)

    def __len__(self) -> int:
        self._follow_group()
        return super().__len__()

    def __iter__(self) -> Iterator[int]:
        self._follow_group()
        start, self.start = self.start, 0
        indices = list(super().__iter__())
        return iter(indices[start:])

    def _follow_group(self) -> None:
        """Shard for this rank of the process group (Lightning starts it after the loaders are built)."""
        if not (dist.is_available() and dist.is_initialized()):
            return
        world, rank = dist.get_world_size(), dist.get_rank()
        if (world, rank) != (self.num_replicas, self.rank):
            epoch = self.epoch
            super().__init__(self.dataset, world, rank, self.shuffle, self.seed, self.drop_last)
            self.epoch = epoch


class ResumableLoader(DataLoader[Any]):
    """A DataLoader with an `EpochSampler` that counts the batches it served in the current epoch."""

    sampler: EpochSampler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resume_at: tuple[int, int] | None = None  # (epoch, batch) the next pass of that epoch starts at
        self._epoch = self._served = 0

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def resume_at(self, epoch: int, batch: int) -> None:
        """Start the pass over `epoch` at `batch` (the batches before it were trained before a stop)."""
        self._resume_at = (epoch, batch)

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]  # a generator over DataLoader's iterator
        epoch = self.sampler.epoch
        start = self._resume_at[1] if self._resume_at and self._resume_at[0] == epoch else 0
        self._resume_at = None
        self.sampler.start = start * (self.batch_size or 1)
        self._epoch, self._served = epoch, start
        for batch in super().__iter__():
            self._served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        """Where the current epoch is: Lightning stores it in a checkpoint saved inside an epoch."""
        return {"epoch": self._epoch, "batches": self._served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.resume_at(state["epoch"], state["batches"])


def resumable(loader: DataLoader[Any], seed: int) -> DataLoader[Any]:
    """`loader` as a ResumableLoader over the same dataset with the same settings; `loader` itself when its
    order is its own (a DataLoader subclass, a custom sampler or batch sampler)."""
    if type(loader) is not DataLoader or type(loader.batch_sampler) is not BatchSampler \
            or type(loader.sampler) not in (RandomSampler, SequentialSampler):
        return loader
    order = EpochSampler(loader.dataset, shuffle=isinstance(loader.sampler, RandomSampler), seed=seed)
    return ResumableLoader(sampler=order, **_settings(loader))


def _settings(loader: DataLoader[Any]) -> dict[str, Any]:
    """The constructor arguments that rebuild `loader`, but for its order."""
    import inspect

    names = inspect.signature(DataLoader.__init__).parameters
    return {name: getattr(loader, name) for name in names
            if name not in _OWN_SETTINGS and hasattr(loader, name)}
