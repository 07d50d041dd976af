"""Videos of an episode's recorded MuJoCo states, rendered offscreen in a process of their own:

    MUJOCO_GL=egl python -m slbo.run.video STATES.npz VIDEO.mp4|VIDEO.gif

TensorFlow and Mesa's software OpenGL crash when loaded into one process (their LLVM builds
clash), so the process that plays a policy records each step's qpos/qvel (slbo.run.playback) and
this one, which never imports TensorFlow, renders them. MUJOCO_GL must name a usable backend
(slbo.run.headless_gl.choose_gl_backend). Exit code 2 and one line on stderr when it cannot render."""
from __future__ import annotations

import math
import os
import sys
from typing import List, Sequence

import mujoco
import numpy as np

from lunzi.config import ConfigError, command
from slbo.envs.mujoco.base import MujocoEnv
from slbo.partial_envs import env_class
from slbo.run.headless_gl import gl_error

GIF_MIN_FRAME_S = 0.04  # GIF viewers slow down frames shorter than ~20 ms: GIFs skip steps to stay <= 25 fps


def check_renderable(env_id: str) -> None:
    if not issubclass(env_class(env_id), MujocoEnv):
        raise ConfigError(f"{env_id} cannot be rendered: it is a classic-control task computed in numpy, without a "
                          f"MuJoCo model (videos work for the MuJoCo envs of `python -m slbo.envs`)")


def frame_stride(video: str, dt: float) -> int:
    """Every how many steps a frame goes into `video`: every step, except where a GIF would be too fast."""
    return max(1, math.ceil(round(GIF_MIN_FRAME_S / dt, 6))) if video.endswith(".gif") else 1


def scene_radius(model: mujoco.MjModel, data: mujoco.MjData) -> float:
    """How far the geoms (but infinite planes, such as floors) reach from the first body."""
    geoms = np.flatnonzero(model.geom_type != mujoco.mjtGeom.mjGEOM_PLANE)
    reach = np.linalg.norm(data.geom_xpos[geoms] - data.xpos[1], axis=1) + model.geom_rbound[geoms]
    return float(reach.max())


def moves_in_ground_plane(model: mujoco.MjModel, data: mujoco.MjData) -> bool:
    """True for planar tasks (Swimmer, Reacher, PointMass), seen best from above: every slide
    joint is horizontal and every hinge vertical."""
    kinds, vertical = model.jnt_type, np.abs(data.xaxis[:, 2]) > 1 - 1e-6
    slide, hinge = kinds == mujoco.mjtJoint.mjJNT_SLIDE, kinds == mujoco.mjtJoint.mjJNT_HINGE
    return bool(np.all(slide | hinge) and not np.any(slide & vertical) and np.all(vertical[hinge]))


class Camera:
    """Offscreen frames of a MuJoCo env, from a camera that follows its first body: from the side,
    or from above for planar tasks."""

    def __init__(self, env: MujocoEnv, width: int, height: int):
        self.env = env
        offscreen = env.model.vis.global_
        offscreen.offwidth, offscreen.offheight = max(offscreen.offwidth, width), max(offscreen.offheight, height)
        try:
            self.renderer = mujoco.Renderer(env.model, height, width)
        except Exception as e:  # the GL library or context is unusable: no frame can be made
            reason = (str(e).strip().splitlines() or [""])[0]
            raise gl_error(os.environ.get("MUJOCO_GL") or "glfw (unset)", f"{type(e).__name__}: {reason}") from None
        mujoco.mj_forward(env.model, env.data)
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        self.camera.trackbodyid = 1
        self.camera.distance = 3.0 * scene_radius(env.model, env.data)
        self.camera.azimuth = 90.0
        self.camera.elevation = -89.9 if moves_in_ground_plane(env.model, env.data) else -20.0

    def render(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """The env at (qpos, qvel) as uint8 [height, width, 3]."""
        self.env.data.qpos[:], self.env.data.qvel[:] = qpos, qvel
        mujoco.mj_forward(self.env.model, self.env.data)
        self.renderer.update_scene(self.env.data, camera=self.camera)
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()


def write_video(path: str, frames: List[np.ndarray], fps: float) -> None:
    import imageio.v3 as iio
    if path.endswith(".gif"):
        iio.imwrite(path, np.stack(frames), duration=1000.0 / fps, loop=0)
    else:  # H.264 in yuv420p needs even sides; macro_block_size=2 keeps them as they are
        iio.imwrite(path, np.stack(frames), plugin="FFMPEG", fps=fps, macro_block_size=2)


def render_video(env_id: str, qpos: np.ndarray, qvel: np.ndarray, video: str, width: int, height: int,
                 max_frames: int = 0) -> str:
    """Writes the states [T, nq] / [T, nv] of an episode of `env_id` to `video`; returns a summary line."""
    check_renderable(env_id)
    env = env_class(env_id)(seed=0)  # only its model is used: every frame sets the recorded state
    dt = float(env.model.opt.timestep) * env.FRAME_SKIP
    stride = frame_stride(video, dt)
    steps = range(0, len(qpos), stride)[:max_frames or None]
    camera = Camera(env, width, height)
    try:
        frames = [camera.render(qpos[t], qvel[t]) for t in steps]
    finally:
        camera.close()
    fps = 1.0 / (dt * stride)
    write_video(video, frames, fps)
    return f"video: {video} ({len(frames)} frames of {width}x{height} at {fps:.3g} fps)"


@command
def main(argv: Sequence[str]) -> None:
    """`python -m slbo.run.video STATES.npz VIDEO`: STATES.npz holds env_id, qpos [T, nq], qvel [T, nv],
    width, height and max_frames (0: all)."""
    with np.load(argv[0], allow_pickle=False) as states:
        args = {key: states[key] for key in states.files}
    print(render_video(str(args["env_id"]), args["qpos"], args["qvel"], argv[1], int(args["width"]),
                       int(args["height"]), int(args["max_frames"])), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
