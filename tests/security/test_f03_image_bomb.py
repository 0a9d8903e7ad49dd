"""Finding 3: image bombs. An enrolment photo's size is read from its header before anything is decoded:
past ``ENROL_MAX_PIXELS`` it is refused as ``too_many_pixels`` naming the photo (a 422 from the enrolment
route), and no decoder error escapes as anything but an ``EnrolmentError`` (a 4xx), so the analysis worker
answers at once instead of decoding gigabytes or dying."""

from __future__ import annotations

import queue
import struct
import zlib

import pytest

from proctor.identity import ENROL_MAX_PIXELS, EnrolmentError, check_photo_header, enrol
from server.live.messages import EnrolPhotos, Enrolled
from server.live.worker import Worker


def png_bomb(w: int, h: int) -> bytes:
    """A small PNG whose header claims w x h pixels (the first rows of zeros, compressed)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = zlib.compress(b"\x00" * (1 + w) * 16, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [12000, 40000])
def test_bombs_are_refused_from_the_header(side) -> None:
    bomb = png_bomb(side, side)
    assert len(bomb) < 200_000 and side * side > ENROL_MAX_PIXELS
    with pytest.raises(EnrolmentError) as info:
        check_photo_header(bomb, 1, 2)
    assert info.value.reason == "too_many_pixels" and info.value.photo_index == 1 and "photo 2" in str(info.value)
    # the whole enrolment stops at the header: no encoder (models) is even needed
    with pytest.raises(EnrolmentError) as info:
        enrol([bomb])
    assert info.value.reason == "too_many_pixels" and info.value.photo_index == 0


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, png_bomb(64, 64)[:60]])
def test_broken_images_are_unreadable_not_errors(data) -> None:
    with pytest.raises(EnrolmentError) as info:
        enrol([data])
    assert info.value.reason == "unreadable"


def test_the_worker_answers_a_bomb_with_a_named_problem() -> None:
    import cv2
    import numpy as np

    ok, fine = cv2.imencode(".png", np.zeros((480, 640, 3), np.uint8))
    out: queue.Queue = queue.Queue()
    Worker(queue.Queue(), out).handle(EnrolPhotos("sid", "rid", [fine.tobytes(), png_bomb(40000, 40000)]))
    answer = out.get_nowait()
    assert isinstance(answer, Enrolled)
    assert (answer.sid, answer.rid, answer.enrolment) == ("sid", "rid", None)
    problem = answer.problem
    # the first photo is a readable 640x480 picture (no face), checked after every photo's header and decoding:
    # the bomb is refused first, by its index
    assert problem["photo_index"] == 1 and problem["reason"] == "too_many_pixels"


def test_a_normal_photo_size_passes_the_header_check() -> None:
    check_photo_header(png_bomb(4000, 3000))  # a 12 MP phone photo
