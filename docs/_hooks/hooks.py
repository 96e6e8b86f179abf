"""MkDocs hook: the pages of the site that are generated from the library itself.

Nothing here is written to disk: the pages are virtual files added in ``on_files``.

- ``problems/<name>.md`` for every problem in ``allocopt.registry.problems()``: the maths of its model module's
  docstring (reST converted to Markdown by ``rst_markdown``), its JSON Schemas as field tables, its methods
  (summary, exact or heuristic, engines, options) and a small example instance when one is committed. A new
  problem gets its page as soon as its method table registers it; a module that registers nothing is not a
  problem and gets none.
- ``methods.md``: every method of every problem, from the same registry.
- ``cli.md``: the command line, read from the argparse parser of ``allocopt.cli``.
- ``reference/*.md``: the API reference, one mkdocstrings page per module of the public API.
- ``notebooks/*.ipynb``: the notebooks of ``notebooks/``, rendered (not executed) by mkdocs-jupyter.

``on_config`` fills the ``Problems``, ``API reference`` and ``Notebooks`` sections of the nav in ``mkdocs.yml``
with those pages. Anything missing that a page needs (a model docstring, a schema, a README section) is a
warning, so ``mkdocs build --strict`` fails on it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from markdown.extensions.toc import slugify
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rst_markdown import rst_to_markdown  # a sibling file, not a package

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("mkdocs.plugins.allocopt_docs")

#: Modules of the API reference besides those that ``allocopt.__all__`` re-exports from, in nav order.
REFERENCE_MODULES = (
    "allocopt.api",
    "allocopt.envelope",
    "allocopt.result",
    "allocopt.registry",
    "allocopt.plot",
    "allocopt.workers",
)
#: An example instance is shown on a problem's page when its file is at most this large.
EXAMPLE_MAX_BYTES = 1500
#: Column width for argparse's help text (it reads COLUMNS), so that the CLI page does not depend on the terminal.
HELP_COLUMNS = "100"

_pages: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------- events
def on_config(config: Any) -> Any:
    import allocopt
    from allocopt.registry import problems

    _pages.clear()
    specs = problems()
    _pages["problems/index.md"] = problems_index(specs)
    for name, spec in sorted(specs.items()):
        _pages[f"problems/{name}.md"] = problem_page(spec)
    _pages["methods.md"] = methods_page(specs)
    _pages["cli.md"] = cli_page()
    modules = reference_modules(allocopt)
    _pages["reference/index.md"] = reference_index(allocopt, modules)
    for module in modules:
        _pages[f"reference/{module}.md"] = f"# `{module}`\n\n::: {module}\n{_members_option(module)}"
    _pages["notebooks/index.md"] = notebooks_index()

    sections = {
        "Problems": ["problems/index.md", *(f"problems/{n}.md" for n in sorted(specs))],
        "API reference": ["reference/index.md", *(f"reference/{m}.md" for m in modules)],
        "Notebooks": ["notebooks/index.md", *(f"notebooks/{nb.name}" for nb in notebooks())],
    }
    for title, pages in sections.items():
        entry = next((e for e in config.nav or [] if isinstance(e, dict) and title in e), None)
        if entry is None:
            log.warning(f"mkdocs.yml: the nav has no section {title!r} to hold the generated pages")
            continue
        entry[title] = pages
    return config


@event_priority(50)  # before mkdocs-jupyter's on_files, which wraps the notebooks added here
def on_files(files: Files, config: Any) -> Files:
    for uri, content in _pages.items():
        files.append(File.generated(config, uri, content=content))
    # A real File rooted at the repository (not File.generated): mkdocs-jupyter's wrapper reads the path from
    # src_dir + src_uri, which a generated file does not have.
    for nb in notebooks():
        files.append(File(f"notebooks/{nb.name}", str(ROOT), config.site_dir, config.use_directory_urls))
    return files


_README_MARKER = re.compile(r"^<!-- readme: (?P<title>.+?) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """``<!-- readme: TITLE -->`` on a line of its own: the README's section of that title (``intro``: its start)."""
    return _README_MARKER.sub(lambda m: readme_section(m.group("title")), markdown)


