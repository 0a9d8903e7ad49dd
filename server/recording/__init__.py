"""Recording a live session: the browser's encoded VP8 video and Opus audio, remuxed (never re-encoded) into
WebM segments of a few seconds, each stored with its sha256 in the session's manifest (``RecordingStore``).

See ``server/recording/README.md`` for the design and its measured CPU cost.
"""

from server.recording.segmenter import SegmentRecorder, SegmentResult, is_vp8_keyframe

__all__ = ["SegmentRecorder", "SegmentResult", "is_vp8_keyframe"]
