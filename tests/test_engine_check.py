"""docs/results/engine_check.py: a task's compiled model saved as MJCF and played in place of its spec."""
from __future__ import annotations

import os
import subprocess
import sys

import mujoco
import numpy as np
import pytest

from slbo.partial_envs import env_class
from tests.conftest import ROOT, results_script

SCRIPT = os.path.join(ROOT, "docs", "results", "engine_check.py")


def rollout(env_id: str, seed: int, steps: int) -> np.ndarray:
    """Observations, rewards and dones of `steps` fixed pseudo-random actions from a seeded reset."""
    env = env_class(env_id)(seed=seed)
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, env.action_space.shape[0]))
    rows = [env.reset()[0]]
    for action in actions:
        obs, reward, terminated, _, _ = env.step(action)
        rows.append(np.concatenate([obs, [reward, terminated]]))
        if terminated:
            break
    return np.concatenate(rows)


@pytest.mark.parametrize("env_id", ["FixedHopper", "FixedWalker"])
def test_an_env_built_from_the_saved_model_steps_exactly_as_the_native_one(tmp_path, env_id):
    engine_check = results_script("engine_check")
    path = str(tmp_path / "model.xml")
    engine_check.save(env_id, path)
    assert engine_check.saved_env_id(path) == env_id
    native = rollout(env_id, seed=3, steps=20)
    real_spec = mujoco.MjSpec
    with engine_check.compiled_model(path) as saved_id:
        assert saved_id == env_id and mujoco.MjSpec is not real_spec
        from_file = rollout(env_id, seed=3, steps=20)
    # the MJCF prints some numbers to 6 significant digits (joint ranges, e.g. -2.61799): the trajectories agree to that
    np.testing.assert_allclose(from_file, native, rtol=1e-5, atol=1e-8)
    # everything is restored: a native env is built from its spec again
    assert mujoco.MjSpec is real_spec
    np.testing.assert_array_equal(rollout(env_id, seed=3, steps=20), native)


def test_the_env_is_built_from_the_file_not_from_its_spec(tmp_path):
    engine_check = results_script("engine_check")
    path = tmp_path / "weak.xml"
    engine_check.save("FixedHopper", str(path))
    path.write_text(path.read_text().replace('gear="200"', 'gear="20"'))  # motors a tenth as strong
    with engine_check.compiled_model(str(path)):
        weak = rollout("FixedHopper", seed=3, steps=20)
    native = rollout("FixedHopper", seed=3, steps=20)
    assert weak.shape == native.shape and not np.allclose(weak, native, rtol=1e-3)


def test_the_saved_model_is_the_configured_one_not_the_raw_asset(tmp_path):
    engine_check = results_script("engine_check")
    path = str(tmp_path / "hopper.xml")
    engine_check.save("FixedHopper", path)
    text = open(path).read()
    assert "colorspace" not in text and 'type="directional"' not in text  # what MuJoCo 2.3 cannot read
    saved = mujoco.MjModel.from_xml_path(path)
    env = env_class("FixedHopper")(seed=0)
    assert saved.opt.timestep == env.model.opt.timestep and saved.opt.integrator == env.model.opt.integrator
    np.testing.assert_array_equal(saved.actuator_gear, env.model.actuator_gear)
    np.testing.assert_allclose(saved.body_mass, env.model.body_mass, rtol=1e-12)


def test_compare_finds_no_difference_between_a_model_and_itself(tmp_path, capsys):
    engine_check = results_script("engine_check")
    path = str(tmp_path / "hopper.xml")
    engine_check.save("FixedHopper", path)
    assert engine_check.compare(path, path, steps=200) == 0.0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if "largest difference" in line]
    assert len(rows) == len(engine_check.COMPARED) + 1 and all(line.endswith(" 0") for line in rows), lines


def test_compare_shows_a_changed_actuator_and_the_motion_it_changes(tmp_path, capsys):
    engine_check = results_script("engine_check")
    path = tmp_path / "hopper.xml"
    engine_check.save("FixedHopper", str(path))
    weak = tmp_path / "weak.xml"
    weak.write_text(path.read_text().replace('gear="200"', 'gear="20"'))
    assert engine_check.compare(str(path), str(weak), steps=200) > 1e-3
    out = capsys.readouterr().out
    assert "actuator gears           largest difference 180" in out and "body masses              largest " \
        "difference 0\n" in out, out


def test_compare_reads_quotients_as_old_mujoco_did(tmp_path, capsys):
    """`pos="0.26/2 0 -0.35"` is the foot's `pos="0.13 0 -0.35"`: the same model once the quotient is evaluated."""
    engine_check = results_script("engine_check")
    path = tmp_path / "hopper.xml"
    engine_check.save("FixedHopper", str(path))
    assert '<body name="foot" pos="0.13 0 -0.35">' in path.read_text()
    halves = tmp_path / "halves.xml"
    halves.write_text(path.read_text().replace('<body name="foot" pos="0.13 0 -0.35">',
                                               '<body name="foot" pos="0.26/2 0 -0.35">'))
    assert engine_check.compare(str(halves), str(path), steps=200) == 0.0
    assert f'{halves}: pos="0.26/2 0 -0.35" read as "0.13 0 -0.35"' in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["save", "Pendulum", "{tmp}/p.xml"], "Pendulum is not simulated by MuJoCo"),
    (["save", "FixedHoper", "{tmp}/p.xml"], "unknown env.id 'FixedHoper'"),
    (["play", "{tmp}/plain.xml", "{tmp}"], "was not written by `engine_check.py save`"),
    (["play", "{tmp}/hopper.xml", "{tmp}/walker_run"], "walker_run ran FixedWalker, but"),
    (["compare", "{tmp}/missing.xml", "{tmp}/plain.xml"], "cannot read {tmp}/missing.xml"),
    (["compare", "{tmp}/broken.xml", "{tmp}/plain.xml"], "cannot compile {tmp}/broken.xml"),
    (["compare", "{tmp}/plain.xml", "{tmp}/slider.xml"], "the models differ in their joints or actuators"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path, args, message):
    (tmp_path / "plain.xml").write_text("<mujoco/>\n")
    (tmp_path / "hopper.xml").write_text("<!-- env.id: FixedHopper -->\n<mujoco/>\n")
    (tmp_path / "broken.xml").write_text("<mujoco><worldbody><body><geom size='x'/></body></worldbody></mujoco>\n")
    (tmp_path / "slider.xml").write_text("<mujoco><worldbody><body><joint type='slide'/><geom size='0.1'/></body>"
                                         "</worldbody></mujoco>\n")
    (tmp_path / "walker_run").mkdir()
    (tmp_path / "walker_run" / "config.yml").write_text("env:\n  id: FixedWalker\n")
    result = subprocess.run([sys.executable, SCRIPT, *[a.format(tmp=tmp_path) for a in args]],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    last = result.stderr.strip().splitlines()[-1]
    message = message.format(tmp=tmp_path)
    assert result.returncode != 0 and last.startswith("error: ") and message in last, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
