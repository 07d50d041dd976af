"""The MBBL benchmark tasks (Wang et al. 2019) as the published SLBO code's `bm_envs` defines them:
gym-style MuJoCo tasks with frame skips, classic-control tasks, and their noisy variants."""