# nbconvert's template loads MathJax 2 for the notebook's maths; the site loads MathJax 3 for every page
# (javascripts/mathjax.js typesets the notebooks' $...$ too). Two MathJax versions on one page fight.
_NB_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL)


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        return _NB_MATHJAX.sub("", html)
    return html


# ------------------------------------------------------------------------------------------ the README
def readme_section(title: str) -> str:
    """The body of the README section whose ``## `` heading starts with ``title`` (``intro``: before the first)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    if title == "intro":
        body = parts[0].split("\n", 1)[1] if parts[0].startswith("# ") else parts[0]
    else:
        found = [p for p in parts[1:] if p.startswith(title)]
        if not found:
            log.warning(f"README.md has no section '## {title}' for the documentation site")
            return ""
        body = found[0].split("\n", 1)[1]
    return _readme_links(body.strip()) + "\n"


def _readme_links(text: str) -> str:
    """README links are relative to the repository root: docs/X becomes X, other relative links plain text."""

    def fix(m: re.Match[str]) -> str:
        label, target = m.group(1), m.group(2)
        if re.match(r"[a-z]+://", target) or target.startswith("#"):
            return m.group(0)
        if target.startswith("docs/"):
            return f"[{label}]({target[len('docs/') :]})"
        return label

    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", fix, text)


# ---------------------------------------------------------------------------------------- problem pages
def model_module(spec: Any) -> Any:
    """The module that says what the problem is (its ``parse``), whose docstring holds the maths."""
    return inspect.getmodule(spec.parse)


def problem_summary(spec: Any) -> str:
    doc = inspect.getdoc(model_module(spec)) or ""
    return rst_to_markdown(doc.strip().split("\n\n")[0]).replace("\n", " ") if doc else ""


def problems_index(specs: Mapping[str, Any]) -> str:
    rows = [
        f"| [`{name}`]({name}.md) | {_cell(problem_summary(spec), markdown=True)} | {_sense(spec)} | "
        + ", ".join(f"`{m}`" for m in spec.methods)
        + " |"
        for name, spec in sorted(specs.items())
    ]
    return "\n".join(
        [
            "# Problems",
            "",
            "Every problem the library knows, with its maths, its file fields and its methods. These pages are",
            "generated from the library itself: the docstring of each problem's model module, its JSON Schemas and",
            "its method table. The file format is described on [its own page](../format.md).",
            "",
            "| problem | what it is | objective | methods |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def problem_page(spec: Any) -> str:
    name = spec.name
    module = model_module(spec)
    doc = inspect.getdoc(module)
    if not doc:
        log.warning(f"problem {name!r}: its model module {module.__name__} has no docstring (the maths)")
        doc = ""
    summary, _, body = doc.strip().partition("\n\n")
    facts = [
        ("objective", _sense(spec)),
        ("methods", ", ".join(f"`{m}`" for m in spec.methods) + " (and `auto`, which picks one)"),
        (
            "models to extend",
            "`allocopt.build_model(instance)`"
            + (", `allocopt.build_cp_model(instance)` (CP-SAT)" if spec.build_cp_model is not None else ""),
        ),
        ("model module", f"`{module.__name__}`"),
    ]
    anchor = format_anchor(name)
    if anchor is None:
        log.warning(f"problem {name!r} has no section in docs/format.md (a heading that starts with `{name}`)")
    else:
        facts.append(("file format", f"[`{name}` in the file format](../format.md#{anchor})"))
    lines = [
        f"# `{name}`",
        "",
        rst_to_markdown(summary).replace("\n", " "),
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts),
        "",
        "## The problem and its formulations",
        "",
        rst_to_markdown(body) if body.strip() else "*(The model module's docstring has only its summary line.)*",
        "",
        "## Instance data",
        "",
        'The fields of the instance\'s `"data"` object; the envelope around it (`format`, `problem`, `name`, ...)',
        "is the same for every problem ([file format](../format.md)).",
        "",
        *schema_section(name),
        "## Solution",
        "",
        'The fields of a solution file\'s `"solution"` object.',
        "",
        *schema_section(f"{name}.solution"),
        *methods_section(spec),
        *example_section(name),
    ]
    return "\n".join(lines) + "\n"


def _sense(spec: Any) -> str:
    words = {"max": "maximize", "min": "minimize"}
    text = words.get(spec.sense, spec.sense)
    return f"{text} (or as the instance's `sense` says)" if spec.instance_sense is not None else text


def methods_section(spec: Any) -> list[str]:
    lines = [
        "## Methods",
        "",
        "| method | guarantee | engines | what it does |",
        "|---|---|---|---|",
        *(
            f"| `{m.name}` | {_guarantee(m)} | {_engines(m.solvers)} | {_cell(m.summary)} |"
            for m in spec.methods.values()
        ),
        "",
    ]
    choose_doc = inspect.getdoc(spec.choose)
    lines += [
        "`auto` "
        + (
            f"({rst_to_markdown(choose_doc)})"
            if choose_doc
            else "picks the fastest exact method the instance allows, or a heuristic with a bound when the "
            "instance is too large for it; `Result.method` says which ran."
        ),
        "",
    ]
    options = [(m.name, k, v) for m in spec.methods.values() for k, v in m.options.items()]
    if options:
        lines += [
            "### Options",
            "",
            "Passed as keyword arguments (`allocopt.solve(instance, method=..., key=value)`) or on the command",
            "line (`-o key=value`, the value read as JSON when it parses).",
            "",
            "| method | option | meaning |",
            "|---|---|---|",
            *(f"| `{m}` | `{k}` | {_cell(v)} |" for m, k, v in options),
            "",
        ]
    return lines


def _guarantee(method: Any) -> str:
    return "exact" if method.exact else "heuristic"


def _engines(solvers: tuple[str, ...]) -> str:
    if not solvers:
        return "the library's own algorithm"
    words = ["any Pyomo MILP solver (HiGHS by default)" if s == "*pyomo" else f"`{s}`" for s in solvers]
    return ", ".join(words) + (" (the first is the default)" if len(words) > 1 else "")


def example_section(name: str) -> list[str]:
    folder = ROOT / "instances" / name
    files = [p for p in folder.rglob("*.json") if not p.name.endswith(".solution.json")] if folder.is_dir() else []
    small = sorted((p for p in files if p.stat().st_size <= EXAMPLE_MAX_BYTES), key=lambda p: (p.stat().st_size, p))
    if not small:
        return []
    from allocopt.envelope import dumps

    path = small[0].relative_to(ROOT).as_posix()
    count = f"one of the {len(files)} instance files" if len(files) > 1 else "the instance file"
    return [
        "## Example",
        "",
        f"`{path}`, {count} under `instances/{name}/`:",
        "",
        "```json",
        dumps(json.loads(small[0].read_text(encoding="utf-8"))),
        "```",
        "",
        "```bash",
        f"allocopt solve {path}    # writes its .solution.json beside it",
        f"allocopt methods {name}",
        "```",
        "",
    ]


def format_anchor(name: str) -> str | None:
    """The anchor of the file format's heading for ``name`` (a heading that starts with `name`), if any."""
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    found = None
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", _strip_fences(text), flags=re.MULTILINE):
        heading = m.group(1)
        slug = slugify(re.sub(r"[`*]", "", heading), "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        if found is None and heading.startswith(f"`{name}`"):
            found = slug if n == 0 else f"{slug}_{n}"
    return found


def _strip_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


# ------------------------------------------------------------------------------------------ schemas
def schema_section(schema_name: str) -> list[str]:
    try:
        schema = json.loads(resources.files("allocopt.schemas").joinpath(f"{schema_name}.json").read_text("utf-8"))
    except FileNotFoundError:
        log.warning(f"no JSON Schema allocopt/schemas/{schema_name}.json for the documentation site")
        return ["*(No schema.)*", ""]
    lines = []
    for key in ("title", "description"):
        if schema.get(key):
            lines += [_cell(schema[key][0].upper() + schema[key][1:]) + ("." if key == "title" else ""), ""]
    rows = list(schema_rows(schema))
    if rows:
        lines += [
            "| field | type | required | meaning |",
            "|---|---|---|---|",
            *(f"| `{path}` | {kind} | {'yes' if req else ''} | {_cell(desc)} |" for path, kind, req, desc in rows),
            "",
        ]
    if "^x-" in json.dumps(schema.get("patternProperties", {})):
        lines += ["Keys that start with `x-` are yours: the library keeps them and ignores them.", ""]
    return lines


def schema_rows(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str, bool, str]]:
    """(path, type, required, description) for every named field, nested objects included (``a.b``, ``a[].b``)."""
    required = set(schema.get("required", ()))
    props = schema.get("properties", {})
    for key, sub in props.items():
        path = prefix + key
        desc = sub.get("description", "")
        one = schema.get("maxProperties") == 1 and schema.get("minProperties") == 1
        if one:
            desc = (desc + " " if desc else "") + f"(exactly one of {', '.join(f'`{k}`' for k in props)})"
        yield path, type_text(sub), key in required, desc
        yield from _nested_rows(sub, path)


