"""Live proctored exams over WebRTC: signalling, media taps, analysis workers, the data channel protocol,
reconnection. See :mod:`server.live.hub`."""
