"""Every flag of the published system with its default; `parse_flags` builds a fresh, frozen tree."""
from __future__ import annotations

import os
import time
from typing import Optional, Sequence

from lunzi.config import BaseFLAGS, ConfigError, MetaFLAGS, expand, one_of, parse

ALGORITHMS = ("slbo", "mle", "va", "MF")
N_TEST_ENVS = 4  # real envs that evaluate the policy, as in the published code
VF_BATCH_SIZE = 64  # minibatch of TRPO's value fit, as in the published code
VA_NORMS = ("l1", "l2")
MODEL_LOSSES = ("L1", "L2", "MSE")


def positive(group: str, cls: MetaFLAGS, keys: Sequence[str]) -> None:
    for key in keys:
        if not getattr(cls, key) > 0:
            raise ConfigError(f"{group}.{key} must be > 0, got {getattr(cls, key)}")


def non_negative(group: str, cls: MetaFLAGS, keys: Sequence[str]) -> None:
    for key in keys:
        if getattr(cls, key) < 0:
            raise ConfigError(f"{group}.{key} must be >= 0, got {getattr(cls, key)}")


def check_episode_budgets(FLAGS: MetaFLAGS) -> None:
    """Sample budgets must hold at least one whole episode, or a number would be nan or useless."""
    per_env = FLAGS.rollout.n_test_samples // N_TEST_ENVS
    if per_env < FLAGS.runner.max_steps:
        raise ConfigError(f"rollout.n_test_samples={FLAGS.rollout.n_test_samples} is less than one episode per "
                          f"evaluation env: it must be >= {N_TEST_ENVS} x runner.max_steps = "
                          f"{N_TEST_ENVS * FLAGS.runner.max_steps}")
    if FLAGS.algorithm == "MF":
        return
    if FLAGS.rollout.n_test_samples < FLAGS.plan.n_trpo_samples:
        raise ConfigError(f"rollout.n_test_samples={FLAGS.rollout.n_test_samples} is less than one episode per "
                          f"model env: it must be >= plan.n_envs x plan.max_steps = {FLAGS.plan.n_trpo_samples}")
    if FLAGS.model.multi_step > FLAGS.runner.max_steps:
        raise ConfigError(f"model.multi_step={FLAGS.model.multi_step} is longer than any real episode: it must be "
                          f"<= runner.max_steps = {FLAGS.runner.max_steps}")


def check_model_variants(algorithm: str, model: MetaFLAGS) -> None:
    """The model-loss variants need a model loss: none with MF, va_aux_coeff not with va, and
    va_value=real a value-aware term and no refits of TRPO's V for it."""
    if model.va_aux_coeff > 0 and algorithm not in ("slbo", "mle"):
        raise ConfigError(f"model.va_aux_coeff adds the value-aware loss to the slbo or mle loss; valid with "
                          f"algorithm=slbo or mle, got algorithm={algorithm} (va: use model.va_loss_coeff)")
    if model.va_value == "real":
        if algorithm != "va" and model.va_aux_coeff == 0:
            raise ConfigError(f"model.va_value=real sets the value function of the value-aware loss; valid with "
                              f"algorithm=va or model.va_aux_coeff > 0, got algorithm={algorithm} and "
                              f"model.va_aux_coeff=0")
        if model.value_update_interval:
            raise ConfigError(f"model.value_update_interval refits TRPO's V for the value-aware loss, which with "
                              f"model.va_value=real reads V_real (refitted at each collection): set it to 0, "
                              f"got {model.value_update_interval}")
    used = [f"model.{key}" for key in ("reward_loss_coeff", "clip_to_data") if getattr(model, key)]
    if used and algorithm == "MF":
        raise ConfigError(f"{used[0]} changes the learned model; valid with algorithm=slbo, mle or va, "
                          f"got algorithm=MF")