def _nested_rows(sub: Mapping[str, Any], path: str) -> Iterator[tuple[str, str, bool, str]]:
    seen: set[str] = set()
    for branch in [sub, *sub.get("oneOf", ()), *sub.get("anyOf", ())]:
        suffix, inner = "", branch
        while inner.get("type") == "array" and isinstance(inner.get("items"), dict):
            suffix, inner = suffix + "[]", inner["items"]
        if "properties" in inner:
            for row in schema_rows(inner, f"{path}{suffix}."):
                if row[0] not in seen:
                    seen.add(row[0])
                    yield row


def type_text(s: Mapping[str, Any]) -> str:
    """A short reading of a JSON Schema: ``array of number ≥ 0``, ``integer or null``, ``one of "a", "b"``."""
    if "const" in s:
        return f"`{json.dumps(s['const'])}`"
    if "enum" in s:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in s["enum"])
    branches = s.get("oneOf") or s.get("anyOf")
    if branches:
        texts = list(dict.fromkeys(type_text(b) for b in branches))
        return " or ".join(texts)
    if "$ref" in s:
        return f"`{s['$ref'].rsplit('/', 1)[-1]}`"
    kinds = s.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if not kinds:
        return "any"
    parts = []
    for kind in kinds:
        if kind == "array":
            size = _size(s.get("minItems"), s.get("maxItems"), "item")
            items = s.get("items")
            item = type_text(items) if isinstance(items, dict) and items else ""
            item = f"({item})" if _is_union(item) else item  # "array of (integer or null)", not ambiguous
            parts.append(f"array{size}" + (f" of {item}" if item else ""))
        elif kind == "object":
            extra = s.get("additionalProperties")
            if isinstance(extra, dict) and extra and "properties" not in s:
                parts.append(f"object of name → {type_text(extra)}")
            else:
                parts.append("object")
        elif kind in ("number", "integer"):
            parts.append(kind + _bounds(s))
        elif kind == "string":
            parts.append("string" + (f" matching `{s['pattern']}`" if "pattern" in s else ""))
        else:
            parts.append(str(kind))
    return " or ".join(parts)


