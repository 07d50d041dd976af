"""A fixed-capacity ring buffer of structured samples (a numpy record array)."""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

import numpy as np

FIELDS = {
    "state": lambda s, a: ("state", "f8", (s,)),
    "action": lambda s, a: ("action", "f8", (a,)),
    "next_state": lambda s, a: ("next_state", "f8", (s,)),
    "reward": lambda s, a: ("reward", "f8"),
    "done": lambda s, a: ("done", "?"),
    "timeout": lambda s, a: ("timeout", "?"),
}


def gen_dtype(dim_state: int, dim_action: int, fields: str = "state action next_state reward done timeout") -> np.dtype:
    return np.dtype([FIELDS[f](dim_state, dim_action) for f in fields.split()])


class Dataset:
    """Ring buffer: once full, new samples overwrite the oldest. Storage order is insertion order
    modulo the capacity, so consecutive indices are consecutive samples (except at the write head,
    where the newest sample sits before the oldest)."""

    def __init__(self, dtype: np.dtype, max_size: int):
        self.dtype = np.dtype(dtype)
        self.max_size = int(max_size)
        self._storage = np.zeros(self.max_size, dtype=self.dtype).view(np.recarray)
        self._index = 0
        self._len = 0

    @classmethod
    def from_records(cls, records: np.ndarray, max_size: Optional[int] = None) -> "Dataset":
        ds = cls(records.dtype, max_size or max(len(records), 1))
        ds.extend(records)
        return ds

    def __len__(self) -> int:
        return self._len

    def size(self) -> int:
        return self._len

    @property
    def data(self) -> np.recarray:
        """The stored samples (a view in storage order)."""
        return self._storage[:self._len]

    def in_order(self) -> np.recarray:
        """The stored samples oldest first (a copy once the buffer has wrapped)."""
        if self._len < self.max_size or self._index == 0:
            return self.data
        return np.concatenate([self._storage[self._index:], self._storage[:self._index]]).view(np.recarray)

    def __getitem__(self, index) -> np.recarray:
        return self.data[index]

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_") or name not in self.__dict__.get("dtype", np.dtype([])).names:
            raise AttributeError(name)
        return self.data[name]

    def clear(self) -> None:
        self._index = 0
        self._len = 0

    def append(self, record) -> None:
        self._storage[self._index] = record
        self._index = (self._index + 1) % self.max_size
        self._len = min(self._len + 1, self.max_size)

    def extend(self, records: np.ndarray) -> None:
        records = records[-self.max_size:]
        n = len(records)
        head = min(n, self.max_size - self._index)
        self._storage[self._index:self._index + head] = records[:head]
        self._storage[:n - head] = records[head:]
        self._index = (self._index + n) % self.max_size
        self._len = min(self._len + n, self.max_size)

    def sample(self, size: int) -> np.recarray:
        return self.data[np.random.randint(0, self._len, size=size)]

    def sample_multi_step(self, size: int, n_step: int) -> np.recarray:
        """`size` windows of `n_step` consecutive samples, shaped [n_step, size]."""
        starts = np.random.randint(0, self._len, size=size)
        indices = (starts[None, :] + np.arange(n_step)[:, None]) % self._len
        return self.data[indices]

    def iterator(self, batch_size: int) -> Iterator[np.recarray]:
        """Shuffled full minibatches (the remainder is dropped)."""
        indices = np.random.permutation(self._len)
        for start in range(0, self._len - batch_size + 1, batch_size):
            yield self.data[indices[start:start + batch_size]]

    def state_arrays(self) -> Tuple[np.ndarray, int, int]:
        """(filled storage, index, length): everything needed to restore the buffer exactly."""
        return self._storage[:self._len].copy(), self._index, self._len

    def load_state_arrays(self, storage: np.ndarray, index: int, length: int) -> None:
        self._storage[:len(storage)] = storage
        self._index, self._len = int(index), int(length)
