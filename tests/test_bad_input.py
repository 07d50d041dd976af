"""Bad input beyond flag parsing: each is one line on stderr, exit code 2, and nothing written."""
from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from lunzi.dataset import gen_dtype
from slbo.main import run
from slbo.run.preflight import env_dims
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
    (tmp_path / "hopper_bufs").mkdir()  # a stage buffer another env's run wrote
    hopper = gen_dtype(*env_dims("Hopper"))
    np.savez(tmp_path / "hopper_bufs" / "stage-0.inc-buf.npz", **{n: np.zeros(5, hopper[n]) for n in hopper.names})
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
    (["ckpt.buf_load={d}/bufs", "ckpt.buf_load_index=1"],
     "ckpt.buf_load {d}/bufs/stage-0.inc-buf.npz is not a stage buffer of this run: it lacks 'action'"),
    (["ckpt.buf_load={d}/hopper_bufs", "ckpt.buf_load_index=1"],
     "ckpt.buf_load {d}/hopper_bufs/stage-0.inc-buf.npz does not fit HalfCheetah-v2: 'state' has shape (5, 18), "
     "expected (5, 24)"),
    (["ckpt.buf_load_index=-1", "ckpt.buf_load={d}/bufs"], "ckpt.buf_load_index must be >= 0, got -1"),
    (["ckpt.buf_load_index=2"], "ckpt.buf_load_index=2 needs ckpt.buf_load"),
    (["rollout.n_train_samples=0"], "rollout.n_train_samples must be > 0, got 0"),
    (["plan.n_trpo_samples=-400"], "plan.n_trpo_samples must be > 0, got -400"),
    (["plan.max_steps=8", "plan.n_trpo_samples=32", "plan.n_envs=4"],
     "plan.n_trpo_samples must be >= 64 (one minibatch of the value fit), got 32"),
    (["TRPO.n_vf_iters=0"], "TRPO.n_vf_iters must be > 0, got 0"),
    (["model.multi_step=0"], "model.multi_step must be > 0, got 0"),
    (["model.value_update_interval=-1"], "model.value_update_interval must be >= 0 (0 disables refits), got -1"),
    (["TRPO.max_kl=.inf"], "TRPO.max_kl must be a finite number, got"),
    (["model.lr=0"], "model.lr must be > 0, got 0.0"),
    (["runner.gamma=1.5"], "runner.gamma must be in (0, 1] and runner.lambda_ in [0, 1], got 1.5 and 0.95"),
    (["rollout.n_test_samples=402"], "rollout.n_test_samples must be a multiple of 4 (the evaluation envs), got 402"),
    (["use_wandb=2"], "use_wandb=2 is not valid; valid values: 0, 1"),
    (["seed=-5"], "seed must be in [0, 2**32 - 1] (0 draws one), got -5"),
    (["seed=4294967296"], "seed must be in [0, 2**32 - 1] (0 draws one), got 4294967296"),
    (["slbo.n_model_iters=0"], "slbo.n_model_iters must be > 0, got 0"),
    (["rollout.n_test_samples=200"], "rollout.n_test_samples=200 is less than one episode per evaluation env: "
                                     "it must be >= 4 x runner.max_steps = 400"),
    (["rollout.n_test_samples=400", "plan.n_trpo_samples=800", "plan.n_envs=8"],
     "rollout.n_test_samples=400 is less than one episode per model env: it must be >= plan.n_envs x "
     "plan.max_steps = 800"),
    (["model.multi_step=101"], "model.multi_step=101 is longer than any real episode: it must be <= "
                               "runner.max_steps = 100"),
    (["log_dir="], "--set item 'log_dir=' has no value; give one (key=null for none)"),
    (["log_dir=''"], "log_dir must not be empty (leave it out for the default)"),
    (["ckpt.model_load=''"], "ckpt.model_load must not be empty (leave it out, or null, for none)"),
    (["model.hidden_sizes=[]"], "model.hidden_sizes must be a non-empty list of positive ints, got []"),
    (["OUNoise.sigma=-0.1"], "OUNoise.sigma must be >= 0, got -0.1"),
    (["env.id=Reacher", "runner.max_steps=100"], "runner.max_steps=100 exceeds the horizon Reacher supports (50)"),
    (["slbo.opt_model=true"], "slbo.opt_model=True is not supported"),
    (["model.reward_loss_coeff=-1"], "model.reward_loss_coeff must be >= 0, got -1.0"),
    (["model.va_aux_coeff=0.1", "algorithm=va"], "model.va_aux_coeff adds the value-aware loss to the slbo or mle"),
    (["model.clip_to_data=maybe"], "model.clip_to_data must be a bool, got 'maybe'"),
    (["model.clip_to_data=true", "algorithm=MF"], "model.clip_to_data changes the learned model; valid with"),
    (["model.va_value=imagined"], "model.va_value='imagined' is not valid; valid values: trpo, real"),
    (["model.va_value=real"], "model.va_value=real sets the value function of the value-aware loss; valid with "
                              "algorithm=va or model.va_aux_coeff > 0, got algorithm=slbo and model.va_aux_coeff=0"),
    (["model.va_value=real", "algorithm=MF"], "model.va_value=real sets the value function of the value-aware loss"),
    (["model.va_value=real", "algorithm=va", "model.value_update_interval=20"],
     "model.value_update_interval refits TRPO's V for the value-aware loss, which with model.va_value=real reads "
     "V_real (refitted at each collection): set it to 0, got 20"),
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