def _is_union(text: str) -> bool:
    """Whether ``text`` has an " or " outside parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith(" or ", i):
            return True
    return False


def _bounds(s: Mapping[str, Any]) -> str:
    lo = [f"≥ {_num(s['minimum'])}"] if "minimum" in s else []
    lo += [f"> {_num(s['exclusiveMinimum'])}"] if "exclusiveMinimum" in s else []
    hi = [f"≤ {_num(s['maximum'])}"] if "maximum" in s else []
    hi += [f"< {_num(s['exclusiveMaximum'])}"] if "exclusiveMaximum" in s else []
    both = lo + hi
    return " " + ", ".join(both) if both else ""


def _size(lo: int | None, hi: int | None, word: str) -> str:
    if lo is not None and lo == hi:
        return f" of {lo} {word}s" if lo != 1 else f" of 1 {word}"
    if lo and hi is not None:
        return f" ({lo} to {hi} {word}s)"
    if lo:
        return f" (≥ {lo} {word}{'s' if lo > 1 else ''})"
    if hi is not None:
        return f" (≤ {hi} {word}s)"
    return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# ---------------------------------------------------------------------------------------- methods page
def methods_page(specs: Mapping[str, Any]) -> str:
    rows = [
        f"| [`{name}`](problems/{name}.md) | `{m.name}` | {_guarantee(m)} | {_engines(m.solvers)} "
        f"| {_cell(m.summary)} |"
        for name, spec in sorted(specs.items())
        for m in spec.methods.values()
    ]
    total = sum(len(s.methods) for s in specs.values())
    return "\n".join(
        [
            "# Methods",
            "",
            f"The {total} methods of the {len(specs)} problems, read from the library's method tables (the same",
            "list as `allocopt methods`). Each problem's page has its methods' options.",
            "",
            "- **exact**: the result is `optimal` when the method finishes (the front door re-derives the status",
            "  from the proven bound; on a time limit an exact method reports its incumbent and bound: `feasible`",
            "  with a gap).",
            "- **heuristic**: a feasible solution, checked by the problem's independent checker, with a proven",
            "  bound where the method has one: the result's `gap` says how far from optimal it can be.",
            "- **engines**: what the method calls; `solver=` (`--solver`) picks among them. The library's own",
            "  algorithms report solver `null`.",
            "",
            "`auto` (the default) picks the fastest exact method the instance allows, and falls back to a",
            "heuristic when the instance is too large for it; `Result.method` says which ran.",
            "",
            "| problem | method | guarantee | engines | what it does |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


# -------------------------------------------------------------------------------------------- CLI page
@contextlib.contextmanager
def _columns(width: str) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def cli_parser() -> argparse.ArgumentParser:
    from allocopt import cli

    return cli._parser()


def subcommands(parser: argparse.ArgumentParser) -> tuple[dict[str, argparse.ArgumentParser], dict[str, str]]:
    """The subparsers by name, and each one's one-line help."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help or "" for a in action._choices_actions}
    return dict(action.choices), helps


