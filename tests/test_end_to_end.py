"""Tiny runs of slbo/main.py, as a user runs it, for every algorithm."""
from __future__ import annotations

import glob
import os

import pytest
import yaml

from tests.conftest import TINY, metric_records, read_log, run_main

SEED_METRICS = ["return mean Real Env", "return sem Real Env", "return mean Virt Env", "return sem Virt Env",
                "cum_steps", "stage_return_mean_Real_Env", "slbo_n_stage", "slbo_n_iter", "model_train_loss",
                "model_grad_norm", "model_va_loss", "model_dev_train_loss", "model_dev_ma_loss",
                "model_loop_vf_loss", "model_loop_vf_grad_norm"]


def check_run(log_dir: str, n_stages: int = 2) -> None:
    assert os.path.isfile(os.path.join(log_dir, "config.yml"))
    with open(os.path.join(log_dir, "config.yml")) as f:
        assert "algorithm" in yaml.safe_load(f)
    stages = metric_records(log_dir, "stage")
    assert [m["stage"] for m in stages] == list(range(n_stages))
    assert len(metric_records(log_dir, "final")) == 1
    for name in ["final.npz", *[f"stage-{t}.npz" for t in range(n_stages)]]:
        assert os.path.isfile(os.path.join(log_dir, name)), name


@pytest.mark.parametrize("algo, extra", [
    ("slbo", []),
    ("mle", []),
    ("va", ["model.va_norm=l1", "model.value_update_interval=3"]),
    ("va", ["model.va_norm=l2", "model.value_update_interval=3"]),
    ("MF", []),
])
def test_algorithm_completes(tmp_path, algo, extra):
    log_dir = str(tmp_path / algo)
    result = run_main(["-c", TINY, "-s", f"algorithm={algo}", *extra, f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    check_run(log_dir)
    cum = [m["cum_steps"] for m in metric_records(log_dir, "stage")]
    assert cum[0] == 0 and cum[1] >= 200
    iterations = metric_records(log_dir, "iteration")
    if algo == "MF":
        assert not iterations and "return mean Virt Env" not in metric_records(log_dir, "stage")[0]
    else:
        assert len(iterations) == 4
        assert all(abs(m["model_train_loss"]) < 1e6 for m in iterations)
    # Defect 2: evaluating inside the iteration loop crashed the published code.
    assert metric_records(log_dir, "evaluation")


@pytest.mark.parametrize("interval, expected", [(3, [3, 6, 9, 12, 15, 18]), (7, [7, 14]), (0, [])])
def test_value_refit_every_interval_model_steps(tmp_path, interval, expected):
    log_dir = str(tmp_path / "run")
    result = run_main(["-c", TINY, "-s", "algorithm=va", f"model.value_update_interval={interval}",
                       "slbo.n_policy_iters=0", f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    refits = [int(r["message"].split()[3]) for r in read_log(log_dir)
              if r.get("message", "").startswith("Vfn loss after")]
    assert refits == expected  # 2 stages x 2 iterations x 5 model steps = 20 steps
    logged = [m for m in metric_records(log_dir, "iteration") if "model_loop_vf_loss" in m]
    assert bool(logged) == bool(expected)


def test_wandb_offline_run_records_seed_metrics(tmp_path):
    log_dir = str(tmp_path / "run")
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE")}
    env["NETRC"] = str(tmp_path / "no-netrc")
    result = run_main(["-c", TINY, "-s", "algorithm=va", "model.value_update_interval=3", "use_wandb=1",
                       "wandb_project_name=va_slbo_tests", "wandb_group_name=tiny", "run_id=wandb_tiny",
                       f"log_dir={log_dir}"], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = glob.glob(os.path.join(log_dir, "wandb", "offline-run-*", "run-*.wandb"))
    assert len(runs) == 1
    with open(runs[0], "rb") as f:
        data = f.read()
    for name in SEED_METRICS:
        assert name.encode() in data, name
    # Defect 7: the project is a flag, not a code edit.
    for text in (b"va_slbo_tests", b"tiny", b"wandb_tiny"):
        assert text in data


def test_warm_start_from_checkpoint_and_buffers(tmp_path):
    first = str(tmp_path / "first")
    assert run_main(["-c", TINY, "-s", f"log_dir={first}"]).returncode == 0
    second = str(tmp_path / "second")
    result = run_main(["-c", TINY, "-s", f"log_dir={second}", f"ckpt.model_load={first}/final.npz",
                       f"ckpt.policy_load={first}/final.npz", f"ckpt.buf_load={first}", "ckpt.buf_load_index=2"])
    assert result.returncode == 0, result.stderr[-2000:]
    messages = [r.get("message", "") for r in read_log(second)]
    assert any(m.startswith("Loaded the model from") for m in messages)
    assert any(m.startswith("Loaded the policy from") for m in messages)
    assert "Loaded 400 samples from" in " ".join(messages)
