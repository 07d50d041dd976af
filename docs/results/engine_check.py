"""Does a trained policy's return depend on the MuJoCo version? Plays a run's final policy on the
same task compiled once and simulated by an older MuJoCo (2.3; 2.3.1 is the oldest with Python 3.11
wheels; the SLBO code MBBL ran used MuJoCo 1.31 through mujoco-py 0.5.7, which does not install here).

The env classes build their model with MjSpec (MuJoCo >= 3.2), so the check takes three steps:

    # 1. with the project's MuJoCo: write the task's model, as MuJoCo 4 compiles it, to MJCF that
    #    MuJoCo 2.3 reads (the first line names the task)
    .venv/bin/python docs/results/engine_check.py save FixedHopper /tmp/FixedHopper.xml
    # 2. a second virtual environment: the project (editable, so both venvs run this checkout's code),
    #    then MuJoCo 2.3.7 (or 2.3.1) in place of MuJoCo 4
    python3 -m venv /tmp/mj2 && /tmp/mj2/bin/pip install -e . -c constraints.txt
    /tmp/mj2/bin/pip uninstall -y mujoco mujoco-core mujoco-studio
    rm -rf /tmp/mj2/lib/python3.11/site-packages/mujoco    # plugin libraries MuJoCo 4 leaves behind
    /tmp/mj2/bin/pip install --no-deps mujoco==2.3.7
    # 3. play the run's final policy on that file under each engine (`python -m slbo.play` options follow)
    .venv/bin/python docs/results/engine_check.py play /tmp/FixedHopper.xml RUN_DIR --episodes 20
    /tmp/mj2/bin/python docs/results/engine_check.py play /tmp/FixedHopper.xml RUN_DIR --episodes 20

The two plays differ only in the engine. `python -m slbo.play RUN_DIR --episodes 20` (the native
model) shows how much the file's rounding of the model's numbers alone moves the return.

Is the model the one MBBL simulated? `compare` compiles two MJCF files under the running MuJoCo and
prints how far apart the compiled models are (masses, inertias, geometry, joints, actuators, options,
the fluid medium, contacts) and, from the same state, 800 physics steps of the same random controls:

    # MBBL's SLBO code ships gym's hopper.xml (slbo/envs/bm_envs/assets/ of github.com/WilsonWangTHU/mbbl-slbo);
    # it uses global coordinates, which MuJoCo <= 2.3.3 still compiles
    python3 -m venv /tmp/mj233 && /tmp/mj233/bin/pip install mujoco==2.3.3 "numpy<2" pyyaml
    /tmp/mj233/bin/python docs/results/engine_check.py compare mbbl_hopper.xml /tmp/FixedHopper.xml

MuJoCo 1.x read arithmetic such as `pos="0.13/2 0 0.1"` in a number attribute; newer versions refuse
it, so `compare` evaluates each such quotient first and says so.
"""
from __future__ import annotations

import contextlib
import os
import re
import runpy
import sys
from typing import Iterator, List

import mujoco
import numpy as np
import yaml


def save(env_id: str, path: str) -> None:
    from lunzi.config import ConfigError
    from slbo.envs.mujoco.base import MujocoEnv
    from slbo.partial_envs import make_env
    try:
        env = make_env(env_id)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    env = getattr(env, "unwrapped", env)
    if not isinstance(env, MujocoEnv):
        sys.exit(f"error: {env_id} is not simulated by MuJoCo; give a MuJoCo task (e.g. FixedHopper)")
    spec = mujoco.MjSpec.from_file(os.path.join(env.ASSET_DIR, env.ASSET))
    env.configure_spec(spec)
    spec.compile()
    # MuJoCo 2.3 knows neither texture colour spaces nor the light `type` attribute (it has `directional`)
    text = re.sub(r' colorspace="[^"]*"', "", spec.to_xml())
    text = re.sub(r'(<light[^>]*) type="directional"', r'\1 directional="true"', text)
    with open(path, "w") as f:
        f.write(f"<!-- env.id: {env_id} -->\n{text}")
    print(f"wrote {path}: {env_id} compiled by MuJoCo {mujoco.__version__}")


def saved_env_id(model_path: str) -> str:
    with open(model_path) as f:
        first = f.readline()
    found = re.match(r"<!-- env.id: (\S+) -->", first)
    if not found:
        sys.exit(f"error: {model_path} was not written by `engine_check.py save` (no env.id on its first line)")
    return found.group(1)


@contextlib.contextmanager
def compiled_model(model_path: str) -> Iterator[str]:
    """Inside, the env the model file was saved from is built from it (already configured and
    compiled) instead of from its own spec; yields that env id. Everything is restored on leaving."""
    from slbo.partial_envs import env_class
    env_id = saved_env_id(model_path)

    class CompiledModel:  # stands in for MjSpec
        @staticmethod
        def from_file(_path: str) -> "CompiledModel":
            return CompiledModel()

        def compile(self) -> mujoco.MjModel:
            return mujoco.MjModel.from_xml_path(model_path)

    saved_spec = getattr(mujoco, "MjSpec", None)
    classes = [cls for cls in env_class(env_id).__mro__ if "configure_spec" in vars(cls)]
    saved = [vars(cls)["configure_spec"] for cls in classes]
    mujoco.MjSpec = CompiledModel
    for cls in classes:
        cls.configure_spec = lambda self, spec: None
    try:
        yield env_id
    finally:
        for cls, method in zip(classes, saved):
            cls.configure_spec = method
        if saved_spec is None:
            del mujoco.MjSpec
        else:
            mujoco.MjSpec = saved_spec


