"""log.json: every line is strict JSON, whatever numbers a run logs."""
from __future__ import annotations

import json

import numpy as np

from lunzi.logger import FileSink, Logger


def strict(line: str) -> dict:
    """json.loads that refuses the NaN / Infinity literals Python's json writes by default."""
    def refuse(name: str) -> None:
        raise ValueError(f"bare {name} in log.json")
    return json.loads(line, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_strings(tmp_path):
    path = str(tmp_path / "log.json")
    log = Logger()
    log.sinks = [FileSink(path)]
    log.metrics("iteration", {"numpy nan": np.float64("nan"), "numpy inf": np.float32("inf"),
                              "float nan": float("nan"), "array": np.array([1.5, -np.inf]),
                              "nested": [np.float64("nan")], "finite": np.float64(2.5)})
    log.sinks[0].close()
    with open(path) as f:
        (record,) = [strict(line) for line in f]
    assert record["metrics"] == {"numpy nan": "nan", "numpy inf": "inf", "float nan": "nan", "array": [1.5, "-inf"],
                                 "nested": ["nan"], "finite": 2.5}
