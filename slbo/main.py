"""SLBO / value-aware model learning: the stage loop (evaluate, collect real data, then per
iteration train the model and run TRPO on imagined rollouts; checkpoint each stage).

python slbo/main.py --config configs/algos/va.yml configs/env_tingwu/gym_cheetah.yml \
    --set algorithm=va model.va_norm=l1 model.value_update_interval=20 seed=9553987
"""
from __future__ import annotations

import json
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from typing import Dict, List, Optional, Sequence  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

import lunzi.nn as nn  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
from lunzi.config import ConfigError, MetaFLAGS  # noqa: E402
from lunzi.dataset import Dataset  # noqa: E402
from lunzi.logger import FileSink, logger  # noqa: E402
from slbo.algos.TRPO import TRPO  # noqa: E402
from slbo.envs import BaseModelBasedEnv  # noqa: E402
from slbo.envs.batched_env import BatchedEnv  # noqa: E402
from slbo.envs.virtual_env import VirtualEnv  # noqa: E402
from slbo.loss import ModelLoss  # noqa: E402
from slbo.loss.mle_loss import MLELoss  # noqa: E402
from slbo.loss.multi_step_loss import MultiStepLoss  # noqa: E402
from slbo.loss.va_loss import ValueAwareLoss  # noqa: E402
from slbo.networks import Networks, build_networks  # noqa: E402
from slbo.partial_envs import make_env  # noqa: E402
from slbo.run.checkpoint import atomic_write, load_arrays, load_module, save_arrays, save_modules  # noqa: E402
from slbo.run.diagnostics import Diagnostics  # noqa: E402
from slbo.run.faults import (Interrupted, NumericalError, RunLog, SignalGuard, WriteError, check_finite,  # noqa: E402
                              writing)
from slbo.run.lock import RunLock  # noqa: E402
from slbo.run.playback import PolicyVideos  # noqa: E402
from slbo.utils.flags import N_TEST_ENVS, VF_BATCH_SIZE, parse_flags  # noqa: E402
from slbo.utils.fused_runner import FusedRunner  # noqa: E402
from slbo.utils.OU_noise import OUNoise  # noqa: E402
from slbo.run.preflight import FINISHED, UNFINISHED, clear_run_files, preflight  # noqa: E402
from slbo.run import provenance  # noqa: E402
from slbo.run.progress import StageProgress  # noqa: E402
from slbo.run.resume import (read_resume, remove_resume_checkpoints, restore_resume, save_resume,  # noqa: E402
                              where_stopped)
from slbo.utils.runner import Runner  # noqa: E402
from slbo.utils.seeding import seed_everything  # noqa: E402
from slbo.utils.stats import standard_error  # noqa: E402
from slbo.utils.tf_utils import get_tf_config  # noqa: E402
from slbo.v_function.real_value import RealValueFit  # noqa: E402
from slbo.run.wandb_logger import WandbLogger  # noqa: E402


def add_multi_step(src: Dataset, dst: Dataset) -> None:
    """Appends `src` to `dst`, marking its last sample a timeout so windows never join batches."""
    records = src.data.copy()
    records.timeout[-1] = True
    dst.extend(records)


def episode_stats(episodes: List[Dict[str, float]]) -> tuple:
    """(mean, standard error) of episode returns; (nan, nan) when no episode ended."""
    returns = np.array([ep["return"] for ep in episodes])
    if len(returns) == 0:
        return float("nan"), float("nan")
    return float(returns.mean()), standard_error(returns, single=0.0)


def validate_model(loss_mod: ModelLoss, dev_set: Dataset, batch_size: int) -> tuple:
    """(loss, va_loss) of the model on a batch of dev-set windows (the published code used the train set)."""
    return loss_mod.evaluate(dev_set.sample_multi_step(batch_size, loss_mod.step))


