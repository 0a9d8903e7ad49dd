"""Small edits of the SDP answer the server sends to the browser."""

from __future__ import annotations


def cap_video_bitrate(sdp: str, kbps: int) -> str:
    """The SDP with ``b=AS:<kbps>`` (RFC 4566 application-specific maximum, kbit/s) in every video media section.

    Browsers take a bandwidth line in the remote answer as the ceiling of what they send: the camera stream
    stays under it whatever their own estimate of the link says. An existing ``b=AS`` line of a video section is
    replaced; other sections are left as they are. ``kbps <= 0`` leaves the SDP unchanged.
    """
    if kbps <= 0:
        return sdp
    eol = "\r\n" if "\r\n" in sdp else "\n"
    out: list[str] = []
    video = capped = False
    for line in sdp.split(eol):
        if line.startswith("m="):
            video, capped = line.startswith("m=video"), False
        elif video and line.startswith("b=AS:"):
            continue  # replaced below, after the c= line
        out.append(line)
        if video and not capped and line.startswith("c="):  # RFC 4566 order: c= comes before b= in a section
            out.append(f"b=AS:{int(kbps)}")
            capped = True
    return eol.join(out)


def set_audio_ptime(sdp: str, ms: int) -> str:
    """The SDP with ``a=ptime:<ms>`` (RFC 4566: the media duration one packet should carry) in every audio section.

    Browsers take the answer's ``ptime`` as the Opus frame length they send (Chromium rounds it up to a length
    Opus has: 10, 20, 40, 60, 120 ms), so ``a=ptime:60`` makes 17 packets a second instead of 50. Speech
    detection reads the audio in 0.25 s batches, so the longer packets cost it nothing, while the student's uplink
    carries a third of the packet headers (about 11 kbit/s less with SRTP over UDP) and the server receives,
    decrypts and records a third of the packets. An existing ``a=ptime`` of an audio section is replaced; other
    sections are left as they are. ``ms <= 0`` leaves the SDP unchanged.
    """
    if ms <= 0:
        return sdp
    eol = "\r\n" if "\r\n" in sdp else "\n"
    out: list[str] = []
    audio = False
    placed = True
    for line in sdp.split(eol):
        if line.startswith("m="):
            audio = line.startswith("m=audio")
            placed = not audio
        elif audio and line.startswith("a=ptime:"):
            continue  # replaced
        elif not placed and line.startswith("a="):  # RFC 4566 order: the attributes follow c= and b=
            out.append(f"a=ptime:{int(ms)}")
            placed = True
        out.append(line)
    return eol.join(out)


def ptime_from_sdp(sdp: str) -> int | None:
    """The ``a=ptime`` (ms) of the first audio section of an SDP, or None."""
    audio = False
    for line in (sdp or "").splitlines():
        if line.startswith("m="):
            audio = line.startswith("m=audio")
        elif audio and line.startswith("a=ptime:"):
            try:
                return int(float(line.split(":", 1)[1]))
            except ValueError:
                return None
    return None
