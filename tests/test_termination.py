"""`python -m slbo.run.termination`: where a run's model ends episodes against where the real env does.

The open-loop and closed-loop bookkeeping is checked with models whose answer is known: an oracle
that returns the real next state of every recorded transition (it must reproduce every real fall,
at every horizon, and every real episode), and a frozen model that never moves (it can reproduce
none). The CLI runs on a run directory of real (untrained) networks."""
from __future__ import annotations

import re
from typing import Dict, List, Tuple

import numpy as np
import pytest

from slbo.partial_envs import env_class
from lunzi.dataset import gen_dtype
from slbo.run.playback import trajectory_terms
from slbo.run.termination import (Trajectory, episodes_in_samples, fall_metrics, imagined_episodes, main,
                                  open_loop_table, real_trajectory, windows)
from tests.test_play import make_run

ENV_ID = "FixedHopper"  # Hopper-ET: random actions fall within a few dozen steps


def recorded_episodes(n: int) -> Tuple[object, list, Dict[bytes, np.ndarray], Dict[bytes, np.ndarray]]:
    """`n` real episodes of random actions, and what an oracle needs: the real next state of every
    (state, action) seen, and the action taken in every state."""
    env = env_class(ENV_ID)(seed=3)
    rng = np.random.default_rng(3)
    trajectories = [real_trajectory(env, lambda s: rng.uniform(-1, 1, (len(s), 3)), 1000) for _ in range(n)]
    transitions, policy = {}, {}
    for t in trajectories:
        for i, action in enumerate(t.actions):
            transitions[t.states[i].tobytes() + action.tobytes()] = t.states[i + 1]
            policy[t.states[i].tobytes()] = action
    return env, trajectories, transitions, policy


@pytest.fixture(scope="module")
def recorded():
    return recorded_episodes(6)


def oracle(transitions: Dict[bytes, np.ndarray]):
    return lambda states, actions: np.array([transitions[s.tobytes() + a.tobytes()] for s, a in zip(states, actions)])