def make_model_loss(FLAGS: MetaFLAGS, nets: Networks, dim_state: int, dim_action: int,
                    env: BaseModelBasedEnv) -> ModelLoss:
    """The model loss of `FLAGS.algorithm`, with the optional terms of the model flags (`env` gives
    the reward formula of `model.reward_loss_coeff`). Its value function is TRPO's, or with
    `model.va_value=real` a new V_real (whose ops exist only then)."""
    vfn = RealValueFit(dim_state, warm_start=True) if FLAGS.model.va_value == "real" else nets.vfn
    common = dict(model=nets.model, vfn=vfn, dim_state=dim_state, dim_action=dim_action,
                  step=FLAGS.model.multi_step, va_norm=FLAGS.model.va_norm, va_aux_coeff=FLAGS.model.va_aux_coeff,
                  reward_loss_coeff=FLAGS.model.reward_loss_coeff, env=env)
    criterion = nn.CRITERIA[FLAGS.model.loss](size_average=False)
    if FLAGS.algorithm == "va":
        return ValueAwareLoss(**common, va_loss_coeff=FLAGS.model.va_loss_coeff)
    if FLAGS.algorithm == "mle":
        return MLELoss(**common, criterion=criterion)
    return MultiStepLoss(**common, criterion=criterion, normalizers=nets.normalizers)


