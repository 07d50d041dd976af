"""Flag parsing: merge order, --set of nested keys and lists, coercion, and one-line errors."""
from __future__ import annotations

import os

import pytest

from lunzi.config import ConfigError, command
from slbo.utils.flags import parse_flags
from tests.conftest import ROOT, run_main

VA = os.path.join(ROOT, "configs", "algos", "va.yml")
CHEETAH = os.path.join(ROOT, "configs", "env_tingwu", "gym_cheetah.yml")


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_seed_command_resolves(tmp_path):
    flags = parse_flags(["--config", VA, CHEETAH, "--set", "algorithm=va", "model.va_norm=l1",
                         "model.value_update_interval=20", "seed=9553987", f"log_dir={tmp_path}/va",
                         "run_id=va_halfcheetah"])
    assert flags.algorithm == "va" and flags.env.id == "HalfCheetah"
    assert flags.model.va_loss_coeff == pytest.approx(0.01) and isinstance(flags.model.va_loss_coeff, float)
    assert flags.model.value_update_interval == 20 and flags.seed == 9553987
    assert flags.plan.n_envs == 4 and flags.plan.max_steps == 1000 and flags.runner.max_steps == 1000
    assert flags.slbo.n_policy_iters == 40 and flags.TRPO.ent_coef == pytest.approx(0.005)
    assert flags.rollout.n_dev_samples == flags.rollout.n_train_samples
    assert flags.log_dir == str(tmp_path / "va") and flags.run_id == "va_halfcheetah"


def test_merge_order_files_then_sets(tmp_path):
    a = write(tmp_path, "a.yml", "model: {lr: 0.1, multi_step: 3}\nseed: 5\n")
    b = write(tmp_path, "b.yml", "model: {lr: 0.2}\n")
    flags = parse_flags(["-c", a, "-c", b, "-s", "model.multi_step=4", "-s", "model.multi_step=6"])
    assert flags.model.lr == pytest.approx(0.2)  # later file wins
    assert flags.model.multi_step == 6  # --set after files, in order
    assert flags.seed == 5


def test_set_nested_lists_and_coercion():
    flags = parse_flags(["-s", "model.hidden_sizes=[64, 32]", "TRPO.max_kl=1e-2", "use_prev=false",
                         "policy.init_std=1", "run_id=123", "ckpt.base=/tmp/x"])
    assert flags.model.hidden_sizes == [64, 32]
    assert isinstance(flags.TRPO.max_kl, float) and flags.TRPO.max_kl == pytest.approx(0.01)
    assert flags.use_prev is False
    assert isinstance(flags.policy.init_std, float)
    assert flags.run_id == "123"


def test_dotted_keys_in_yaml_files_like_set(tmp_path):
    dotted = write(tmp_path, "dotted.yml", "slbo.n_stages: 3\nmodel: {lr: 0.5}\nmodel.multi_step: 4\n")
    flags = parse_flags(["-c", dotted])
    assert flags.slbo.n_stages == 3 and flags.model.multi_step == 4 and flags.model.lr == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="unknown flag 'slbo.n_stage'; nearest valid keys: slbo.n_stages"):
        parse_flags(["-c", write(tmp_path, "typo.yml", "slbo.n_stage: 3\n")])


def test_frozen_after_parsing():
    flags = parse_flags([])
    with pytest.raises(AttributeError):
        flags.seed = 3
    with pytest.raises(AttributeError):
        flags.model.lr = 3.0


