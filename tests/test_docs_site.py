"""The documentation site: ``mkdocs build --strict`` succeeds, and the generated pages hold what they must.

The site is built once (into a temporary directory) by the same command a user runs. ``--strict`` turns every
warning into a failure: a broken link or anchor, a page missing from the nav, a problem whose model has no
docstring or whose schema or docs/format.md section is missing (docs/_hooks/hooks.py warns about those). The
checks below then hold the generated pages to the library itself: every registered problem and method, every
subcommand and option of the CLI parser, every name of ``allocopt.__all__``, every notebook. mkdocs is in the
``docs`` extra, which scripts/setup.sh installs with the test tools: when it is missing the build fails (no
skip).
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

import allocopt
from allocopt.cli import _parser
from allocopt.registry import problems

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 600


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", ROOT / "docs" / "_hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about MkDocs 2.0
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    elapsed = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed ({elapsed:.1f} s):\n{log[-6000:]}"
    assert "WARNING" not in log, log
    print(f"mkdocs build --strict: {elapsed:.1f} s")
    return out


def _page(site: Path, url: str) -> str:
    path = site / url / "index.html"
    assert path.is_file(), f"no page {url}/ in the site"
    return path.read_text(encoding="utf-8")


def _rows(page: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", page, flags=re.DOTALL)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _code(text: str) -> str:
    return f"<code>{html.escape(text, quote=False)}</code>"


def test_every_registered_problem_has_a_page_with_its_maths_fields_and_methods(site: Path) -> None:
    index = _page(site, "problems")
    for name, spec in problems().items():
        page = _page(site, f"problems/{name}")
        assert f'href="../{name}/"' in index or f'href="{name}/"' in index, f"problems index misses {name}"
        method_rows = [r for r in _rows(page) if r.strip().startswith("<td>")]
        for method in spec.methods:
            assert any(r.split("</td>")[0].endswith(_code(method)) for r in method_rows), f"{name}: no row {method}"
        data_schema = json.loads((ROOT / "allocopt" / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
        solution_schema = json.loads((ROOT / "allocopt" / "schemas" / f"{name}.solution.json").read_text("utf-8"))
        for field in [*data_schema.get("properties", {}), *solution_schema.get("properties", {})]:
            assert _code(field) in page, f"{name}: the field table misses {field!r}"
        # The docstring's maths came through as MathJax markup, not as reST.
        assert 'class="arithmatex"' in page, f"{name}: no maths on its page"
        assert ":math:" not in page and ".. math::" not in page, f"{name}: reST maths left unconverted"
        assert 'href="../../format/#' in page, f"{name}: no link to its file-format section"


def test_methods_page_lists_every_method_of_every_problem(site: Path) -> None:
    rows = _rows(_page(site, "methods"))
    for name, spec in problems().items():
        for method in spec.methods.values():
            guarantee = "exact" if method.exact else "heuristic"
            assert any(_code(name) in r and _code(method.name) in r and f"<td>{guarantee}</td>" in r for r in rows), (
                f"methods page: no row for {name} / {method.name} ({guarantee})"
            )


def test_cli_page_documents_every_subcommand_and_option_of_the_parser(site: Path) -> None:
    page = _page(site, "cli")
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert action.choices, "the parser has no subcommands"
    sections = dict(re.findall(r'<h2 id="allocopt-([\w-]+)">(.*?)(?=<h2 |</article>)', page, flags=re.DOTALL))
    for command, sub in action.choices.items():
        assert command in sections, f"CLI page: no section for 'allocopt {command}'"
        for a in sub._actions:
            for flag in a.option_strings:
                if flag not in ("-h", "--help"):
                    assert _code(flag) in sections[command], f"allocopt {command}: option {flag} not documented"
            if not a.option_strings:
                assert _code(a.metavar or a.dest) in sections[command], f"allocopt {command}: argument {a.dest}"


def test_api_reference_documents_every_name_of_the_package(site: Path) -> None:
    pages = "".join(p.read_text(encoding="utf-8") for p in (site / "reference").rglob("index.html"))
    index = _page(site, "reference")
    for name in allocopt.__all__:
        module = getattr(allocopt, name).__module__
        assert f'id="{module}.{name}"' in pages, f"API reference: {module}.{name} is not documented"
        assert _code(f"allocopt.{name}") in index, f"API reference index: allocopt.{name} missing"
    # The package docstring's example is a code block (reST "::" converted), not text ending in "::".
    assert "::</p>" not in index and "<pre" in index
    assert "allocopt.solve(instance)" in _text(index)


def test_file_format_page_is_docs_format_md(site: Path) -> None:
    source = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    first_heading = re.search(r"^# (.+)$", source, flags=re.MULTILINE)
    assert first_heading is not None
    page = _page(site, "format")
    words = re.sub(r"[`*]", "", first_heading.group(1))
    assert words.split(" (")[0] in _text(page)


def test_every_notebook_is_rendered_with_its_stored_outputs_and_not_executed(site: Path) -> None:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    index = _page(site, "notebooks")
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        page = _page(site, f"notebooks/{path.stem}")
        assert f'href="{path.stem}/"' in index or f'href="../{path.stem}/"' in index, f"index misses {path.name}"
        first_code = next(("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"), "")
        first_line = first_code.strip().split("\n")[0]
        assert re.sub(r"\W+", "", first_line) in re.sub(r"\W+", "", _text(page)), f"{path.name}: code missing"
        images = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        assert page.count("data:image/png") >= images, f"{path.name}: stored figures missing"
        # One MathJax (the site's MathJax 3) on the page: nbconvert's MathJax 2 loader was removed.
        assert "Load mathjax" not in page and "mathjax/2." not in page


def test_getting_started_has_the_readmes_two_commands(site: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Set up and run.*?```bash\n(.*?)```", readme, flags=re.MULTILINE | re.DOTALL)
    assert section is not None, "README.md: no '## Set up and run' section with a bash block"
    commands = [line.split("#")[0].strip() for line in section.group(1).splitlines() if line.strip()]
    assert len(commands) >= 2
    page = _text(_page(site, "getting-started"))
    for command in commands:
        assert command in page, f"getting started: {command!r} missing"


def test_rst_to_markdown_converts_what_the_docstrings_use() -> None:
    convert = _load("rst_markdown").rst_to_markdown
    text = (
        "Costs :math:`c_{ij}\n\\ge 0` and ``build_model`` (:func:`~allocopt.solve`).\n\n"
        ".. math::\n\n    \\min C\n    \\text{s.t.} x \\le 1\n\n    y = 2,\n\nthen::\n\n    x = 1\n"
    )
    assert convert(text) == (
        "Costs \\(c_{ij} \\ge 0\\) and `build_model` (`allocopt.solve`).\n\n"
        "$$\n\\min C\n\\text{s.t.} x \\le 1\n$$\n\n$$\ny = 2,\n$$\n\n"
        "then:\n\n```python\nx = 1\n```"
    )
    assert convert(convert(text)) == convert(text)  # griffe may see a docstring twice
    # A "::" with no indented block after it is just text.
    assert convert("a ratio of 3::4") == "a ratio of 3::4"


def test_schema_types_read_unambiguously() -> None:
    hooks = _load("hooks")
    matrix = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "array", "items": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}},
    }
    assert hooks.type_text(matrix) == "array (≥ 1 item) of array of (integer ≥ 0 or null)"
    nested = {"properties": {"units": {"type": "array", "items": {"properties": {"size": {"type": "integer"}}}}}}
    assert [row[0] for row in hooks.schema_rows(nested)] == ["units", "units[].size"]
