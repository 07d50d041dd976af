"""The standard error of a mean, one formula for the training log, the report and the inspection tools."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def standard_error(values: Sequence[float], single: float = float("nan")) -> float:
    """Sample standard deviation (ddof=1) over sqrt(n); `single` when fewer than two values give no spread."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return single
    return float(array.std(ddof=1) / math.sqrt(len(array)))
