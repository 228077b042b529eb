"""Frames of a video file as RGB arrays (any format imageio reads through ffmpeg: mp4, mov,
avi, webm, mkv, GIF), and a short video written from pictures.

A webcam works the same way, one frame at a time: imageio's `<video0>` device, or OpenCV's
`cv2.VideoCapture(0)` with its BGR frames turned RGB (`cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from facetransfer.data.images import resize


def read_frames(
    path, *, every: int = 1, limit: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number, RGB uint8 frame) for every `every`-th frame, at most `limit` of them."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such video")
    if every < 1:
        raise ValueError(f"every={every}: read every n-th frame for n >= 1")
    given = 0
    for number, frame in enumerate(iio.imiter(path)):
        if number % every:
            continue
        frame = np.asarray(frame)
        if frame.ndim == 2:
            frame = np.repeat(frame[:, :, None], 3, axis=2)
        yield number, np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8)
        given += 1
        if limit is not None and given >= limit:
            return


def write_video(pictures, path, *, fps: int = 10, hold: int = 5, size=(320, 240)) -> Path:
    """A video of `pictures` (RGB arrays), each held `hold` frames, resized to `size` = (width,
    height) (even sides, as H.264 wants)."""
    frames = [resize(p, size) for p in pictures for _ in range(hold)]
    if not frames:
        raise ValueError("no pictures to make a video of")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.stack(frames), fps=fps)
    return path
