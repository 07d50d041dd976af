"""ckpt.n_video_stages: videos of the policy logged to a real wandb run (offline mode), without
changing a single number of the run; a rendering failure is a warning and training goes on."""
from __future__ import annotations

import glob
import os

import imageio.v2 as iio

from tests.conftest import TINY, read_log, run_main


def run_with_videos(log_dir: str, **env: str):
    base = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "DISPLAY", "WAYLAND_DISPLAY")}
    result = run_main(["-c", TINY, "-s", "slbo.n_stages=1", "use_wandb=1", "ckpt.n_video_stages=1",
                       f"log_dir={log_dir}"], env={**base, "WANDB_MODE": "offline", **env}, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = [(r["tag"], r["metrics"]) for r in read_log(log_dir) if r["level"] == "metrics"]
    warnings = [r["message"] for r in read_log(log_dir) if r["level"] == "warning"]
    return metrics, warnings, sorted(glob.glob(os.path.join(log_dir, "wandb", "offline-run-*", "files", "media",
                                                            "videos", "*.mp4")))


def test_videos_reach_wandb_and_change_no_number(tmp_path):
    metrics, warnings, videos = run_with_videos(str(tmp_path / "videos"))
    assert warnings == []
    assert len(videos) == 2  # after stage 0, and at the end
    for video in videos:
        reader = iio.get_reader(video)
        assert reader.count_frames() == 101  # tiny.yml: a 100-step episode, its 101 states
        assert reader.get_meta_data()["size"] == (320, 240)

    # glfw cannot render without a display: no video, a warning each time, and the same run
    failed_metrics, failed_warnings, failed_videos = run_with_videos(str(tmp_path / "failed"), MUJOCO_GL="glfw")
    assert failed_videos == []
    assert len(failed_warnings) == 2
    for caption, warning in zip(["stage 0", "final"], failed_warnings):
        assert warning.startswith(f"No policy video for {caption}: cannot render with MUJOCO_GL=glfw: ")
    assert failed_metrics == metrics and len(metrics) > 3
