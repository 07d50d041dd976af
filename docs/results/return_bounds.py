"""Returns of hand-made policies that bound what an episode of three of MBBL's tasks can earn, played
on the env itself, to read a learned policy's return (or a published one) against.

python docs/results/return_bounds.py [--starts 20] [--acrobot-starts 5] [--seed 1]

- MountainCar (reward: the car's position at each step, x in [-1.2, 0.6]; 200 steps): the car cannot
  climb from the valley directly and must first swing left. For each start state the best of the
  action sequences "full left for k steps, then full right" (k = 0 … 200) is kept; the family holds
  the bang-bang swing-up, so its best is a lower bound on the optimal return, and close to it.
- InvertedPendulum (reward: −angle² of the pole at each step, 100 steps, no termination): no force,
  a constant full push either way, and full force the way that tips the pole further (the fall as
  fast as the motor makes it), whose return is the lowest a policy gets; and −100 × (the widest
  angle the joint limit let the pole reach in those episodes)², a pole lying at the limit from the
  first step, which no episode from an upright start earns. At the top, a PD controller that
  balances the pole, whose return (about 0) is the most an episode can earn.
- Acrobot (reward: −cos θ1 − cos(θ1 + θ2), minus the tip's height in link lengths, at each step; 200
  steps; torque −1, 0 or +1): no torque, the links hanging (about −2 a step), and a planner on the
  env's own dynamics that every 2 steps picks the first torque of the best of all 3^7 sequences of
  torques held for 2 steps each (14 steps ahead). The planner's return is a lower bound on the
  optimal return. It takes about 30 s an episode, so it plays --acrobot-starts start states (5).

Each start state is the env's own draw from seeds seed … seed + starts − 1.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import make_env

Policy = Callable[[int, np.ndarray], np.ndarray]  # (step, observation) -> action


def episode(env: BaseModelBasedEnv, seed: int, policy: Policy, horizon: int) -> Tuple[float, np.ndarray]:
    """(return, the observations after each step) of `horizon` steps (or until the env ends
    the episode) from the start state `seed` draws."""
    obs, _ = env.reset(seed=seed)
    total, visited = 0.0, []
    for t in range(horizon):
        obs, reward, done, _, _ = env.step(policy(t, obs))
        total += reward
        visited.append(obs)
        if done:
            break
    return total, np.array(visited)


def policy_return(env: BaseModelBasedEnv, seed: int, policy: Policy, horizon: int) -> float:
    return episode(env, seed, policy, horizon)[0]


def swing(k: int) -> Policy:
    """Full left for the first k steps, full right after (MountainCar's action is the force in [-1, 1])."""
    return lambda t, obs: np.array([-1.0 if t < k else 1.0])


def best_swing(env: BaseModelBasedEnv, seed: int, horizon: int) -> Tuple[float, int]:
    """(best return, its k) over k = 0 … horizon for the start state `seed` draws."""
    returns = [policy_return(env, seed, swing(k), horizon) for k in range(horizon + 1)]
    k = int(np.argmax(returns))
    return returns[k], k


def push(force: float) -> Policy:
    return lambda t, obs: np.array([force])


def tip_over(force: float) -> Policy:
    """Full force the way that tips the pole further: the cart moves from under the pole's lean
    (observation: cart position, pole angle, their velocities)."""
    return lambda t, obs: np.array([-force if obs[1] >= 0 else force])


def balance(force: float) -> Policy:
    """A PD controller that keeps the pole upright: force 20·angle + 1·angular velocity + 0.1·cart
    velocity, clipped to the motor's range (gains from a small grid search on three start states)."""
    return lambda t, obs: np.clip(np.array([20.0 * obs[1] + 1.0 * obs[3] + 0.1 * obs[2]]), -force, force)


TORQUES = (-1.0, 0.0, 1.0)  # Acrobot's action picks one of these (thresholds ∓0.33)


def acrobot_state(obs: np.ndarray) -> np.ndarray:
    """The joint angles and velocities from Acrobot's observation (cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2)."""
    return np.array([np.arctan2(obs[1], obs[0]), np.arctan2(obs[3], obs[2]), obs[4], obs[5]])


def best_torques(env: BaseModelBasedEnv, state: np.ndarray, block: int, blocks: int) -> Tuple[float, float]:
    """(return, first torque) of the best of the 3^blocks torque sequences, each torque held for
    `block` steps, from `state`, on the env's own dynamics and reward (a depth-first search: sequences
    that share a beginning share its simulation)."""
    if blocks == 0:
        return 0.0, 0.0
    best = (-np.inf, 0.0)
    for torque in TORQUES:
        s, total = state, 0.0
        for _ in range(block):
            total += env.true_reward(s, None)
            s = env.dynamics(s, np.array([torque]))
        total += best_torques(env, s, block, blocks - 1)[0]
        best = max(best, (total, torque))
    return best


def plan_ahead(env: BaseModelBasedEnv, block: int, blocks: int) -> Policy:
    """Acrobot, planning on its own (deterministic) dynamics: every `block` steps, the first torque of
    the best sequence over the next block × blocks steps (receding horizon)."""
    chosen = [0.0]

    def policy(t: int, obs: np.ndarray) -> np.ndarray:
        if t % block == 0:
            chosen[0] = best_torques(env, acrobot_state(obs), block, blocks)[1]
        return np.array([chosen[0]])
    return policy


def describe(name: str, returns: List[float]) -> str:
    values = np.array(returns)
    return f"| {name} | {values.mean():.1f} ± {values.std(ddof=1):.1f} | {values.min():.1f} | {values.max():.1f} |"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=20, help="start states per policy (at least 2)")
    parser.add_argument("--acrobot-starts", type=int, default=5,
                        help="start states for Acrobot's planner, about 30 s each (at least 2)")
    parser.add_argument("--seed", type=int, default=1, help="the first start state's seed")
    args = parser.parse_args(argv)
    if min(args.starts, args.acrobot_starts) < 2:
        print(f"error: --starts and --acrobot-starts must be at least 2 (for a standard deviation), got "
              f"{args.starts} and {args.acrobot_starts}", file=sys.stderr)
        return 2
    seeds = range(args.seed, args.seed + args.starts)
    print(f"{args.starts} start states each; return: mean ± std, min, max\n")
    print("| task, policy | return | min | max |\n|---|---|---|---|")
    car = make_env("MountainCar")
    swings = [best_swing(car, seed, car.max_episode_steps) for seed in seeds]
    ks = [k for _, k in swings]
    print(describe(f"MountainCar, best swing (k {min(ks)}–{max(ks)})", [value for value, _ in swings]))
    pendulum = make_env("InvertedPendulum")
    horizon, force = pendulum.max_episode_steps, float(pendulum.action_space.high[0])
    policies = (("no force", push(0.0)), (f"push +{force:g}", push(force)), (f"push −{force:g}", push(-force)),
                ("tip the pole over", tip_over(force)), ("balance (PD controller)", balance(force)))
    widest = 0.0  # how far past 90° the joint limit let the pole go in any of these episodes
    for name, policy in policies:
        episodes = [episode(pendulum, seed, policy, horizon) for seed in seeds]
        print(describe(f"InvertedPendulum, {name}", [value for value, _ in episodes]))
        widest = max([widest] + [float(np.abs(visited[:, 1]).max()) for _, visited in episodes])
    acrobot = make_env("Acrobot")
    planned = range(args.seed, args.seed + args.acrobot_starts)
    for name, policy in (("no torque", push(0.0)), ("planner (2 steps a torque, 7 ahead)", plan_ahead(acrobot, 2, 7))):
        print(describe(f"Acrobot, {name}, {args.acrobot_starts} start states",
                       [policy_return(acrobot, seed, policy, acrobot.max_episode_steps) for seed in planned]))
    print(f"\nInvertedPendulum: the pole never passed |angle| = {widest:.4f} rad (the joint limit, 90°, and "
          f"its give); a pole lying there from the first step would earn {-horizon * widest ** 2:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
