"""The rllab family of MuJoCo tasks (the ids HalfCheetah, Hopper, ... of the published code)."""
