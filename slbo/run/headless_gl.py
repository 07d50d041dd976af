"""The OpenGL backend MuJoCo renders with, named by MUJOCO_GL in the process that renders (MuJoCo
binds it when `mujoco` is first imported).

Without a display and without MUJOCO_GL, EGL is chosen (Mesa's software EGL needs no GPU), and
OSMesa when EGL cannot render. Each backend is tried by rendering a frame in a fresh process: one
that fails cannot be swapped for another in a process that has imported mujoco."""
from __future__ import annotations

import os
import subprocess
import sys

from lunzi.config import ConfigError

GL_BACKENDS = ("egl", "osmesa", "glfw")  # glfw needs a display
HEADLESS_ORDER = ("egl", "osmesa")
_PROBE = """
import mujoco
model = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size="0.1"/></worldbody></mujoco>')
data = mujoco.MjData(model)
mujoco.mj_forward(model, data)
renderer = mujoco.Renderer(model, 16, 16)
renderer.update_scene(data)
renderer.render()
"""


def gl_error(backend: str, reason: str) -> ConfigError:
    return ConfigError(f"cannot render with MUJOCO_GL={backend}: {reason}; valid values: {', '.join(GL_BACKENDS)} "
                       f"(without a display: egl, which needs Mesa's libegl1, libegl-mesa0 and libgl1-mesa-dri, "
                       f"or osmesa, which needs libosmesa6)")


def probe(backend: str) -> str:
    """'' when MuJoCo renders a frame with `backend` in a fresh process, else the reason it cannot."""
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE], env={**os.environ, "MUJOCO_GL": backend},
                                capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "rendering a test frame timed out"
    if result.returncode == 0:
        return ""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}"


def choose_gl_backend() -> str:
    """The MUJOCO_GL value for rendering processes: the one set (checked), else glfw with a display,
    else the first headless backend that renders. Raises ConfigError when it cannot render."""
    chosen = os.environ.get("MUJOCO_GL", "").strip().lower()
    if chosen and chosen not in GL_BACKENDS:
        raise gl_error(os.environ["MUJOCO_GL"], "not a backend MuJoCo renders with")
    if not chosen and not os.environ.get("DISPLAY"):
        reasons = []
        for backend in HEADLESS_ORDER:
            reason = probe(backend)
            if not reason:
                return backend
            reasons.append(f"{backend}: {reason}")
        raise gl_error("egl/osmesa (there is no DISPLAY)", "; ".join(reasons))
    chosen = chosen or "glfw"
    reason = probe(chosen)
    if reason:
        raise gl_error(chosen, reason)
    return chosen
