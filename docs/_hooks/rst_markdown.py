r"""The library's reStructuredText-ish docstrings as Markdown for the documentation site.

allocopt's docstrings write their maths the Sphinx way: ``.. math::`` blocks and the ``:math:`...``` role,
``code`` in double backticks, and ``::`` before a literal block. The site renders Markdown with
``pymdownx.arithmatex`` (MathJax), so :func:`rst_to_markdown` turns

- a ``.. math::`` block into one ``$$ ... $$`` block per paragraph (a paragraph is one equation in reST);
- ``:math:`x``` into ``\(x\)`` (a role may span lines: its newlines become spaces);
- other roles (``:func:`x```, ``:class:`x```, ...) and double-backtick literals into single-backtick code;
- ``text <url>`_`` links into ``[text](url)``;
- ``Paragraph::`` and its indented block into ``Paragraph:`` and a fenced code block.

Everything else (paragraphs, ``-`` lists, ``**bold**``, ``*italic*``) is the same in both. :class:`RstMath` is
a griffe extension applying the same conversion to every docstring that mkdocstrings renders.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

try:  # griffe is only needed by the API reference (mkdocstrings); the converter itself is plain Python.
    from griffe import Extension as _GriffeExtension
except ImportError:  # pragma: no cover
    _GriffeExtension = object  # type: ignore[assignment,misc]

_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ ]*)\.\.[ ]+math::[ ]*(?P<rest>.*)$")
_DIRECTIVE_OPTION = re.compile(r"^[ ]*:[a-z-]+:")
_MATH_ROLE = re.compile(r":math:`(?P<body>[^`]+)`")
_OTHER_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|obj|exc|ref|const|term):`!?~?(?P<body>[^`]+)`")
_DOUBLE_BACKTICKS = re.compile(r"(?<!`)``(?P<body>[^`]+?)``(?!`)")
_REST_LINK = re.compile(r"`(?P<text>[^`<]+?)\s*<(?P<url>[^`>]+)>`__?")


def rst_to_markdown(text: str) -> str:
    """Convert one docstring (already dedented, as ``inspect.cleandoc`` gives it) to Markdown."""
    lines = text.expandtabs().splitlines()
    out: list[str] = []  # Markdown lines
    prose: list[str] = []  # consecutive prose lines, converted together (roles may span lines)

    def flush() -> None:
        if prose:
            out.extend(_inline("\n".join(prose)).split("\n"))
            prose.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        math = _MATH_DIRECTIVE.match(line)
        if math:
            flush()
            pad = math.group("indent")
            body, i = _indented_block(lines, i + 1, len(pad))
            while body and _DIRECTIVE_OPTION.match(body[0]):  # :label:, :nowrap: ...
                body.pop(0)
            paragraphs = _paragraphs(textwrap.dedent("\n".join(body)).split("\n"))
            if math.group("rest").strip():
                paragraphs.insert(0, [math.group("rest").strip()])
            _blank_line(out)
            for para in paragraphs:
                out.extend([pad + "$$", *(pad + p for p in para), pad + "$$", ""])
            continue
        stripped = line.rstrip()
        if stripped.endswith("::") and not stripped.lstrip().startswith(".."):
            block, j = _indented_block(lines, i + 1, len(line) - len(line.lstrip()))
            if block and any(b.strip() for b in block):
                head = stripped[:-2]
                # reST: "Text::" shows "Text:", "Text ::" shows "Text", a lone "::" shows nothing.
                head = head.rstrip() if head.endswith(" ") or not head.strip() else head + ":"
                if head.strip():
                    prose.append(head)
                flush()
                pad = " " * (len(line) - len(line.lstrip()))
                code = textwrap.dedent("\n".join(block)).strip("\n")
                _blank_line(out)
                out.extend([pad + "```" + _language(code), *(pad + c for c in code.split("\n")), pad + "```", ""])
                i = j
                continue
        prose.append(line)
        i += 1
    flush()
    return "\n".join(_single_blank_lines(out)).strip("\n")


def _single_blank_lines(lines: list[str]) -> list[str]:
    """Runs of blank lines as one (a math block's own blank lines meet the docstring's), except in fenced code."""
    kept: list[str] = []
    fenced = False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and not line.strip() and kept and not kept[-1].strip():
            continue
        kept.append(line)
    return kept


def _inline(text: str) -> str:
    text = _MATH_ROLE.sub(lambda m: r"\(" + " ".join(m.group("body").split()) + r"\)", text)
    text = _OTHER_ROLE.sub(lambda m: "`" + m.group("body").strip() + "`", text)
    text = _REST_LINK.sub(lambda m: f"[{m.group('text')}]({m.group('url')})", text)
    return _DOUBLE_BACKTICKS.sub(lambda m: "`" + " ".join(m.group("body").split("\n")) + "`", text)


def _indented_block(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """The lines from ``start`` that are blank or indented deeper than ``indent``; and the index after them."""
    j = start
    while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
        j += 1
    block = lines[start:j]
    while block and not block[-1].strip():  # trailing blank lines belong to what follows
        block.pop()
        j -= 1
    while block and not block[0].strip():
        block.pop(0)
    return block, j


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.rstrip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _blank_line(out: list[str]) -> None:
    if out and out[-1].strip():
        out.append("")


def _language(code: str) -> str:
    try:
        ast.parse(code)
    except SyntaxError:
        return "text"
    return "python"


class RstMath(_GriffeExtension):  # type: ignore[misc,valid-type]
    """griffe extension: every docstring that mkdocstrings renders goes through :func:`rst_to_markdown`."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        # The package itself is not among the objects on_object sees (only its members are).
        self.on_object(obj=pkg)
