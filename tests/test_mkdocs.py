"""The docs site builds with `mkdocs build --strict` (broken links, missing pages, bad API refs fail)."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_docs_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md") if "_gen" not in p.parts]
    missing = [p for p in pages if p not in nav]
    assert not missing, f"docs pages not listed in mkdocs.yml nav: {missing}"


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
    pytest.importorskip("mkdocstrings")
    exe = shutil.which("mkdocs") or f"{sys.executable} -m mkdocs"
    cmd = [*exe.split(), "build", "--strict", "-d", str(tmp_path / "site")]
    r = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"} | dict(__import__("os").environ),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "site" / "index.html").exists()
