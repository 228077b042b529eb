"""Video frames: a clip written from pictures reads back frame by frame, every n-th, at most k."""

from __future__ import annotations

import numpy as np
import pytest

from facetransfer.data.video import read_frames, write_video


def test_a_written_clip_reads_back_every_nth_frame(tmp_path):
    pictures = [np.full((90, 120, 3), level, np.uint8) for level in (20, 120, 220)]
    clip = write_video(pictures, tmp_path / "clip.mp4", hold=4)
    frames = list(read_frames(clip, every=4))
    assert [n for n, _ in frames] == [0, 4, 8]
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for _, f in frames)
    levels = [float(f.mean()) for _, f in frames]
    assert levels == pytest.approx([20, 120, 220], abs=6)  # lossy, but the right pictures
    assert len(list(read_frames(clip, limit=2))) == 2


def test_a_missing_video_and_a_bad_step_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such video"):
        list(read_frames(tmp_path / "nope.mp4"))
    clip = write_video([np.zeros((10, 10, 3), np.uint8)], tmp_path / "c.mp4")
    with pytest.raises(ValueError, match="every"):
        list(read_frames(clip, every=0))
