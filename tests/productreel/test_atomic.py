"""Atomic writes: whole files only, no temp files left behind, threads never share a temp name."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from productreel import atomic


def test_writes_text_bytes_and_json_and_leaves_no_temp_files(tmp_path):
    atomic.write_text(tmp_path / "a" / "b.txt", "héllo\n")
    atomic.write_bytes(tmp_path / "c.bin", b"\x00\x01")
    atomic.write_json(tmp_path / "d.json", {"k": "ü"}, sort_keys=True)
    assert (tmp_path / "a" / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\x01"
    assert json.loads((tmp_path / "d.json").read_text(encoding="utf-8")) == {"k": "ü"}
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["b.txt", "c.bin", "d.json"]


def test_mode_is_set_and_default_mode_is_not_mkstemps_0600(tmp_path):
    secret = atomic.write_bytes(tmp_path / "key.pem", b"k", mode=0o600)
    plain = atomic.write_text(tmp_path / "plain.txt", "x")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~atomic._UMASK


def test_a_failed_write_keeps_the_old_file_and_removes_its_temp(tmp_path):
    target = atomic.write_text(tmp_path / "t.json", "old")
    with pytest.raises(TypeError):
        atomic.write_json(target, {"not serialisable": object()})
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["t.json"]


def test_threads_writing_one_target_never_collide(tmp_path):
    target = tmp_path / "same.txt"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for _ in range(50):
                atomic.write_text(target, f"{n}\n" * 1000)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lines = set(target.read_text().splitlines())
    assert len(lines) == 1  # one writer's whole file, never a mix
    assert os.listdir(tmp_path) == ["same.txt"]


def test_copy_file_streams_a_copy(tmp_path):
    src = tmp_path / "src.mp4"
    src.write_bytes(os.urandom(3 << 20))
    out = atomic.copy_file(src, tmp_path / "out" / "dst.mp4")
    assert out.read_bytes() == src.read_bytes()


def test_temp_path_is_unique_beside_the_target_and_not_created(tmp_path):
    a, b = atomic.temp_path(tmp_path / "clip.mp4"), atomic.temp_path(tmp_path / "clip.mp4")
    assert a != b and a.parent == tmp_path and a.suffix == ".mp4" and not a.exists()
