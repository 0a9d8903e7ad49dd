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
