"""Frame sources: video files, image folders, RTSP/HTTP streams — sampled at the camera's fps.

Each frame carries its own timestamp: the video's clock for files and folders (so a recording replays
deterministically and faster than real time), capture time for live streams. Live streams reconnect
with exponential backoff; files simply end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class SourceError(RuntimeError):
    """A recorded source that cannot be opened at all."""


@dataclass
class Health:
    """What the console shows about a camera."""

    frames_read: int = 0
    frames_used: int = 0
    errors: int = 0
    reconnects: int = 0
    last_ts: float | None = None
    started: float = field(default_factory=time.monotonic)
    last_error: str = ""

    def fps(self) -> float:
        """Frames used per second of wall time since start."""
        elapsed = time.monotonic() - self.started
        return round(self.frames_used / elapsed, 2) if elapsed > 0 else 0.0

    def as_dict(self) -> dict:
        """For Redis / JSON."""
        return {"frames_read": self.frames_read, "frames_used": self.frames_used, "errors": self.errors,
                "reconnects": self.reconnects, "last_ts": self.last_ts, "fps": self.fps(),
                "last_error": self.last_error}


def is_live(url: str) -> bool:
    """Streams (rtsp, http, …) are live; files and folders are recordings."""
    return "://" in url and not url.startswith("file://")


class FrameSource:
    """Iterate (timestamp, BGR frame) at `fps` from any OpenCV-readable URL or an image folder."""

    def __init__(self, url: str, fps: float = 1.0, *, live: bool | None = None, loop: bool = False,
                 backoff_s: float = 1.0,
                 max_backoff_s: float = 60.0, folder_fps: float = 1.0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.url, self.fps = url, fps
        # `loop`: play a recording as if it were a camera (real-time pace, capture-time clock, rewind at
        # the end) — the demo's simulated cameras.
        self.loop = loop
        self.live = loop or (is_live(url) if live is None else live)
        self.backoff_s, self.max_backoff_s, self.folder_fps = backoff_s, max_backoff_s, folder_fps
        self.clock, self.sleep = clock, sleep
        self.health = Health()

    def frames(self, stop: Callable[[], bool] = lambda: False) -> Iterator[tuple[float, np.ndarray]]:
        """The sampled frames until the recording ends or `stop()` is true."""
        path = Path(self.url)
        if not self.live and path.is_dir():
            yield from self._folder(path, stop)
            return
        step, next_ts, delay = 1.0 / self.fps, None, self.backoff_s
        cap = None
        while not stop():
            if cap is None:
                cap = cv2.VideoCapture(self.url)
                if not cap.isOpened():
                    cap.release()
                    cap = None
                    if not self.live:
                        raise SourceError(f"cannot open {self.url}")
                    self._failed(f"cannot open {self.url}; retrying in {delay:.1f} s")
                    self.sleep(delay)
                    delay = min(delay * 2, self.max_backoff_s)
                    continue
                delay = self.backoff_s
            # grab() demuxes and decodes; only a frame that is sampled is converted to BGR and copied out
            # (retrieve): at 1 fps from a 25 fps stream that is one frame in 25.
            ok = cap.grab()
            if ok and self.loop:
                self.sleep(1.0 / (cap.get(cv2.CAP_PROP_FPS) or 25.0))  # a camera delivers in real time
            if not ok and self.loop and self.health.frames_read:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # rewind: the demo camera keeps "filming"
                ok = cap.grab()
            frame = None
            if ok:
                ts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if not self.live else self.clock()
                if next_ts is None or ts + 1e-6 >= next_ts:
                    ok, frame = cap.retrieve()
            if not ok:
                cap.release()
                cap = None
                if not self.live:
                    return  # end of the recording
                self._failed("stream interrupted; reconnecting")
                self.health.reconnects += 1
                continue
            self.health.frames_read += 1
            if frame is not None:
                next_ts = (next_ts or ts) + step
                self.health.frames_used += 1
                self.health.last_ts = ts
                yield ts, frame
        if cap is not None:
            cap.release()

    def _failed(self, message: str) -> None:
        self.health.errors += 1
        self.health.last_error = message
        log.warning("%s", message)

    def _folder(self, path: Path, stop) -> Iterator[tuple[float, np.ndarray]]:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        step, next_ts = 1.0 / self.fps, 0.0
        for i, f in enumerate(files):
            if stop():
                return
            ts = i / self.folder_fps
            if ts + 1e-6 < next_ts:
                continue
            frame = cv2.imread(str(f))
            self.health.frames_read += 1
            if frame is None:
                self._failed(f"unreadable image {f.name}")
                continue
            next_ts = ts + step
            self.health.frames_used += 1
            self.health.last_ts = ts
            yield ts, frame


class LatestFrame:
    """A live source read by its own thread, keeping only the newest sampled frame.

    Many cameras in one process: each reader thread decodes its stream at the stream's pace (OpenCV releases the
    GIL while decoding), and the process's loop takes whatever is new from each camera without ever waiting for a
    slow one. Iterating yields (ts, frame) when a new frame is there and None when not; it ends when the source
    ends (a recording) or `stop()` is true.
    """

    def __init__(self, source: FrameSource, stop: Callable[[], bool] = lambda: False, name: str = "camera"):
        import threading

        self.source = source
        self._stop = stop
        self._lock = threading.Lock()
        self._latest: tuple[float, np.ndarray] | None = None
        self._thread = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self.source.frames(stop=self._stop):
                with self._lock:
                    self._latest = item  # an older frame nobody took is simply dropped
        except Exception as exc:  # noqa: BLE001 - a source that cannot be read ends like a finished one
            self.source._failed(f"reader stopped: {exc}")

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the reader to end (after `stop()` turned true): a process must not exit while a thread is
        still inside the decoder."""
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """The reader thread is still reading."""
        return self._thread.is_alive()

    def poll(self) -> tuple[float, np.ndarray] | None:
        """The newest frame not yet taken, or None."""
        with self._lock:
            item, self._latest = self._latest, None
        return item

    def __iter__(self) -> Iterator[tuple[float, np.ndarray] | None]:
        while True:
            item = self.poll()
            if item is None and not self._thread.is_alive():
                item = self.poll()  # the last frame before it ended
                if item is None:
                    return
            yield item