@pytest.mark.parametrize("argv, message", [
    (["-s", "model.lrr=0.1"], "unknown flag 'model.lrr'; nearest valid keys: model.lr"),
    (["-s", "modle.lr=0.1"], "unknown flag 'modle'; nearest valid keys: model"),
    (["-s", "n_stages=5"], "unknown flag 'n_stages'; nearest valid keys: slbo.n_stages"),
    (["-s", "lr=1e-3"], "unknown flag 'lr'; nearest valid keys: model.lr, PPO.lr"),
    (["-s", "max_step=3"], "unknown flag 'max_step'; nearest valid keys: plan.max_steps, runner.max_steps"),
    (["-s", "model.lr=abc"], "model.lr must be a float, got 'abc'"),
    (["-s", "model.multi_step=1.5"], "model.multi_step must be an int, got 1.5"),
    (["-s", "model.hidden_sizes=[a]"], "model.hidden_sizes[0] must be an int, got 'a'"),
    (["-s", "TRPO.max_kl=.nan"], "TRPO.max_kl must be a finite number"),
    (["-s", "algorithm=ppo"], "algorithm='ppo' is not valid; valid values: slbo, mle, va, MF"),
    (["-s", "model.va_norm=l3"], "model.va_norm='l3' is not valid; valid values: l1, l2"),
    (["-s", "model.loss=Huber"], "model.loss='Huber' is not valid; valid values: L1, L2, MSE"),
    (["-s", "env.id=HalfCheeta"], "unknown env.id 'HalfCheeta'; valid ids (nearest first): HalfCheetah"),
    (["-s", "plan.n_envs=3", "plan.max_steps=1000", "plan.n_trpo_samples=4000"],
     "plan.n_envs x plan.max_steps must equal plan.n_trpo_samples, got 3 x 1000 != 4000"),
    (["-s", "model"], "--set item 'model' must look like key.sub=value"),
    (["-s", "model=3"], "'model' is a group of flags"),
    (["-c", "/nonexistent/x.yml"], "config file not found: /nonexistent/x.yml"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_raises_one_line(argv, message):
    with pytest.raises(ConfigError) as info:
        parse_flags(argv)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_yaml(tmp_path):
    bad = write(tmp_path, "bad.yml", "model: {lr: [1, 2\n")
    with pytest.raises(ConfigError, match=r"malformed YAML in config file .*bad.yml at line"):
        parse_flags(["-c", bad])
    listing = write(tmp_path, "list.yml", "- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping of flags"):
        parse_flags(["-c", listing])


@pytest.mark.parametrize("args, message", [
    (["-s", "algorithm=ppo"], "error: algorithm='ppo' is not valid"),
    (["-s", "model.lrr=0.1"], "error: unknown flag 'model.lrr'"),
    (["-c", "missing.yml"], "error: config file not found: missing.yml"),
    (["-s", "env.id=Nope"], "error: unknown env.id 'Nope'"),
])
def test_cli_bad_input_exit_2_nothing_written(tmp_path, args, message):
    log_dir = tmp_path / "run"
    result = run_main([*args, f"log_dir={log_dir}"] if args[0] == "-s" else [*args, "-s", f"log_dir={log_dir}"])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert not log_dir.exists()


def test_flags_added_after_a_run_started_keep_it_resumable():
    """A saved config without a newer flag matches while that flag has its default value."""
    from slbo.run.preflight import config_differences
    flags = parse_flags(["-c", VA, "-s", "log_dir=/tmp/x"])
    saved = flags.as_dict()
    del saved["model"]["clip_to_data"]
    assert config_differences(flags, saved) == []
    changed = parse_flags(["-c", VA, "-s", "log_dir=/tmp/x", "model.clip_to_data=true"])
    assert config_differences(changed, saved) == ["model.clip_to_data: False -> True"]



def test_a_command_returns_0_or_2_with_one_line_for_bad_input(capsys):
    @command
    def main(value: int) -> None:
        """What `value` does."""
        if value < 0:
            raise ConfigError(f"value must be >= 0, got {value}")
        if value == 0:
            raise ZeroDivisionError("a defect, not bad input")
        print(f"ok {value}")

    assert main(3) == 0 and capsys.readouterr().out == "ok 3\n"
    assert main(-1) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: value must be >= 0, got -1\n" and captured.out == ""
    with pytest.raises(ZeroDivisionError):  # anything else is not the user's input: its traceback stays
        main(0)
    assert main.__doc__ == "What `value` does."
