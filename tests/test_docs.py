"""Every Python code block in README.md and docs/*.md runs (blocks of one page share a namespace),
and the configuration page lists every configuration key."""
import pathlib
import re

import pytest

from mlpcore.config import field_docs

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem}"}
    for code in blocks:
        exec(compile(code, str(page), "exec"), namespace)


def test_configuration_page_lists_every_key():
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [key for key, _, _ in field_docs() if f"`{key}`" not in text]
    assert not missing
