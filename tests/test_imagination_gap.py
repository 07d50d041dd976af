"""docs/results/imagination_gap.py: imagined vs real return per stage, from a log.json."""
from __future__ import annotations

import json
import os

from slbo import logs
from tests.conftest import results_script


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
    run = tmp_path / "sweep" / "slbo_seed1"
    run.mkdir(parents=True)
    (run / "config.yml").write_text("seed: 1\n")
    (run / "log.json").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"cut short')
    script = results_script("imagination_gap")
    rows = script.stage_table(str(run))
    # Per stage: mean over iterations of the last TRPO step's imagined return; the real return after it.
    assert rows == [(0, 200.0, 150.0), (1, 1000.0, 480.0)]
    # The run's exported logs (log.json.gz, as committed under docs/results/logs) give the same table.
    exported = logs.export([str(run)], [str(tmp_path / "sweep")], str(tmp_path / "logs"))[0]
    assert script.stage_table(exported) == rows and script.main([exported]) == 0


def test_a_directory_that_is_not_a_run_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert results_script("imagination_gap").main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not a run" in err and len(err.strip().splitlines()) == 1