def main(FLAGS: MetaFLAGS, sink: FileSink, guard: SignalGuard, resume: Optional[Dict[str, np.ndarray]]) -> None:
    model_based = FLAGS.algorithm != "MF"
    fused = FLAGS.plan.rollout == "fused"  # one XLA-compiled session call per rollout / update

    # ---------------- graph construction ----------------
    envs = []  # every env of the run, so their RNG states can be checkpointed

    def new_env() -> BaseModelBasedEnv:
        envs.append(make_env(FLAGS.env.id))
        return envs[-1]

    env = new_env()
    dim_state, dim_action = env.observation_space.shape[0], env.action_space.shape[0]
    logger.info("%s verified: max reward difference %.2e", FLAGS.env.id, env.verify())

    nets = build_networks(FLAGS, dim_state, dim_action)
    normalizers, policy, vfn, model = nets
    loss_mod = make_model_loss(FLAGS, nets, dim_state, dim_action, env) if model_based else None
    real_vfn = loss_mod.vfn if model_based and FLAGS.model.va_value == "real" else None  # the loss's V_real
    if loss_mod is not None:
        loss_mod.build_backward(FLAGS.model.lr, FLAGS.model.weight_decay)
    algo = TRPO(dim_state, dim_action, policy, vfn, max_kl=FLAGS.TRPO.max_kl, n_cg_iters=FLAGS.TRPO.n_cg_iters,
                cg_damping=FLAGS.TRPO.cg_damping, vf_lr=FLAGS.TRPO.vf_lr, n_vf_iters=FLAGS.TRPO.n_vf_iters,
                vf_batch_size=VF_BATCH_SIZE, in_graph=fused)
    tf.get_default_session().run(tf.global_variables_initializer())

    def real_runner(n_envs: int) -> Runner:
        return Runner(BatchedEnv([new_env() for _ in range(n_envs)]), rescale_action=True,
                      max_steps=FLAGS.runner.max_steps, gamma=FLAGS.runner.gamma, lambda_=FLAGS.runner.lambda_)

    if model_based:
        virt_env = VirtualEnv(model, new_env(), FLAGS.plan.n_envs)
        train_runner = (FusedRunner if fused else Runner)(virt_env, max_steps=FLAGS.plan.max_steps,
                                                          gamma=FLAGS.runner.gamma, lambda_=FLAGS.runner.lambda_)
    else:
        train_runner = real_runner(FLAGS.plan.n_envs)
    runners = {"test": real_runner(N_TEST_ENVS), "collect": real_runner(1), "dev": real_runner(1), "train": train_runner}
    eval_settings = [(runners["test"], "Real Env")] + ([(train_runner, "Virt Env")] if model_based else [])
    diagnostics = Diagnostics(FLAGS, dim_state, dim_action) if model_based and FLAGS.diag.every else None

    noise = OUNoise((1, dim_action), theta=FLAGS.OUNoise.theta, sigma=FLAGS.OUNoise.sigma)
    data_dtype = runners["collect"].dtype
    train_set = Dataset(data_dtype, FLAGS.rollout.max_buf_size)
    dev_set = Dataset(data_dtype, FLAGS.rollout.max_buf_size)
    checkpointed = {"policy": policy, "model": model, "vfn": vfn}
    if real_vfn is not None:
        checkpointed["vreal"] = real_vfn

    if resume is None:
        if FLAGS.ckpt.model_load:
            load_module(FLAGS.ckpt.model_load, "model", model)
            logger.warning("Loaded the model from %s", FLAGS.ckpt.model_load)
        if FLAGS.ckpt.policy_load:
            load_module(FLAGS.ckpt.policy_load, "policy", policy)
            logger.warning("Loaded the policy from %s", FLAGS.ckpt.policy_load)
        for i in range(FLAGS.ckpt.buf_load_index):
            records = load_arrays(os.path.join(FLAGS.ckpt.buf_load, f"stage-{i}.inc-buf.npz"))
            add_multi_step(Dataset.from_records(_records(records, data_dtype)), train_set)
        if FLAGS.ckpt.buf_load:
            logger.warning("Loaded %d samples from %s", len(train_set), FLAGS.ckpt.buf_load)
        loop = {"stage": 0, "cum_steps": 0, "n_model_steps": 0, "ent_coef": FLAGS.TRPO.ent_coef, "wandb_id": None,
                "wandb_step": 0}
    else:
        loop = restore_resume(resume, {"train": train_set, "dev": dev_set}, envs, noise)
        if isinstance(train_runner, FusedRunner):  # checkpoints before pool sizes were saved lack them
            train_runner.pool_sizes = dict(loop.get("pool_sizes", []))
        logger.info("Restored stage %d state from %s", loop["stage"], str(resume["path"]))

    wandb = WandbLogger(step=loop.get("wandb_step", 0))
    if FLAGS.use_wandb:
        wandb.start(FLAGS.wandb_project_name, FLAGS.wandb_group_name, FLAGS.run_id,
                    {**FLAGS.as_dict(), "provenance": provenance.read(FLAGS.log_dir)}, FLAGS.log_dir,
                    resume_id=loop["wandb_id"])
    videos = PolicyVideos(FLAGS, wandb)
    where = "setup"  # the stage and iteration in progress, for error messages

    # ---------------- closures ----------------
    samples: Dict[str, Dataset] = {}  # the last evaluation's samples, per env name

    def evaluate(tag: str) -> Dict[str, float]:
        metrics = {}
        for runner, name in eval_settings:
            runner.reset()
            samples[name], episodes = runner.run(policy, FLAGS.rollout.n_test_samples)
            mean, sem = episode_stats(episodes)
            logger.info("Tag = %s, Reward on %s (%d episodes): mean = %.6f, sem = %.6f",
                        tag, name, len(episodes), mean, sem)
            check_finite(f"return on {name}", [ep["return"] for ep in episodes], where)
            metrics[f"return mean {name}"], metrics[f"return sem {name}"] = mean, sem
        return metrics

    def diagnose(T: int, evaluation: Dict[str, float]) -> Dict[str, float]:
        """Diagnostics of what the evaluation just measured (slbo/run/diagnostics.py), as wandb metrics."""
        if diagnostics is None:
            return {}
        return diagnostics.after_evaluation(T, model, vfn, samples["Real Env"], N_TEST_ENVS, evaluation)

    def rollout_and_advantages(n_samples: int):
        data, episodes, advantages, values = train_runner.run_with_advantages(policy, vfn, n_samples)
        check_finite("advantages of the TRPO batch", advantages, where)
        return data, episodes, advantages, values

    def refit_value_function() -> tuple:
        """Value refit (va fork): fit V on fresh imagined rollouts of the current policy; no policy step."""
        train_runner.reset()
        data, _, advantages, values = rollout_and_advantages(FLAGS.plan.n_trpo_samples)
        stats = algo.train(loop["ent_coef"], data.data, advantages, values, skip_policy_update=True)
        check_finite("value-function loss of the refit", stats.vf_loss, where)
        return stats.vf_loss, stats.vf_grad_norm

    def train_model(T: int, i: int) -> None:
        losses, va_losses, grad_norms, vf_losses, vf_grad_norms = [], [], [], [], []
        interval = FLAGS.model.value_update_interval
        n_left = FLAGS.slbo.n_model_iters
        longest = min(n_left, interval) if interval > 0 else n_left  # no chunk is longer
        while n_left > 0:
            # The model steps up to the next value refit (or the end) form one chunk.
            n = min(n_left, interval - loop["n_model_steps"] % interval) if interval > 0 else n_left
            windows = np.stack([train_set.sample_multi_step(FLAGS.model.train_batch_size, FLAGS.model.multi_step)
                                for _ in range(n)]).view(np.recarray)
            loss, grad_norm, va_loss = loss_mod.train_steps(windows, in_graph=fused, max_steps=longest)
            check_finite("model loss", loss, where)
            check_finite("model gradient norm", grad_norm, where)
            losses.extend(loss), grad_norms.extend(grad_norm), va_losses.extend(va_loss)
            loop["n_model_steps"] += n
            n_left -= n
            if interval > 0 and loop["n_model_steps"] % interval == 0:
                vf_loss, vf_grad_norm = refit_value_function()
                logger.info("Vfn loss after %d model steps: %.3g", loop["n_model_steps"], vf_loss)
                vf_losses.append(vf_loss), vf_grad_norms.append(vf_grad_norm)
        if i % FLAGS.model.validation_freq == 0:
            dev_loss, dev_va_loss = validate_model(loss_mod, dev_set, FLAGS.model.dev_batch_size)
            logger.info("# Iter %3d: Loss = [train = %.3f, dev = %.3f], after %d steps, grad_norm = %.6f",
                        i, np.mean(losses), dev_loss, FLAGS.slbo.n_model_iters, np.mean(grad_norms))
            metrics = {"slbo_n_stage": T, "slbo_n_iter": i, "model_train_loss": np.mean(losses),
                       "model_grad_norm": np.mean(grad_norms), "model_va_loss": np.mean(va_losses),
                       "model_dev_train_loss": dev_loss, "model_dev_ma_loss": dev_va_loss}
            if vf_losses:
                metrics.update(model_loop_vf_loss=np.mean(vf_losses), model_loop_vf_grad_norm=np.mean(vf_grad_norms))
            logger.metrics("iteration", metrics)
            wandb.log(metrics)

    def train_policy(T: int, i: int) -> int:
        """n_policy_iters TRPO steps on imagined (or, for MF, real) rollouts; returns real steps used.
        With plan.rollout=fused the value fit of step j runs during the rollout of step j + 1 (which
        reads neither V nor its optimiser): step j is logged once that rollout is done."""
        def report(j: int, episodes: List[Dict[str, float]], finish_training) -> None:
            stats = finish_training()
            check_finite("value-function loss", stats.vf_loss, where)
            mean, sem = episode_stats(episodes)
            logger.info("[TRPO] # %d: n_episodes = %d, returns: {mean = %.0f, sem = %.0f}, dist std = %.10f, "
                        "dist mean = %.10f, vf_loss = %.3f", j, len(episodes), mean, sem, stats.dist_std,
                        stats.dist_mean, stats.vf_loss)
            metrics = {"trpo_return_mean": mean, "trpo_return_sem": sem, "trpo_n_episodes": len(episodes),
                       **{f"trpo_{name}": value for name, value in stats._asdict().items()}}
            logger.metrics("trpo", {"stage": T, "iteration": i, "policy_iter": j, **metrics})
            wandb.log(metrics)

        pending = None
        for j in range(FLAGS.slbo.n_policy_iters):
            if model_based and FLAGS.slbo.start == "buffer":
                train_runner.set_state(train_set.sample(FLAGS.plan.n_envs).state)
            else:
                train_runner.reset()
            data, episodes = train_runner.run(policy, FLAGS.plan.n_trpo_samples)
            if pending is not None:
                report(*pending)
            advantages, values = train_runner.compute_advantage(vfn, data)
            check_finite("advantages of the TRPO batch", advantages, where)
            pending = (j, episodes, algo.train_async(loop["ent_coef"], data.data, advantages, values))
        if pending is not None:
            report(*pending)
        return 0 if model_based else FLAGS.slbo.n_policy_iters * FLAGS.plan.n_trpo_samples

    def save_checkpoints(T: int, recent: Dataset) -> None:
        """Stage checkpoints, then the resume checkpoint; a signal waits until all are written."""
        with guard.critical():
            if T % FLAGS.ckpt.n_save_stages == 0:
                save_modules(os.path.join(FLAGS.log_dir, f"stage-{T}.npz"), checkpointed)
            if FLAGS.ckpt.n_save_stages == 1:
                save_arrays(os.path.join(FLAGS.log_dir, f"stage-{T}.inc-buf.npz"),
                            {name: recent.data[name] for name in data_dtype.names})
            loop.update(stage=T + 1, wandb_id=wandb.run_id, wandb_step=wandb.step)
            if isinstance(train_runner, FusedRunner):
                loop["pool_sizes"] = sorted(train_runner.pool_sizes.items())
            save_resume(FLAGS.log_dir, T, {"train": train_set, "dev": dev_set}, envs, noise, loop, sink.offset())

    # ---------------- the stage loop ----------------
    progress = StageProgress(FLAGS.slbo.n_stages)  # a status line on a terminal's stderr only
    for T in range(loop["stage"], FLAGS.slbo.n_stages):
        where = f"stage {T}, before the model/policy iterations"
        logger.info("------ Starting Stage %d --------", T)
        metrics = {"cum_steps": loop["cum_steps"], **evaluate("episode")}
        metrics.update({"stage_" + k.replace(" ", "_"): v for k, v in metrics.items()})
        logger.metrics("stage", {"stage": T, **metrics})
        progress.stage(T, loop["cum_steps"], metrics["return mean Real Env"])
        wandb.log({**metrics, **diagnose(T, metrics)})

        if not FLAGS.use_prev:
            train_set.clear()
            dev_set.clear()
        # Every stage collects from fresh episodes, so a resumed run needs no mid-episode physics state.
        runners["collect"].reset()
        runners["dev"].reset()
        recent_train_set, episodes = runners["collect"].run(policy, FLAGS.rollout.n_train_samples, noise)
        check_finite("real observations", recent_train_set.data.next_state, where)
        check_finite("real rewards", recent_train_set.data.reward, where)
        loop["cum_steps"] += len(recent_train_set)
        add_multi_step(recent_train_set, train_set)
        add_multi_step(runners["dev"].run(policy, FLAGS.rollout.n_dev_samples, noise)[0], dev_set)
        if episodes:
            logger.info("episode: %s", episode_stats(episodes)[0])

        if FLAGS.rollout.normalizer == "policy" or T == 0:
            normalizers.state.update(recent_train_set.state)
            normalizers.action.update(recent_train_set.action)
            normalizers.diff.update(recent_train_set.next_state - recent_train_set.state)
        if model.bounds is not None:  # model.clip_to_data: bounds cover every real state collected
            model.bounds.update(np.concatenate([recent_train_set.state, recent_train_set.next_state]))
        if real_vfn is not None:  # model.va_value=real: the loss's V follows the train set's real returns
            fit = real_vfn.fit_trajectories(train_set.in_order(), FLAGS.runner.gamma,
                                            np.random.default_rng([FLAGS.seed, T]))
            logger.metrics("value_real", {"stage": T, **fit})
            wandb.log({f"value_real/{key}": value for key, value in fit.items()})

        if T >= 50:  # the published schedule: no entropy bonus after stage 50
            loop["ent_coef"] = 0.0

        for i in range(FLAGS.slbo.n_iters):
            where = f"stage {T}, iteration {i}"
            if i % FLAGS.slbo.n_evaluate_iters == 0 and i != 0:
                logger.metrics("evaluation", {"stage": T, "iteration": i, **evaluate("iteration")})
            if model_based:
                train_model(T, i)
            loop["cum_steps"] += train_policy(T, i)

        save_checkpoints(T, recent_train_set)
        videos.after_stage(T, policy)

    where = "the final evaluation"
    with guard.critical():
        save_modules(os.path.join(FLAGS.log_dir, "final.npz"), checkpointed)
    metrics = {"cum_steps": loop["cum_steps"], **evaluate("final")}
    logger.metrics("final", {"stage": FLAGS.slbo.n_stages, **metrics})
    progress.finish(loop["cum_steps"], metrics["return mean Real Env"])
    # The stage_ names as in the published code, and final_ names so the wandb summary holds the final return.
    wandb.log({**{prefix + k.replace(" ", "_"): v for prefix in ("stage_", "final_") for k, v in metrics.items()},
               **diagnose(FLAGS.slbo.n_stages, metrics)})
    videos.at_end(policy, FLAGS.slbo.n_stages)
    wandb.finish()
    remove_resume_checkpoints(FLAGS.log_dir)  # a finished run is never resumed


