"""`python -m slbo.envs`: every env id with its family, observation/action dims and horizon."""
from __future__ import annotations

from typing import List

from slbo.partial_envs import REGISTRY, env_class, env_family


def table() -> List[str]:
    rows = [("id", "family", "obs", "act", "horizon", "class")]
    for env_id in REGISTRY:
        env = env_class(env_id)(seed=0)
        rows.append((env_id, env_family(env_id), str(env.observation_space.shape[0]),
                     str(env.action_space.shape[0]), str(env.max_episode_steps), REGISTRY[env_id]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


if __name__ == "__main__":
    print("\n".join(table()))
