"""The documentation runs: every ```python block of README.md, docs/*.md and docs/course/*.md is executed, page by
page, in a temporary working folder (the blocks of one page share one namespace, in order).

A block directly preceded by the comment ``<!-- skip-test -->`` is not run; it is meant for code
that cannot run offline, and no page uses it today. ``bash`` and other blocks are not run. The
configuration page must list every configuration key, and relative links must lead to files.
"""
import pathlib
import re

import pytest

from mlpcore.config import field_docs

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md")), *sorted(DOCS.glob("course/*.md"))]
SKIP_MARK = "<!-- skip-test -->"

# A fenced block: the opening fence with its language, the body, the closing fence.
FENCE = re.compile(r"^```([\w+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
LANGUAGES = {"python", "bash", "toml", "text", "json", "csv", "cpp", "cmake", ""}


def code_blocks(text):
    """(language, first line number of the body, body, skipped) for each fenced block."""
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip()
        skipped = before.endswith(SKIP_MARK)
        line = text.count("\n", 0, m.start(2)) + 1
        out.append((m.group(1), line, m.group(2), skipped))
    return out


def test_pages_found():
    names = {p.name for p in PAGES}
    for page in ("index.md", "quickstart.md", "model.md", "training.md", "datasets.md", "plotting.md",
                 "cli.md", "configuration.md", "file-format.md"):
        assert page in names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for language, line, body, skipped in code_blocks(page.read_text(encoding="utf-8")):
        if language != "python" or skipped:
            continue
        # Pad with newlines so a traceback points at the right line of the page.
        exec(compile("\n" * (line - 1) + body, str(page), "exec"), namespace)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_fences_are_known_languages(page):
    # A typo such as ```py would silently keep a block from being tested.
    langs = {language for language, _, _, _ in code_blocks(page.read_text(encoding="utf-8"))}
    assert langs <= LANGUAGES, f"{page.name}: unexpected fence languages {sorted(langs - LANGUAGES)}"


def anchors(page):
    """GitHub's anchors for the headings of a page: lower case, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", page.read_text(encoding="utf-8")), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        linked = page.parent / target if target else page
        assert linked.exists(), f"{page.name} links to missing {target}"
        if anchor:
            assert anchor in anchors(linked), f"{page.name} links to missing heading {target}#{anchor}"


def test_index_links_every_page():
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    missing = [p.name for p in DOCS.glob("*.md") if p.name != "index.md" and f"]({p.name})" not in text]
    assert not missing


def test_course_index_links_every_lesson():
    course = DOCS / "course"
    text = (course / "index.md").read_text(encoding="utf-8")
    lessons = [p.name for p in course.glob("*.md") if p.name != "index.md"]
    assert len(lessons) == 8
    missing = [name for name in lessons if f"]({name})" not in text]
    assert not missing, f"docs/course/index.md does not link {missing}"


def test_configuration_page_lists_every_key():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [key for key, _, _ in field_docs() if f"`{key}`" not in text]
    assert not missing


def test_code_blocks_parser():
    text = "a\n<!-- skip-test -->\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert code_blocks(text) == [("python", 4, "x = 1\n", True), ("bash", 8, "ls\n", False),
                                 ("python", 11, "y = 2\n", False)]