def make_flags() -> MetaFLAGS:
    """A fresh FLAGS tree with the seed's defaults (one per run, so tests never share state)."""

    class FLAGS(BaseFLAGS):
        use_prev = True  # keep earlier stages' real data in the train/dev sets; False: this stage's only
        seed = 100  # seeds numpy, Python and the TF graph (envs and noise too); 0: draw one from os.urandom
        log_dir: Optional[str] = None  # where the run writes; default: ckpt.base/run_id
        run_id: Optional[str] = None  # the run's name (also the wandb run's); default: log_dir's name or a timestamp
        algorithm = "slbo"  # model loss: slbo (multi-step) | mle (one-step) | va (value-aware) | MF (no model)

        use_wandb = 0  # 1: log to Weights & Biases (offline without credentials)
        wandb_group_name = "slbo_mle"  # wandb group of the run
        wandb_project_name = "slbo"  # wandb project of the run

        class slbo(BaseFLAGS):
            n_iters = 20  # iterations per stage, each model steps then policy steps
            n_policy_iters = 10  # TRPO steps per iteration, on imagined rollouts
            n_model_iters = 100  # model gradient steps per iteration
            n_stages = 100  # stages; each collects real data, then trains model and policy
            n_evaluate_iters = 10  # evaluate on the real env every N iterations (and at each stage's start)
            opt_model = False  # never usable in the published code; must stay False
            start = "reset"  # imagined rollouts start from env resets, or (buffer) from train-set states

            @classmethod
            def finalize(cls) -> None:
                one_of("slbo.start", cls.start, ("reset", "buffer"))
                if cls.opt_model:
                    raise ConfigError("slbo.opt_model=True is not supported (the published code never "
                                      "used it); valid: False")
                # n_model_iters >= 1: an iteration logs the model's training loss (MF ignores it)
                positive("slbo", cls, ("n_iters", "n_stages", "n_evaluate_iters", "n_model_iters"))
                non_negative("slbo", cls, ("n_policy_iters",))

        class plan(BaseFLAGS):
            max_steps = 500  # length of an imagined rollout
            n_envs: Optional[int] = None  # imagined rollouts run together; default: n_trpo_samples // max_steps
            n_trpo_samples = 4000  # imagined samples per TRPO step
            # fused: imagined rollouts, TRPO, value fits and chunks of model steps each as one
            # XLA-compiled session call; per_step: the published design (docs/PERFORMANCE.md)
            rollout = "fused"

            @classmethod
            def finalize(cls) -> None:
                one_of("plan.rollout", cls.rollout, ("fused", "per_step"))
                positive("plan", cls, ("max_steps", "n_trpo_samples"))
                if cls.n_trpo_samples < VF_BATCH_SIZE:
                    raise ConfigError(f"plan.n_trpo_samples must be >= {VF_BATCH_SIZE} (one minibatch of the value "
                                      f"fit), got {cls.n_trpo_samples}")
                if cls.n_envs is None:
                    cls.n_envs = max(cls.n_trpo_samples // cls.max_steps, 1)
                if cls.n_envs < 1 or cls.n_envs * cls.max_steps != cls.n_trpo_samples:
                    raise ConfigError(
                        f"plan.n_envs x plan.max_steps must equal plan.n_trpo_samples, got "
                        f"{cls.n_envs} x {cls.max_steps} != {cls.n_trpo_samples}; choose n_trpo_samples "
                        f"as a multiple of max_steps")

        class env(BaseFLAGS):
            id = "HalfCheetah-v2"  # the task; `python -m slbo.envs` lists them

            @classmethod
            def finalize(cls) -> None:
                from slbo.partial_envs import check_env_id
                check_env_id(cls.id)

        class rollout(BaseFLAGS):
            normalizer = "policy"  # policy: normalisers updated with every stage's data; uniform: stage 0's only
            max_buf_size = 200000  # capacity (real samples) of the train set and of the dev set
            n_train_samples = 10000  # real steps collected per stage for the train set
            n_dev_samples = 0  # real steps collected per stage for the dev set; 0: same as n_train_samples
            n_test_samples = 10000  # real steps of each evaluation, over the 4 evaluation envs

            @classmethod
            def finalize(cls) -> None:
                one_of("rollout.normalizer", cls.normalizer, ("policy", "uniform"))
                cls.n_dev_samples = cls.n_dev_samples or cls.n_train_samples
                positive("rollout", cls, ("max_buf_size", "n_train_samples", "n_dev_samples", "n_test_samples"))
                if cls.n_test_samples % N_TEST_ENVS:
                    raise ConfigError(f"rollout.n_test_samples must be a multiple of {N_TEST_ENVS} (the "
                                      f"evaluation envs), got {cls.n_test_samples}")

        class ckpt(BaseFLAGS):
            n_save_stages = 10  # write stage-T.npz and final.npz every N stages; 1: also each stage's data
            model_load: Optional[str] = None  # start from the model of this checkpoint .npz
            policy_load: Optional[str] = None  # start from the policy of this checkpoint .npz
            buf_load: Optional[str] = None  # a log_dir whose stage-K.inc-buf.npz files fill the train set at start
            buf_load_index = 0  # load those of stages 0 .. N-1 from ckpt.buf_load
            base = "/tmp/mbrl/logs"  # parent directory of the default log_dir
            warm_up: Optional[str] = None  # accepted for compatibility; unused by the published code
            overwrite = False  # start afresh in a log_dir that holds another run
            n_video_stages = 0  # use_wandb=1: log a video of the policy every N stages and at the end; 0: never

            @classmethod
            def finalize(cls) -> None:
                for key in ("model_load", "policy_load", "buf_load", "base"):
                    if getattr(cls, key) == "":
                        raise ConfigError(f"ckpt.{key} must not be empty (leave it out, or null, for none)")
                    if getattr(cls, key) is not None:
                        setattr(cls, key, expand(getattr(cls, key)))
                positive("ckpt", cls, ("n_save_stages",))
                non_negative("ckpt", cls, ("buf_load_index", "n_video_stages"))
                if cls.buf_load_index and cls.buf_load is None:
                    raise ConfigError(f"ckpt.buf_load_index={cls.buf_load_index} needs ckpt.buf_load (a log_dir "
                                      f"written with ckpt.n_save_stages=1)")

        class OUNoise(BaseFLAGS):
            theta = 0.15  # mean reversion of the OU exploration noise on collected actions
            sigma = 0.3  # scale of the OU exploration noise

            @classmethod
            def finalize(cls) -> None:
                non_negative("OUNoise", cls, ("theta", "sigma"))

        class model(BaseFLAGS):
            hidden_sizes = [500, 500]  # hidden layers of the dynamics model
            loss = "L2"  # L1 | L2 | MSE (criterion of the slbo and mle losses)
            G_coef = 0.5  # accepted for compatibility; unused by the published code
            multi_step = 1  # window length of the slbo and mle losses
            lr = 1e-3  # Adam learning rate of the model
            weight_decay = 1e-5  # L2 weight decay of the model
            validation_freq = 1  # dev-set loss every N iterations
            optimizer = "Adam"  # the model's optimiser (Adam only)
            train_batch_size = 256  # windows per model step
            dev_batch_size = 1024  # windows per dev-set loss
            va_loss_coeff = 1e-2  # scale of the value-aware loss
            va_norm = "l1"  # value-aware loss: l1 = |V(s') - V(model(s, a))|, l2 = its square
            value_update_interval = 0  # refit V every N model steps; 0: never
            # Variants of the model loss, each off by default (docs/VARIANTS.md):
            va_aux_coeff = 0.0  # slbo/mle: + va_aux_coeff x the value-aware error; 0: off
            reward_loss_coeff = 0.0  # + coeff x squared error of the reward read from the predicted state; 0: off
            clip_to_data = False  # clip predicted states to the range of the real states collected
            va_value = "trpo"  # V of the value-aware loss: trpo (TRPO's) | real (fitted on the train set's returns)

            @classmethod
            def finalize(cls) -> None:
                one_of("model.loss", cls.loss, MODEL_LOSSES)
                one_of("model.va_norm", cls.va_norm, VA_NORMS)
                one_of("model.va_value", cls.va_value, ("trpo", "real"))
                one_of("model.optimizer", cls.optimizer, ("Adam",))
                positive("model", cls, ("multi_step", "train_batch_size", "dev_batch_size", "validation_freq", "lr"))
                if cls.value_update_interval < 0:
                    raise ConfigError(f"model.value_update_interval must be >= 0 (0 disables refits), "
                                      f"got {cls.value_update_interval}")
                if not cls.hidden_sizes or min(cls.hidden_sizes) < 1:
                    raise ConfigError(f"model.hidden_sizes must be a non-empty list of positive ints, "
                                      f"got {cls.hidden_sizes}")
                non_negative("model", cls, ("weight_decay", "va_loss_coeff", "va_aux_coeff", "reward_loss_coeff"))

        class diag(BaseFLAGS):  # per-stage diagnostics (docs/DIAGNOSTICS.md); they never change the run
            every = 1  # diagnose every N stages (and after the final evaluation); 0: off

            @classmethod
            def finalize(cls) -> None:
                non_negative("diag", cls, ("every",))

        class policy(BaseFLAGS):
            hidden_sizes = [32, 32]  # hidden layers of the policy (tanh)
            init_std = 1.0  # initial standard deviation of the policy's actions

            @classmethod
            def finalize(cls) -> None:
                positive("policy", cls, ("init_std",))
                if not cls.hidden_sizes or min(cls.hidden_sizes) < 1:
                    raise ConfigError(f"policy.hidden_sizes must be a non-empty list of positive ints, "
                                      f"got {cls.hidden_sizes}")

        class PPO(BaseFLAGS):  # accepted for compatibility; the published code has no PPO
            n_minibatches = 32  # unused
            n_opt_epochs = 10  # unused
            ent_coef = 0.005  # unused
            lr = 3e-4  # unused
            clip_range = 0.2  # unused

        class TRPO(BaseFLAGS):
            cg_damping = 0.1  # damping added to Fisher-vector products in conjugate gradient
            n_cg_iters = 10  # conjugate-gradient iterations per TRPO step
            max_kl = 0.01  # KL trust region of a TRPO step
            vf_lr = 1e-3  # Adam learning rate of the value function
            n_vf_iters = 5  # value-function epochs per TRPO step
            ent_coef = 0.0  # entropy bonus of TRPO (0 from stage 50 on)

            @classmethod
            def finalize(cls) -> None:
                positive("TRPO", cls, ("max_kl", "vf_lr", "n_cg_iters", "n_vf_iters"))
                non_negative("TRPO", cls, ("cg_damping", "ent_coef"))

        class runner(BaseFLAGS):
            lambda_ = 0.95  # GAE lambda
            gamma = 0.99  # discount factor
            max_steps = 500  # horizon of real episodes

            @classmethod
            def finalize(cls) -> None:
                positive("runner", cls, ("max_steps",))
                if not 0 < cls.gamma <= 1 or not 0 <= cls.lambda_ <= 1:
                    raise ConfigError(f"runner.gamma must be in (0, 1] and runner.lambda_ in [0, 1], got "
                                      f"{cls.gamma} and {cls.lambda_}")

        @classmethod
        def finalize(cls) -> None:
            one_of("algorithm", cls.algorithm, ALGORITHMS)
            one_of("use_wandb", cls.use_wandb, (0, 1))
            if not 0 <= cls.seed < 2 ** 32:  # numpy's seed range
                raise ConfigError(f"seed must be in [0, 2**32 - 1] (0 draws one), got {cls.seed}")
            check_episode_budgets(cls)
            check_model_variants(cls.algorithm, cls.model)
            if cls.algorithm != "MF" and cls.rollout.n_test_samples % cls.plan.n_envs:
                raise ConfigError(f"rollout.n_test_samples must be a multiple of plan.n_envs={cls.plan.n_envs} "
                                  f"(the model env is evaluated too), got {cls.rollout.n_test_samples}")
            cls._seed_drawn = cls.seed == 0
            if cls._seed_drawn:
                cls.seed = int.from_bytes(os.urandom(3), "little") + 1
            for key in ("log_dir", "run_id"):
                if getattr(cls, key) == "":
                    raise ConfigError(f"{key} must not be empty (leave it out for the default)")
            if cls.log_dir is None:
                if cls.run_id is None:
                    cls.run_id = time.strftime("%Y-%m-%d_%H-%M-%S")
                cls.log_dir = os.path.join(cls.ckpt.base, cls.run_id)
            cls.log_dir = expand(cls.log_dir)
            if cls.run_id is None:
                cls.run_id = os.path.basename(cls.log_dir)

    return FLAGS


def parse_flags(argv: Optional[Sequence[str]] = None) -> MetaFLAGS:
    """Parses `--config`/`--set` from argv, validates, derives values, and freezes the tree.
    Raises ConfigError (one line) on bad input; writes nothing."""
    flags = make_flags()
    parse(flags, argv)
    flags.freeze()
    return flags

