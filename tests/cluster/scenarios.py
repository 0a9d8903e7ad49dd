"""Running a cluster scenario (a script that starts the cluster inside a loopback-only network namespace and
writes ``result.json``) for a test module, with the nodes' logs in the failure when it did not finish."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLIP = "video/webcam_glasses_man_640x480.mjpeg"
SPEECH = "audio/speech_clean_arctic_aew_a0001.wav"


def run_scenario(script: str, out: Path, data_dir: Path, done_key: str, timeout: float = 540) -> dict[str, Any]:
    import pytest

    proc = subprocess.run([sys.executable, str(HERE / script), str(out), str(data_dir / CLIP), str(data_dir / SPEECH)],
                          capture_output=True, text=True, timeout=timeout)
    result_file = out / "result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    if proc.returncode != 0 or done_key not in result:
        logs = "\n".join(f"--- {k}\n{v[-1500:]}" for k, v in result.get("logs", {}).items())
        pytest.fail(f"the scenario {script} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}\n{logs}")
    return result