def frozen(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    return np.array(states)


def test_random_actions_fall_and_windows_end_at_the_fall(recorded):
    env, trajectories, _, _ = recorded
    assert all(t.terminated for t in trajectories)
    assert all(len(t.states) == len(t.actions) + 1 for t in trajectories)
    starts, actions = windows(trajectories, 3, before=False)
    assert np.array_equal(starts, [t.states[-4] for t in trajectories])
    assert np.array_equal(actions, [t.actions[-3:] for t in trajectories])
    starts, actions = windows(trajectories, 3, before=True)
    assert np.array_equal(starts, [t.states[-7] for t in trajectories])
    assert np.array_equal(actions, [t.actions[-6:-3] for t in trajectories])
    too_long = max(len(t.actions) for t in trajectories) + 1
    assert len(windows(trajectories, too_long, before=False)[0]) == 0


def test_oracle_recalls_every_fall_without_false_alarms(recorded):
    env, trajectories, transitions, _ = recorded
    shortest = min(len(t.actions) for t in trajectories)
    horizons = [1, 2, shortest // 2]
    rows = open_loop_table(oracle(transitions), env, trajectories, horizons)
    for row in rows:
        assert row["falls"] == len(trajectories) == row["recalled"]
        assert row["controls"] == len(trajectories) and row["false_alarms"] == 0
    frozen_rows = open_loop_table(frozen, env, trajectories, horizons)
    assert [r["recalled"] for r in frozen_rows] == [0, 0, 0]  # a model that stands still never falls


def test_closed_loop_with_the_oracle_replays_the_real_episodes(recorded):
    env, trajectories, transitions, policy = recorded
    act = lambda states: np.array([policy[s.tobytes()] for s in states])  # noqa: E731 (the recorded actions)
    starts = np.array([t.states[0] for t in trajectories])
    episodes = imagined_episodes(oracle(transitions), env, act, starts, 1000)
    assert list(episodes.lengths) == [len(t.actions) for t in trajectories]
    assert episodes.terminated.all()
    assert episodes.returns == pytest.approx([t.ret for t in trajectories], abs=1e-9)
    capped = imagined_episodes(oracle(transitions), env, act, starts, 3)
    assert list(capped.lengths) == [3] * len(trajectories) and not capped.terminated.any()
    still = imagined_episodes(frozen, env, act, starts, 50)
    assert list(still.lengths) == [50] * len(trajectories) and not still.terminated.any()


def test_imagined_terms_of_the_oracle_are_the_real_ones(recorded):
    env, trajectories, transitions, policy = recorded
    act = lambda states: np.array([policy[s.tobytes()] for s in states])  # noqa: E731 (the recorded actions)
    starts = np.array([t.states[0] for t in trajectories])
    episodes = imagined_episodes(oracle(transitions), env, act, starts, 1000, with_terms=True)
    for imagined, t in zip(episodes.terms, trajectories):
        real = trajectory_terms(env, t.states, t.actions)
        assert list(imagined) == list(real) == ["forward", "control", "height", "alive"]
        assert [imagined[name] for name in real] == pytest.approx(list(real.values()), abs=1e-9)
        assert real["alive"] == len(t.actions) - 1  # Hopper-ET: no bonus for the step that falls
        assert sum(real.values()) == pytest.approx(t.ret, abs=1e-9)
    # A model that never moves never falls: a bonus every step, and the start's velocity every step.
    still = imagined_episodes(frozen, env, act, starts, 50, with_terms=True)
    assert [terms["alive"] for terms in still.terms] == [50.0] * len(trajectories)
    assert [terms["forward"] for terms in still.terms] == pytest.approx(50 * starts[:, env.vx_index], abs=1e-9)
    assert imagined_episodes(frozen, env, act, starts, 50).terms is None


def as_samples(columns: List[List[object]], length: int) -> np.recarray:
    """[length, n_envs] samples as a Runner collects them, each column the given episodes back to back
    (a trajectory ends in its termination, or, given as (trajectory, k), in a timeout after k steps),
    cut at `length`."""
    data = np.zeros((length, len(columns)), dtype=gen_dtype(11, 3)).view(np.recarray)
    for j, episodes in enumerate(columns):
        rows = []
        for episode in episodes:
            t, steps = (episode, len(episode.actions)) if isinstance(episode, Trajectory) else episode
            for i in range(steps):
                done, timeout = (t.terminated, False) if steps == len(t.actions) else (False, True)
                last = i == steps - 1
                rows.append((t.states[i], t.actions[i], t.states[i + 1], 0.5, last and done, last and timeout))
        for i, row in enumerate(rows[:length]):
            data[i, j] = row
    return data


def test_episodes_in_samples_are_those_that_end_inside_them(recorded):
    env, trajectories, transitions, _ = recorded
    a, b, c, d, e, f = trajectories
    timed_out = len(e.actions) // 2
    length = len(d.actions) + timed_out + len(f.actions)  # column 1 ends with f; column 0 is cut
    data = as_samples([[a, b, c, d, e, f], [d, (e, timed_out), f]], length)
    expected, total = [], 0
    for t in (a, b, c, d, e, f):
        total += len(t.actions)
        if total <= length:
            expected.append((t, len(t.actions)))
    expected += [(d, len(d.actions)), (e, timed_out), (f, len(f.actions))]
    found = episodes_in_samples(data)
    assert len(found) == len(expected)
    for episode, (t, steps) in zip(found, expected):
        assert np.array_equal(episode.states, t.states[:steps + 1])
        assert np.array_equal(episode.actions, t.actions[:steps])
        assert episode.terminated == (steps == len(t.actions))
        assert episode.ret == pytest.approx(0.5 * steps)

    metrics = fall_metrics(oracle(transitions), env, data, horizons=(1, 3))
    falls = len(expected) - 1  # all but e's timeout
    assert metrics == {"n_falls": falls, "fall_recall_1": 1.0, "fall_false_alarm_1": 0.0,
                       "fall_recall_3": 1.0, "fall_false_alarm_3": 0.0}
    frozen_metrics = fall_metrics(frozen, env, data, horizons=(1,))
    assert frozen_metrics["fall_recall_1"] == 0.0 and frozen_metrics["n_falls"] == falls
    assert fall_metrics(oracle(transitions), env, as_samples([[(a, 3)]], 3)) == {}  # no fall, no metrics


REAL = re.compile(r"^real    : length ([\d.]+) mean \((\d+)-(\d+)\), (\d+) of (\d+) ended by termination; "
                  r"return (-?[\d.]+)", re.M)
IMAGINED = re.compile(r"^imagined: length ([\d.]+) mean \((\d+)-(\d+)\), (\d+) of (\d+) ended", re.M)
ROW = re.compile(r"^\s+(\d+)\s+(\d+)/(\d+) \([\d.]+\)\s+(\d+)/(\d+) \([\d.]+\)$", re.M)


def run_cli(capsys, *args) -> Tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_on_a_run_directory(tmp_path, capsys):
    run_dir = make_run(tmp_path / "run", env_id=ENV_ID)
    code, out, err = run_cli(capsys, run_dir, "--episodes", 4, "--horizons", 2, 1, "--seed", 5)
    assert code == 0, err
    real = REAL.search(out).groups()
    assert int(real[3]) == int(real[4]) == 4  # the untrained policy's hopper falls every time
    assert int(real[2]) < 100  # before tiny.yml's 100-step limit
    imagined = IMAGINED.search(out).groups()
    assert int(imagined[4]) == 4
    rows: List[tuple] = ROW.findall(out)
    assert [int(r[0]) for r in rows] == [1, 2]
    assert all(int(r[2]) == 4 for r in rows)
    assert run_cli(capsys, run_dir, "--episodes", 4, "--horizons", 1, 2, "--seed", 5)[1] == out  # --seed fixes it


TERMS = re.compile(r"^(real    |imagined) return in terms \(mean ± standard error\): forward ([-+][\d.]+) ± [\d.]+, "
                   r"control ([-+][\d.]+) ± [\d.]+, height ([-+][\d.]+) ± [\d.]+, alive ([-+][\d.]+) ± [\d.]+$", re.M)


def test_cli_terms_split_the_real_and_the_imagined_returns(tmp_path, capsys):
    run_dir = make_run(tmp_path / "run", env_id=ENV_ID)
    code, out, err = run_cli(capsys, run_dir, "--episodes", 4, "--horizons", 1, "--seed", 5, "--terms")
    assert code == 0, err
    lines = TERMS.findall(out)
    assert [line[0] for line in lines] == ["real    ", "imagined"]
    real_return = float(REAL.search(out).group(6))
    assert sum(float(x) for x in lines[0][1:]) == pytest.approx(real_return, abs=0.25)  # each rounded to 0.1
    real_length = float(REAL.search(out).group(1))
    assert float(lines[0][4]) == pytest.approx(real_length - 1, abs=0.06)  # every real episode fell
    without = run_cli(capsys, run_dir, "--episodes", 4, "--horizons", 1, "--seed", 5)[1]
    assert [line for line in out.splitlines() if "return in terms" not in line] == without.splitlines()


def test_cli_terms_on_a_task_without_them_is_one_line_and_exit_2(tmp_path, capsys):
    code, out, err = run_cli(capsys, make_run(tmp_path / "pendulum", env_id="Pendulum"), "--terms")
    assert code == 2 and err.count("\n") == 1 and "--terms: Pendulum's reward is not stated as terms" in err
    assert out == ""


@pytest.mark.parametrize("args, message", [
    (["/nonexistent/run"], "no such run directory or checkpoint"),
    (["RUN", "--horizons", "0"], "every --horizons value must be >= 1"),
    (["RUN", "--episodes", "x"], "invalid int value"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    run_dir = str(tmp_path)
    code, out, err = run_cli(capsys, *[run_dir if a == "RUN" else a for a in args])
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
