"""Bad input beyond flag parsing: each is one line on stderr, exit code 2, and nothing written."""
from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from slbo.main import run
from slbo.utils.flags import parse_flags
from tests.conftest import TINY


def listing(path: str) -> list:
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


@pytest.fixture
def files(tmp_path):
    """A few files the cases point at."""
    (tmp_path / "a_file").write_text("not a directory")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    np.savez(tmp_path / "policy_only.npz", **{"policy/log_std": np.zeros(6, np.float32)})
    np.savez(tmp_path / "small_model.npz", **{"model/net.0.weight": np.zeros((3, 3), np.float32)})
    np.savez(tmp_path / "small_policy.npz", **{"policy/net.0.weight": np.zeros((24, 4), np.float32)})
    (tmp_path / "bufs").mkdir()
    np.savez(tmp_path / "bufs" / "stage-0.inc-buf.npz", state=np.zeros((1, 24)))
    old = tmp_path / "old_run"
    old.mkdir()
    previous = parse_flags(["-c", TINY, "-s", "algorithm=mle", f"log_dir={old}"])
    (old / "config.yml").write_text(yaml.safe_dump(previous.as_dict()))
    return tmp_path


CASES = [
    (["log_dir={d}/a_file"], "log_dir {d}/a_file exists and is not a directory"),
    (["log_dir={d}/a_file/run"], "log_dir {d}/a_file/run cannot be created: {d}/a_file is not a directory"),
    (["log_dir=/proc/x"], "log_dir /proc/x cannot be created: making a directory in /proc fails (No such file"),
    (["log_dir=/sys/x/y"], "log_dir /sys/x/y cannot be created: making a directory in /sys fails ("),
    (["log_dir={d}/old_run"], "log_dir {d}/old_run holds a run with a different config (algorithm: 'mle' -> 'slbo'"),
    (["ckpt.model_load={d}/missing.npz"], "ckpt.model_load {d}/missing.npz: no such file"),
    (["ckpt.model_load={d}/notes.txt"], "ckpt.model_load {d}/notes.txt is not a checkpoint (.npz of named arrays)"),
    (["ckpt.model_load={d}/policy_only.npz"], "ckpt.model_load {d}/policy_only.npz holds no 'model' parameters"),
    (["ckpt.model_load={d}/small_model.npz"],
     "ckpt.model_load {d}/small_model.npz does not fit this model: model/net.0.weight has shape (3, 3), "
     "expected (30, 32)"),
    (["ckpt.policy_load={d}/small_policy.npz"],
     "ckpt.policy_load {d}/small_policy.npz does not fit this policy: policy/net.0.weight has shape (24, 4), "
     "expected (24, 32)"),
    (["ckpt.buf_load={d}/nowhere", "ckpt.buf_load_index=1"], "ckpt.buf_load {d}/nowhere: no such directory"),
    (["ckpt.buf_load={d}/bufs", "ckpt.buf_load_index=3"], "ckpt.buf_load {d}/bufs lacks stage-1.inc-buf.npz"),
    (["ckpt.buf_load_index=-1", "ckpt.buf_load={d}/bufs"], "ckpt.buf_load_index must be >= 0, got -1"),
    (["ckpt.buf_load_index=2"], "ckpt.buf_load_index=2 needs ckpt.buf_load"),
    (["rollout.n_train_samples=0"], "rollout.n_train_samples must be > 0, got 0"),
    (["plan.n_trpo_samples=-400"], "plan.n_trpo_samples must be > 0, got -400"),
    (["model.multi_step=0"], "model.multi_step must be > 0, got 0"),
    (["model.value_update_interval=-1"], "model.value_update_interval must be >= 0 (0 disables refits), got -1"),
    (["TRPO.max_kl=.inf"], "TRPO.max_kl must be a finite number, got"),
    (["model.lr=0"], "model.lr must be > 0, got 0.0"),
    (["runner.gamma=1.5"], "runner.gamma must be in (0, 1] and runner.lambda_ in [0, 1], got 1.5 and 0.95"),
    (["rollout.n_test_samples=402"], "rollout.n_test_samples must be a multiple of 4 (the evaluation envs), got 402"),
    (["use_wandb=2"], "use_wandb=2 is not valid; valid values: 0, 1"),
    (["seed=-5"], "seed must be >= 0 (0 draws one), got -5"),
    (["model.hidden_sizes=[]"], "model.hidden_sizes must be a non-empty list of positive ints, got []"),
    (["OUNoise.sigma=-0.1"], "OUNoise.sigma must be >= 0, got -0.1"),
    (["env.id=Reacher", "runner.max_steps=100"], "runner.max_steps=100 exceeds the horizon Reacher supports (50)"),
    (["slbo.opt_model=true"], "slbo.opt_model=True is not supported"),
]


@pytest.mark.parametrize("sets, message", CASES, ids=[c[1][:40] for c in CASES])
def test_bad_input_one_line_exit_2_nothing_written(files, capsys, sets, message):
    d = str(files)
    before = {p: listing(os.path.join(d, p)) for p in ("", "old_run", "bufs")}
    sets = [s.format(d=d) for s in sets]
    if not any(s.startswith("log_dir=") for s in sets):
        sets.append(f"log_dir={d}/run")
    code = run(["-c", TINY, "-s", *sets])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message.format(d=d)), err
    assert {p: listing(os.path.join(d, p)) for p in before} == before
