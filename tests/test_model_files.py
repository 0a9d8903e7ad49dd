import shutil

import pytest

from proctor import model_files


def test_every_manifest_model_is_in_place_and_checked():
    paths = model_files.verify_all()
    assert {p.name for p in paths} == {s.file for s in model_files.manifest().values()}


def test_missing_or_altered_model_stops_with_the_command_that_fixes_it(tmp_path, monkeypatch):
    spec = model_files.manifest()["face_detector_short_range"]
    monkeypatch.setenv("PROCTOR_MODELS_DIR", str(tmp_path))
    with pytest.raises(model_files.ModelFileError, match="proctor models fetch"):
        model_files.model_path(spec.name)

    shutil.copy(model_files.REPO_ROOT / "models" / "files" / spec.file, tmp_path / spec.file)
    assert model_files.check(spec, tmp_path) == tmp_path / spec.file
    data = bytearray((tmp_path / spec.file).read_bytes())
    data[1000] ^= 0xFF
    (tmp_path / spec.file).write_bytes(bytes(data))
    with pytest.raises(model_files.ModelFileError, match="sha256 differs.*proctor models fetch"):
        model_files.check(spec, tmp_path)


def test_manifest_declares_package_licence_and_hash_for_each_model():
    for spec in model_files.manifest().values():
        assert "==" in spec.package and len(spec.sha256) == 64 and spec.licence and spec.size > 0
