"""Resume-checkpoint size, write time and read+restore time for a paper-config run at stage 10
(HalfCheetah, model [500, 500], 110k real samples in each of the train and dev buffers).

python bench/checkpoint.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import lunzi.nn as nn  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
from lunzi.dataset import Dataset  # noqa: E402
from slbo.algos.TRPO import TRPO  # noqa: E402
from slbo.loss.multi_step_loss import MultiStepLoss  # noqa: E402
from slbo.networks import build_networks  # noqa: E402
from slbo.partial_envs import make_env  # noqa: E402
from slbo.utils.flags import parse_flags  # noqa: E402
from slbo.utils.OU_noise import OUNoise  # noqa: E402
from slbo.run.resume import read_resume, restore_resume, save_resume  # noqa: E402
from slbo.utils.runner import Runner  # noqa: E402
from slbo.envs.batched_env import BatchedEnv  # noqa: E402

STAGE = 10
SAMPLES = (STAGE + 1) * 10000


def main() -> None:
    flags = parse_flags(["-c", "configs/algos/slbo.yml", "configs/env_tingwu/gym_cheetah.yml"])
    env = make_env("HalfCheetah")
    ds, da = env.observation_space.shape[0], env.action_space.shape[0]
    with tf.Graph().as_default(), tf.Session():
        nets = build_networks(flags, ds, da)
        loss = MultiStepLoss(model=nets.model, vfn=nets.vfn, dim_state=ds, dim_action=da, step=2,
                             criterion=nn.L2Loss(), normalizers=nets.normalizers)
        loss.build_backward(1e-3, 1e-5)
        TRPO(ds, da, nets.policy, nets.vfn, max_kl=0.01, n_cg_iters=10)
        tf.get_default_session().run(tf.global_variables_initializer())
        dtype = Runner(BatchedEnv([env]), max_steps=1000).dtype
        rng = np.random.RandomState(0)
        buffers = {}
        for name in ("train", "dev"):
            buffers[name] = Dataset(dtype, flags.rollout.max_buf_size)
            records = np.zeros(SAMPLES, dtype)
            for field in ("state", "action", "next_state", "reward"):
                records[field] = rng.randn(*records[field].shape)
            buffers[name].extend(records)
        with tempfile.TemporaryDirectory() as log_dir:
            start = time.perf_counter()
            path = save_resume(log_dir, STAGE, buffers, [env] * 7, OUNoise((1, da)), {"stage": STAGE + 1}, 0)
            write_s = time.perf_counter() - start
            size_mb = os.path.getsize(path) / 2 ** 20
            start = time.perf_counter()
            restore_resume(read_resume(log_dir), buffers, [env] * 7, OUNoise((1, da)))
            read_s = time.perf_counter() - start
    print(f"samples_per_buffer={SAMPLES} checkpoint_mb={size_mb:.1f} write_s={write_s:.2f} read_restore_s={read_s:.2f}")


if __name__ == "__main__":
    main()
