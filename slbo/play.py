"""Watch a trained policy: `python -m slbo.play RUN_DIR [--episodes N] [--deterministic] [--video FILE.mp4]`.

RUN_DIR is a log_dir of slbo/main.py (its config.yml and final.npz); a checkpoint .npz (final.npz,
stage-T.npz) is read with the config.yml beside it, or with the one `--config` names. Prints each
episode's real return and their mean ± standard error; `--video` writes the first episode, rendered offscreen by MuJoCo
(without a display: EGL, else OSMesa); `--motion` prints under each episode where the model's root
body (the torso) went: its travel along x and its height at the start, the end and the lowest;
`--terms` prints under each episode its return split into the reward's terms (forward velocity,
control cost, height cost, alive bonus, ...; the MBBL locomotion tasks and the humanoids) and, at the
end, each term's mean over the episodes.
Exit code 2 and one line on stderr for bad input."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from lunzi.config import ArgumentParser, ConfigError, command
from slbo.run.headless_gl import choose_gl_backend


VIDEO_FORMATS = (".mp4", ".gif")


def check_video_args(video: str, width: int, height: int) -> None:
    """Raises ConfigError for a video path or size that cannot be written, or a missing writer."""
    if not video.endswith(VIDEO_FORMATS):
        raise ConfigError(f"--video {video}: the file must end in {' or '.join(VIDEO_FORMATS)}")
    directory = os.path.dirname(os.path.abspath(video))
    if not os.path.isdir(directory):
        raise ConfigError(f"--video {video}: no such directory {directory}")
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ConfigError(f"--width and --height must be even numbers >= 16, got {width}x{height}")
    try:
        import imageio  # noqa: F401
        if video.endswith(".mp4"):
            import imageio_ffmpeg  # noqa: F401
    except ImportError as e:
        raise ConfigError(f"writing {video} needs the package {e.name}: pip install -e '.[video]'") from None


USAGE = ("python -m slbo.play RUN_DIR|CHECKPOINT.npz [--config CONFIG.yml] [--episodes N] "
         "[--deterministic] [--seed S] [--motion] [--terms] [--video FILE.mp4|FILE.gif]")


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m slbo.play", usage_line=USAGE,
                       description="Play a trained policy on the real env.")
    p.add_argument("path", help="a run directory (config.yml + final.npz) or a checkpoint .npz (stage-T.npz)")
    p.add_argument("--config", help="the run's config.yml, for a checkpoint file (default: the one beside it)")
    p.add_argument("--episodes", type=int, default=5, help="real episodes to play (default: 5)")
    p.add_argument("--deterministic", action="store_true", help="act with the mean action (default: sample)")
    p.add_argument("--seed", type=int, default=0, help="seeds the env and the action noise (default: 0)")
    p.add_argument("--motion", action="store_true",
                   help="print where each episode took the root body (torso): x travelled, height (MuJoCo tasks)")
    p.add_argument("--terms", action="store_true",
                   help="print each episode's return split into the reward's terms (MBBL locomotion tasks, humanoids)")
    p.add_argument("--video", help="write the first episode to this .mp4 or .gif")
    p.add_argument("--frames", type=int, default=0, help="at most this many video frames (default: the episode)")
    p.add_argument("--width", type=int, default=320, help="video width in pixels (default: 320)")
    p.add_argument("--height", type=int, default=240, help="video height in pixels (default: 240)")
    return p


@command
def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parser().parse_args(argv)
    if args.episodes < 1 or args.frames < 0 or args.seed < 0:
        raise ConfigError(f"--episodes must be >= 1, --frames and --seed >= 0; got {args.episodes}, "
                          f"{args.frames}, {args.seed}")
    if args.video:
        check_video_args(args.video, args.width, args.height)
        choose_gl_backend()  # before anything imports mujoco
    from slbo.run.playback import play
    play(args.path, args.config, args.episodes, args.deterministic, args.seed, args.video, args.width,
         args.height, args.frames, args.motion, args.terms)


if __name__ == "__main__":
    sys.exit(main())