def cli_page() -> str:
    from allocopt import cli

    with _columns(HELP_COLUMNS):
        parser = cli_parser()
        subs, helps = subcommands(parser)
        lines = [
            "# Command line",
            "",
            "Generated from the argparse parser of `allocopt.cli`: every subcommand with its arguments.",
            "",
            rst_to_markdown(inspect.getdoc(cli) or ""),
            "",
            "```text",
            parser.format_help().rstrip(),
            "```",
            "",
            "| command | what it does |",
            "|---|---|",
            *(f"| [`allocopt {name}`](#allocopt-{name}) | {_cell(helps.get(name, ''))} |" for name in subs),
            "",
        ]
        for name, sub in subs.items():
            lines += [f"## `allocopt {name}` {{#allocopt-{name}}}", ""]
            lines += [_cell(sub.description or helps.get(name, "")), ""]
            lines += ["```text", sub.format_usage().rstrip(), "```", ""]
            for group in sub._action_groups:
                actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
                if not actions:
                    continue
                lines += [f"**{group.title}**", "", "| argument | meaning |", "|---|---|"]
                lines += [f"| {_argument(a)} | {_argument_help(a)} |" for a in actions]
                lines += [""]
            if sub.epilog:
                lines += ["```text", sub.epilog.rstrip(), "```", ""]
    return "\n".join(lines)


