"""Running an experiment well: preflight checks, resume, checkpoints, faults, progress and wandb.

The algorithm lives in slbo/main.py and its modules; this package holds what keeps a run safe,
resumable and observable, and changes none of its numbers.
"""