def play(model_path: str, play_args: List[str]) -> None:
    """`python -m slbo.play` with every MuJoCo env built from `model_path`."""
    config = os.path.join(play_args[0], "config.yml") if play_args else ""
    if os.path.isfile(config):  # a run directory: its task must be the model's
        with open(config) as f:
            run_env = (yaml.safe_load(f).get("env") or {}).get("id")
        if run_env != saved_env_id(model_path):
            sys.exit(f"error: {play_args[0]} ran {run_env}, but {model_path} holds {saved_env_id(model_path)}")
    sys.argv = ["slbo.play", *play_args]
    with compiled_model(model_path) as env_id:
        print(f"MuJoCo {mujoco.__version__}, {env_id} from {model_path}", flush=True)
        runpy.run_module("slbo.play", run_name="__main__")


# The compiled quantities compare() reads: per model (m) or after mj_forward at the initial state (d).
COMPARED = (("body masses", lambda m, d: m.body_mass), ("body inertias", lambda m, d: m.body_inertia),
            ("body centres of mass", lambda m, d: d.xipos), ("geom positions", lambda m, d: d.geom_xpos),
            ("geom orientations", lambda m, d: d.geom_xmat), ("geom sizes", lambda m, d: m.geom_size),
            ("geom frictions", lambda m, d: m.geom_friction), ("joint anchors", lambda m, d: d.xanchor),
            ("joint axes", lambda m, d: d.xaxis), ("joint ranges", lambda m, d: m.jnt_range),
            ("initial qpos", lambda m, d: m.qpos0), ("dof damping", lambda m, d: m.dof_damping),
            ("dof armature", lambda m, d: m.dof_armature), ("actuator gears", lambda m, d: m.actuator_gear),
            ("actuator control ranges", lambda m, d: m.actuator_ctrlrange),
            ("timestep", lambda m, d: [m.opt.timestep]), ("integrator", lambda m, d: [m.opt.integrator]),
            ("gravity", lambda m, d: m.opt.gravity), ("medium density", lambda m, d: [m.opt.density]),
            ("medium viscosity", lambda m, d: [m.opt.viscosity]),
            ("geom contact types", lambda m, d: np.concatenate([m.geom_contype, m.geom_conaffinity])),
            ("disabled features", lambda m, d: [m.opt.disableflags]))
QUOTIENT = re.compile(r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)/(\d+(?:\.\d*)?)")


def load_model(path: str) -> mujoco.MjModel:
    """The model of an MJCF file, quotients in attribute values (`0.13/2`, which MuJoCo 1.x read) evaluated."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as error:
        sys.exit(f"error: cannot read {path} ({error.strerror or error})")

    def evaluate(attribute: re.Match) -> str:
        value = QUOTIENT.sub(lambda q: repr(float(q.group(1)) / float(q.group(2))), attribute.group(2))
        if value != attribute.group(2):
            print(f"{path}: {attribute.group(1)}\"{attribute.group(2)}\" read as \"{value}\"")
        return f'{attribute.group(1)}"{value}"'

    evaluated = re.sub(r'(\b\w+=)"([-+\d.eE\s]*/[-+\d.eE\s/]*)"', evaluate, text)  # number lists only
    try:  # from the path where nothing changed, so that files it names relative to itself are found
        return mujoco.MjModel.from_xml_path(path) if evaluated == text else mujoco.MjModel.from_xml_string(evaluated)
    except ValueError as error:
        sys.exit(f"error: MuJoCo {mujoco.__version__} cannot compile {path}: {' '.join(str(error).split())}")


def compare(theirs: str, ours: str, steps: int = 800) -> float:
    """Prints how far apart the two compiled models are, and their motions under the same controls from
    the initial state; returns the largest difference in the motion (qpos and qvel)."""
    models = [load_model(theirs), load_model(ours)]
    datas = [mujoco.MjData(model) for model in models]
    for model, data in zip(models, datas):
        mujoco.mj_forward(model, data)
    print(f"MuJoCo {mujoco.__version__}: {theirs} against {ours}")
    for name, read in COMPARED:
        a, b = (np.asarray(read(model, data), float) for model, data in zip(models, datas))
        print(f"  {name:24s} " + (f"largest difference {np.max(np.abs(a - b), initial=0.0):.3g}" if a.shape == b.shape
                                  else f"differ in shape: {a.shape} against {b.shape}"))
    if models[0].nu != models[1].nu or models[0].nq != models[1].nq:
        sys.exit(f"error: the models differ in their joints or actuators (nq {models[0].nq} against {models[1].nq}, "
                 f"nu {models[0].nu} against {models[1].nu}); no motion to compare")
    controls = np.random.default_rng(0).uniform(-1, 1, (steps, models[0].nu))
    worst = 0.0
    for control in controls:
        for model, data in zip(models, datas):
            data.ctrl[:] = control
            mujoco.mj_step(model, data)
        worst = max(worst, np.max(np.abs(datas[0].qpos - datas[1].qpos)),
                    np.max(np.abs(datas[0].qvel - datas[1].qvel)))
    print(f"  {steps} steps of the same random controls: largest difference in qpos and qvel {worst:.3g}")
    return worst


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "save":
        save(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "play":
        play(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: engine_check.py save ENV_ID OUT.xml | play MODEL.xml RUN_DIR [slbo.play options] | "
                 "compare THEIRS.xml OURS.xml")