def _argument(a: argparse.Action) -> str:
    if a.option_strings:
        names = ", ".join(f"`{s}`" for s in a.option_strings)
        if a.nargs == 0:
            return names
        metavar = a.metavar or ("{" + ",".join(map(str, a.choices)) + "}" if a.choices else a.dest.upper())
        return f"{names} `{metavar}`"
    return f"`{a.metavar or a.dest}`" + ("..." if a.nargs in ("+", "*") else "")


def _argument_help(a: argparse.Action) -> str:
    parts = [_cell(a.help or "")]
    if a.choices and not a.option_strings:
        parts.append("one of " + ", ".join(f"`{c}`" for c in a.choices))
    if a.required and a.option_strings:
        parts.append("(required)")
    if a.nargs == "?":
        parts.append("(optional)")
    if isinstance(a, argparse._AppendAction) and "repeatable" not in (a.help or ""):
        parts.append("(repeatable)")
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------- API reference
def reference_modules(package: Any) -> list[str]:
    """The modules that ``allocopt.__all__`` re-exports from, and the rest of REFERENCE_MODULES."""
    exported = [getattr(package, n).__module__ for n in package.__all__]
    exported = [m for m in exported if m.startswith("allocopt.")]
    return list(dict.fromkeys([*REFERENCE_MODULES, *sorted(set(exported))]))


def _members_option(module_name: str) -> str:
    """A module that re-exports names in its ``__all__`` is shown with its own members only (no duplicates)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        return ""
    own = [n for n in names if getattr(getattr(module, n, None), "__module__", module_name) == module_name]
    return "    options:\n      members:\n" + "".join(f"        - {n}\n" for n in own)


def reference_index(package: Any, modules: list[str]) -> str:
    rows = []
    for name in package.__all__:
        obj = getattr(package, name)
        doc = (inspect.getdoc(obj) or "").strip().split("\n\n")[0].replace("\n", " ")
        rows.append(f"| [`allocopt.{name}`][{obj.__module__}.{name}] | {_cell(rst_to_markdown(doc), markdown=True)} |")
    return "\n".join(
        [
            "# API reference",
            "",
            "Generated from the docstrings by mkdocstrings.",
            "",
            "::: allocopt",
            "    options:",
            "      members: false",
            "      show_root_heading: false",
            "",
            "## What `import allocopt` gives",
            "",
            "| name | what it is |",
            "|---|---|",
            *rows,
            "",
            "## Modules",
            "",
            *(f"- [`{m}`]({m}.md)" for m in modules),
            "",
        ]
    )


# --------------------------------------------------------------------------------------------- notebooks
def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def notebook_title(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#\s+(.+)$", "".join(cell.get("source", [])), flags=re.MULTILINE)
            if m:
                return m.group(1).strip()
    return path.stem


def notebooks_index() -> str:
    items = [f"- [{_cell(notebook_title(nb), markdown=True)}]({nb.name}) (`notebooks/{nb.name}`)" for nb in notebooks()]
    return "\n".join(
        [
            "# Notebooks",
            "",
            "The teaching notebooks of `notebooks/`, shown with the outputs stored in them (the site does not run",
            "them; the test suite does, and checks their key numbers). To run them yourself, from the repository:",
            "",
            "```bash",
            'pip install -e ".[test]" jupyterlab   # the kernel, matplotlib, and Jupyter itself',
            "jupyter lab notebooks/",
            "```",
            "",
            *items,
            "",
        ]
    )


# ---------------------------------------------------------------------------------------------- helpers
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _cell(text: str, markdown: bool = False) -> str:
    """Text for one table cell: one line, pipes escaped; plain text (``markdown=False``) also has the
    characters Markdown would read as emphasis or HTML escaped, outside its code spans."""
    text = " ".join(str(text).split())
    out, last = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_escape(text[last : m.start()], markdown))
        out.append(m.group(0).replace("|", r"\|"))
        last = m.end()
    out.append(_escape(text[last:], markdown))
    return "".join(out)


def _escape(text: str, markdown: bool) -> str:
    if markdown:
        return text.replace("|", r"\|")
    text = text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([*_\[\]|])", r"\\\1", text)
