"""Ornstein–Uhlenbeck exploration noise added to a policy's actions during data collection."""
from __future__ import annotations

from typing import Callable, Tuple

import numpy as np


class OUNoise:
    def __init__(self, shape: Tuple[int, ...], mu: float = 0.0, theta: float = 0.15, sigma: float = 0.3):
        self.shape, self.mu, self.theta, self.sigma = shape, mu, theta, sigma
        self.state = np.full(shape, mu)

    def reset(self) -> None:
        self.state = np.full(self.shape, self.mu)

    def next(self) -> np.ndarray:
        self.state = self.state + self.theta * (self.mu - self.state) + self.sigma * np.random.randn(*self.shape)
        return self.state

    def wrap(self, act: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        """An actor that adds the next noise sample to `act`'s actions."""
        return lambda states: act(states) + self.next()
