"""Running an experiment well: preflight checks, the log_dir lock, resume, checkpoints, faults,
progress, wandb, and playing a trained policy (returns, videos).

The algorithm lives in slbo/main.py and its modules; this package holds what keeps a run safe,
resumable and observable, and changes none of its numbers.
"""