def _records(arrays: Dict[str, np.ndarray], dtype: np.dtype) -> np.ndarray:
    records = np.zeros(len(next(iter(arrays.values()))), dtype=dtype)
    for name in dtype.names:
        records[name] = arrays[name]
    return records


def open_log_dir(FLAGS: MetaFLAGS, resume: Optional[Dict[str, np.ndarray]]) -> FileSink:
    """Creates log_dir and config.yml for a new run; opens log.json, cut back for a resumed run to
    what it held at the resume checkpoint (so every stage is logged exactly once)."""
    os.makedirs(FLAGS.log_dir, exist_ok=True)
    log_path = os.path.join(FLAGS.log_dir, "log.json")
    if resume is None:
        text = yaml.safe_dump(FLAGS.as_dict(), default_flow_style=False).encode()
        atomic_write(os.path.join(FLAGS.log_dir, "config.yml"), lambda f: f.write(text))
        with writing(log_path):
            open(log_path, "w").close()
    else:
        with writing(log_path), open(log_path, "a") as f:
            f.truncate(json.loads(str(resume["loop"]))["log_offset"])
    sink = RunLog(log_path)
    logger.add_sink(sink)
    return sink


def run(argv: Optional[Sequence[str]] = None) -> int:
    """The command line. Exit codes: 0 done, 2 bad input (one line on stderr), 1 a non-finite
    number or a file that cannot be written (one line), 128 + signum when interrupted by
    SIGTERM/SIGINT (resume with the same command)."""
    try:
        FLAGS = parse_flags(argv)
        status = preflight(FLAGS)
        lock = None if status == FINISHED else RunLock(FLAGS.log_dir)  # held until the run ends
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if status == FINISHED:
        print(f"log_dir {FLAGS.log_dir} holds a finished run; not overwriting it (use another log_dir, or "
              f"ckpt.overwrite=1 to start afresh)", flush=True)
        return 0
    resume = read_resume(FLAGS.log_dir) if status == UNFINISHED else None
    if resume is not None:
        loop = json.loads(str(resume["loop"]))
        logger.info("Resuming the run in %s from stage %d of %d", FLAGS.log_dir, loop["stage"], FLAGS.slbo.n_stages)
    elif FLAGS.ckpt.overwrite or status == UNFINISHED:
        clear_run_files(FLAGS.log_dir)  # nothing to resume from: start afresh
    with lock, SignalGuard() as guard:
        sink = None
        try:
            sink = open_log_dir(FLAGS, resume)
            logger.info("log_dir = %s", FLAGS.log_dir)
            command = sys.argv[:1] + list(sys.argv[1:] if argv is None else argv)
            provenance.record(FLAGS.log_dir, resume is not None, command)
            with tf.Graph().as_default(), nn.make_session(get_tf_config()):
                seed_everything(FLAGS.seed)
                logger.info("Random seed: %d", FLAGS.seed)
                main(FLAGS, sink, guard, resume)
        except Interrupted as e:
            logger.warning("Run %s; re-run the same command to resume from the last completed stage", e)
            return 128 + e.signum
        except NumericalError as e:
            print(f"error: {e}; the last good checkpoint in {FLAGS.log_dir} is intact", file=sys.stderr)
            return 1
        except WriteError as e:  # disk full, file-size limit, a directory made read-only
            print(f"error: {e}; {where_stopped(FLAGS.log_dir, FLAGS.slbo.n_stages)}", file=sys.stderr)
            return 1
        finally:
            if sink is not None:
                logger.remove_sink(sink)
    return 0


if __name__ == "__main__":
    sys.exit(run())
