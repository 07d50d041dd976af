"""`python -m slbo.play`: a run's policy on the real env, its returns, and videos rendered for real by
MuJoCo's offscreen renderer (in a child process, as slbo.play does)."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import imageio.v2 as iio
import numpy as np
import pytest
import yaml

import lunzi.nn as nn
import tensorflow.compat.v1 as tf
from slbo.networks import build_networks
from slbo.partial_envs import REGISTRY, env_class
from slbo.play import main as play_main
from slbo.run.checkpoint import save_modules
from slbo.run.headless_gl import choose_gl_backend
from slbo.run.playback import play_episode, root_track
from slbo.utils.flags import parse_flags
from tests.conftest import ROOT, TINY

EPISODE = re.compile(r"^episode (\d+): return (-?[\d.]+) \((\d+) steps\)$", re.M)
SUMMARY = re.compile(r"^return over (\d+) episodes: (-?[\d.]+) ± ([\d.]+) \(mean ± standard error", re.M)


def make_run(log_dir, env_id: str = "HalfCheetah-v2", seed: int = 0) -> str:
    """A run directory as slbo/main.py leaves it: config.yml and final.npz (untrained networks)."""
    flags = parse_flags(["-c", TINY, "-s", f"log_dir={log_dir}", f"env.id={env_id}"])
    os.makedirs(flags.log_dir)
    with open(os.path.join(flags.log_dir, "config.yml"), "w") as f:
        yaml.safe_dump(flags.as_dict(), f)
    env = env_class(env_id)(seed=0)
    with tf.Graph().as_default(), nn.make_session():
        tf.set_random_seed(seed)
        nets = build_networks(flags, env.observation_space.shape[0], env.action_space.shape[0])
        tf.get_default_session().run(tf.global_variables_initializer())
        save_modules(os.path.join(flags.log_dir, "final.npz"), {"policy": nets.policy, "model": nets.model})
    return flags.log_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("play") / "run")


def play(capsys, *args: str):
    code = play_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def returns(out: str) -> list:
    return [float(m.group(2)) for m in EPISODE.finditer(out)]


def test_prints_each_return_and_mean_with_standard_error(run_dir, capsys):
    code, out, err = play(capsys, run_dir, "--episodes", 3, "--seed", 7)
    assert code == 0, err
    episodes = EPISODE.findall(out)
    assert [int(e[0]) for e in episodes] == [1, 2, 3]
    assert all(int(e[2]) == 100 for e in episodes)  # tiny.yml: 100-step episodes; HalfCheetah never ends early
    n, mean, sem = SUMMARY.search(out).groups()
    values = returns(out)
    assert int(n) == 3
    assert float(mean) == pytest.approx(np.mean(values), abs=0.011)
    assert float(sem) == pytest.approx(np.std(values, ddof=1) / np.sqrt(3), abs=0.011)
    again = play(capsys, run_dir, "--episodes", 3, "--seed", 7)[1]
    assert returns(again) == values  # --seed fixes the env and the action noise
    assert returns(play(capsys, run_dir, "--episodes", 3, "--seed", 8)[1]) != values


def test_checkpoint_with_config_loads_the_state_normaliser(run_dir, tmp_path, capsys):
    checkpoint, config = os.path.join(run_dir, "final.npz"), os.path.join(run_dir, "config.yml")
    arrays = dict(np.load(checkpoint))
    arrays["policy/normalizer.op_mean"] = arrays["policy/normalizer.op_mean"] + 5.0
    np.savez(tmp_path / "shifted.npz", **arrays)
    same = play(capsys, checkpoint, "--config", config, "--deterministic", "--episodes", 2)
    shifted = play(capsys, tmp_path / "shifted.npz", "--config", config, "--deterministic", "--episodes", 2)
    assert same[0] == shifted[0] == 0
    assert returns(same[1]) == returns(play(capsys, run_dir, "--deterministic", "--episodes", 2)[1])
    assert returns(shifted[1]) != returns(same[1])


def test_checkpoint_in_a_run_directory_reads_the_config_beside_it(run_dir, other_shapes, capsys):
    beside = play(capsys, os.path.join(other_shapes, "final.npz"), "--deterministic", "--episodes", 2)
    named = play(capsys, os.path.join(other_shapes, "final.npz"), "--config", os.path.join(other_shapes, "config.yml"),
                 "--deterministic", "--episodes", 2)
    assert beside[0] == named[0] == 0, beside[2]
    assert returns(beside[1]) == returns(named[1]) == returns(play(capsys, other_shapes, "--deterministic",
                                                                     "--episodes", 2)[1])
    assert returns(beside[1]) != returns(play(capsys, run_dir, "--deterministic", "--episodes", 2)[1])


def test_mp4_holds_the_first_episode_frames(run_dir, tmp_path, capsys):
    video = tmp_path / "policy.mp4"
    code, out, err = play(capsys, run_dir, "--episodes", 2, "--video", video, "--frames", 12, "--width", 96,
                          "--height", 64)
    assert code == 0, err
    assert f"video: {video} (12 frames of 96x64 at 100 fps)" in out
    reader = iio.get_reader(str(video))
    assert reader.count_frames() == 12
    assert reader.get_meta_data()["size"] == (96, 64)
    frames = [frame for frame in reader]
    assert frames[0].std() > 10  # a scene, not a blank image
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 1  # the cheetah moved
    assert len(EPISODE.findall(out)) == 2


def test_gif_keeps_every_fourth_step_of_a_fast_env(run_dir, tmp_path, capsys):
    video = tmp_path / "policy.gif"
    code, out, err = play(capsys, run_dir, "--episodes", 1, "--video", video, "--width", 64, "--height", 48)
    assert code == 0, err
    length = int(EPISODE.search(out).group(3))
    frames = iio.mimread(str(video))
    # HalfCheetah steps 0.01 s: a GIF frame every 4 steps (25 fps) of the length + 1 states
    assert len(frames) == math.ceil((length + 1) / 4)
    assert frames[0].shape[:2] == (48, 64)


def test_every_mujoco_env_renders(tmp_path):
    backend = choose_gl_backend()
    script = (
        "import numpy as np\n"
        "from slbo.partial_envs import REGISTRY, env_class\n"
        "from slbo.envs.mujoco.base import MujocoEnv\n"
        "from slbo.run.video import Camera\n"
        "for env_id in REGISTRY:\n"
        "    env = env_class(env_id)(seed=0)\n"
        "    if not isinstance(env, MujocoEnv):\n"
        "        continue\n"
        "    camera = Camera(env, 32, 24)\n"
        "    first = camera.render(env.data.qpos.copy(), env.data.qvel.copy())\n"
        "    print(env_id, first.shape, float(first.std()), flush=True)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "MUJOCO_GL": backend}, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rendered = {line.split()[0]: line for line in result.stdout.splitlines()}
    from slbo.envs.mujoco.base import MujocoEnv
    mujoco_ids = [env_id for env_id in REGISTRY if issubclass(env_class(env_id), MujocoEnv)]
    assert sorted(rendered) == sorted(mujoco_ids) and len(mujoco_ids) >= 25
    for env_id in mujoco_ids:
        shape, std = re.search(r"(\(24, 32, 3\)) ([\d.]+)$", rendered[env_id]).groups()
        assert float(std) > 1, rendered[env_id]  # not a blank frame


MOTION = re.compile(r"^  root body (\S+): x moved ([-+][\d.]+) m, height ([\d.]+) -> ([\d.]+) m \(lowest ([\d.]+) m\)$",
                    re.M)


def test_motion_prints_where_each_episode_took_the_torso(run_dir, capsys):
    code, out, err = play(capsys, run_dir, "--episodes", 2, "--seed", 3, "--motion")
    assert code == 0, err
    motions = MOTION.findall(out)
    assert len(motions) == 2 and all(name == "torso" for name, *_ in motions)
    for _, moved, start, end, lowest in motions:
        assert 0.6 < float(start) < 0.8  # HalfCheetah's torso starts at 0.7 m (reset noise ±0.1 on rootz)
        assert float(lowest) <= min(float(start), float(end))
    assert returns(out) == returns(play(capsys, run_dir, "--episodes", 2, "--seed", 3)[1])  # the same episodes


def test_root_track_is_the_forward_kinematics_of_the_root_joints():
    env = env_class("HalfCheetah-v2")(seed=0)
    rng = np.random.default_rng(0)
    episode = play_episode(env, lambda states: rng.uniform(-1, 1, (1, 6)), 50, record=True)
    name, track = root_track(env, episode.qpos)
    assert name == "torso" and track.shape == (51, 3)
    # HalfCheetah's root joints are slides along x (qpos[0]) and z (qpos[1]) carrying the torso.
    np.testing.assert_allclose(track[:, 0] - track[0, 0], episode.qpos[:, 0] - episode.qpos[0, 0], atol=1e-12)
    np.testing.assert_allclose(track[:, 2] - track[0, 2], episode.qpos[:, 1] - episode.qpos[0, 1], atol=1e-12)
    np.testing.assert_allclose(track[-1], env.data.xpos[1], atol=1e-9)  # where the simulation left it
    assert abs(track[-1, 0] - track[0, 0]) > 1e-3  # random actions move it


def test_motion_on_a_numpy_task_is_one_line_and_exit_2(tmp_path, capsys):
    code, out, err = play(capsys, make_run(tmp_path / "pendulum", env_id="Pendulum"), "--motion")
    assert code == 2 and err.count("\n") == 1 and "--motion: Pendulum is not a MuJoCo task" in err
    assert "episode" not in out


TERMS = re.compile(r"^  reward terms: forward ([-+][\d.]+), control ([-+][\d.]+), height ([-+][\d.]+), "
                   r"alive ([-+][\d.]+)$", re.M)
TERMS_SUMMARY = re.compile(r"^reward terms over (\d+) episodes \(mean ± standard error\): forward ([-+][\d.]+) ± "
                           r"[\d.]+, control ([-+][\d.]+) ± [\d.]+, height ([-+][\d.]+) ± [\d.]+, alive ([-+][\d.]+) ± "
                           r"[\d.]+$", re.M)


def test_terms_split_each_return_into_the_reward_terms(tmp_path, capsys):
    run_dir = make_run(tmp_path / "fixed_hopper", env_id="FixedHopper")
    code, out, err = play(capsys, run_dir, "--episodes", 3, "--seed", 2, "--terms")
    assert code == 0, err
    episodes, terms = EPISODE.findall(out), [[float(x) for x in t] for t in TERMS.findall(out)]
    assert len(episodes) == len(terms) == 3
    for (_, ret, length), (forward, control, height, alive) in zip(episodes, terms):
        assert forward + control + height + alive == pytest.approx(float(ret), abs=0.25)  # each rounded to 0.1
        assert control < 0 and height <= 0
        # Alive bonus 1 − done: one a step, none for the step that ends the episode by a fall.
        assert alive in (int(length), int(length) - 1)
    n, *means = TERMS_SUMMARY.search(out).groups()
    assert int(n) == 3
    np.testing.assert_allclose([float(m) for m in means], np.mean(terms, axis=0), atol=0.1)  # both rounded to 0.1
    assert returns(out) == returns(play(capsys, run_dir, "--episodes", 3, "--seed", 2)[1])  # the same episodes


def test_terms_on_a_task_without_them_is_one_line_and_exit_2(run_dir, capsys):
    code, out, err = play(capsys, run_dir, "--terms")
    assert code == 2 and err.count("\n") == 1 and "--terms: HalfCheetah-v2's reward is not stated as terms" in err
    assert "episode" not in out


def test_classic_control_task_says_it_cannot_render(tmp_path, capsys):
    run_dir = make_run(tmp_path / "pendulum", env_id="Pendulum")
    code, out, err = play(capsys, run_dir, "--video", tmp_path / "p.mp4")
    assert code == 2 and out == ""
    assert err.strip() == ("error: Pendulum cannot be rendered: it is a classic-control task computed in numpy, "
                           "without a MuJoCo model (videos work for the MuJoCo envs of `python -m slbo.envs`)")
    code, out, _ = play(capsys, run_dir, "--episodes", 2)
    assert code == 0 and len(EPISODE.findall(out)) == 2  # it plays without a video


def test_unusable_gl_is_one_line_naming_mujoco_gl(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("MUJOCO_GL", "glfw")  # glfw needs a display
    code, out, err = play(capsys, run_dir, "--video", tmp_path / "v.mp4")
    assert code == 2 and out == "" and not os.path.exists(tmp_path / "v.mp4")
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot render with MUJOCO_GL=glfw: ")
    assert "valid values: egl, osmesa, glfw" in lines[0]
    monkeypatch.setenv("MUJOCO_GL", "vulkan")
    err = play(capsys, run_dir, "--video", tmp_path / "v.mp4")[2]
    assert err.strip().startswith("error: cannot render with MUJOCO_GL=vulkan: not a backend MuJoCo renders with; "
                                  "valid values: egl, osmesa, glfw")


@pytest.fixture
def other_shapes(tmp_path):
    """A Hopper run: its checkpoint does not fit a HalfCheetah config."""
    return make_run(tmp_path / "hopper", env_id="Hopper")


@pytest.mark.parametrize("args, message", [
    (["{d}/missing"], "{d}/missing: no such run directory or checkpoint"),
    (["{d}"], "{d} is not a run directory: it lacks config.yml and final.npz"),
    (["{d}/lone.npz"], "{d}/lone.npz is a file with no config.yml beside it: a checkpoint needs --config"),
    (["{run}/final.npz", "--config", "{d}/nope.yml"], "--config {d}/nope.yml: no such file"),
    (["{hopper}/final.npz", "--config", "{run}/config.yml"],
     "checkpoint {hopper}/final.npz does not fit this policy: policy/log_std has shape (3,), expected (6,)"),
    (["{run}/config.yml", "--config", "{run}/config.yml"], "checkpoint {run}/config.yml is not a checkpoint"),
    (["{run}", "--episodes", "0"], "--episodes must be >= 1"),
    (["{run}", "--video", "{d}/v.avi"], "--video {d}/v.avi: the file must end in .mp4 or .gif"),
    (["{run}", "--video", "{d}/no/v.mp4"], "--video {d}/no/v.mp4: no such directory {d}/no"),
    (["{run}", "--video", "{d}/v.mp4", "--width", "95"], "--width and --height must be even numbers >= 16"),
    (["{run}", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_line_and_exit_2(run_dir, other_shapes, tmp_path, capsys, args, message):
    names = dict(d=tmp_path, run=run_dir, hopper=other_shapes)
    (tmp_path / "lone.npz").write_bytes(open(os.path.join(run_dir, "final.npz"), "rb").read())
    before = sorted(os.listdir(tmp_path))
    code, out, err = play(capsys, *[a.format(**names) for a in args])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + message.format(**names)), err
    assert sorted(os.listdir(tmp_path)) == before


def test_command_line_runs_as_a_module(run_dir):
    result = subprocess.run([sys.executable, "-m", "slbo.play", run_dir, "--episodes", "1", "--deterministic"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(EPISODE.findall(result.stdout)) == 1 and SUMMARY.search(result.stdout)
