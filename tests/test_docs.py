"""Every ```python block in docs/ runs here, page by page, top to bottom, in one namespace per page."""

import os
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
pages = sorted(p for p in DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", pages, ids=[str(p.relative_to(DOCS)) for p in pages])
def test_docs_page_runs(page, tmp_path, monkeypatch):
    text = page.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    monkeypatch.chdir(tmp_path)  # pages may write files (checkpoints, plots)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ns: dict = {"__name__": f"docs_{page.stem}"}
    for i, code in enumerate(blocks):
        if "# docs: skip" in code:
            continue
        try:
            exec(compile(code, f"{page.name}[block {i}]", "exec"), ns)
        except Exception as e:
            raise AssertionError(f"{page.relative_to(DOCS)} block {i} failed: {type(e).__name__}: {e}\n---\n{code}") from e


def test_docs_exist():
    assert pages, f"no docs pages under {DOCS}"
    assert os.path.exists(DOCS / "index.md")
