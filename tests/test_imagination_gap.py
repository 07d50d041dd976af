"""docs/results/imagination_gap.py: imagined vs real return per stage, from a log.json."""
from __future__ import annotations

import importlib.util
import json
import os

from tests.conftest import ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("imagination_gap",
                                                  os.path.join(ROOT, "docs", "results", "imagination_gap.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_table_pairs_last_trpo_batches_with_the_next_real_evaluation(tmp_path):
    records = []
    real = {0: -300.0, 1: 150.0, 2: 480.0}
    # imagined[stage][iteration] = returns of TRPO steps 0 and 1 of that iteration
    imagined = {0: [[10.0, 100.0], [20.0, 300.0]], 1: [[5.0, 900.0], [7.0, 1100.0]]}
    for stage in (0, 1):
        records.append({"level": "info", "message": f"------ Starting Stage {stage} --------"})
        records.append({"level": "metrics", "tag": "stage",
                        "metrics": {"stage": stage, "return mean Real Env": real[stage]}})
        for returns in imagined[stage]:
            records.extend({"level": "info", "message": f"[TRPO] # {j}: n_episodes = 4, returns: {{mean = "
                                                        f"{value:.0f}, sem = 0}}, dist std = 1"}
                           for j, value in enumerate(returns))
    records.append({"level": "metrics", "tag": "final", "metrics": {"stage": 2, "return mean Real Env": real[2]}})
    (tmp_path / "log.json").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"cut short')
    rows = load_script().stage_table(str(tmp_path / "log.json"))
    # Per stage: mean over iterations of the last TRPO step's imagined return; the real return after it.
    assert rows == [(0, 200.0, 150.0), (1, 1000.0, 480.0)]
