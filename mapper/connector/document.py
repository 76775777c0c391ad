"""A small document model (sections, paragraphs, tables, lists, callouts) and its renderers.

The connector documentation is built once as a `Document`, then written as Markdown or as a
standalone HTML page, so both formats always say the same thing. Inline text is a tuple of
plain strings, `Code` (an expression, a key) and `Strong` parts; renderers escape each part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Code:
    """Inline code: an expression, a file name, a key."""

    text: str


@dataclass(frozen=True, slots=True)
class Strong:
    """Emphasised text."""

    text: str


Inline = str | Code | Strong
Text = tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph."""

    text: Text

    @classmethod
    def of(cls, *parts: Inline) -> Para:
        """A paragraph of these parts."""
        return cls(parts)


@dataclass(frozen=True, slots=True)
class Callout:
    """A prominent notice (a blockquote in Markdown, an aside in HTML)."""

    text: Text


@dataclass(frozen=True, slots=True)
class Bullets:
    """A bulleted list."""

    items: tuple[Text, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A table with a header row."""

    header: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A titled section; its blocks may hold subsections."""

    title: str
    blocks: tuple[Block, ...]


Block = Union[Para, Callout, Bullets, Table, Section]  # noqa: UP007  (a forward reference)


@dataclass(frozen=True, slots=True)
class Document:
    """A whole document: a title and its top-level blocks."""

    title: str
    blocks: tuple[Block, ...]


def one_line(text: str) -> str:
    """An expression written over several YAML lines, on one line."""
    return re.sub(r"\s*\n\s*", " ", text).strip()


# --- Markdown -----------------------------------------------------------------------------


def to_markdown(doc: Document) -> str:
    """The document as GitHub-flavoured Markdown."""
    parts = [f"# {doc.title}", *(_md_block(b, 2) for b in doc.blocks)]
    return "\n\n".join(parts) + "\n"


def _md_code(text: str, *, in_table: bool = False) -> str:
    text = one_line(text)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    out = f"{fence}{pad}{text}{pad}{fence}"
    return out.replace("|", "\\|") if in_table else out


def _md_plain(text: str, *, in_table: bool = False) -> str:
    text = re.sub(r"([\\*_<>\[\]])", r"\\\1", text)
    return text.replace("|", "\\|") if in_table else text


def _md_text(text: Text, *, in_table: bool = False) -> str:
    out = []
    for part in text:
        if isinstance(part, Code):
            out.append(_md_code(part.text, in_table=in_table))
        elif isinstance(part, Strong):
            out.append(f"**{_md_plain(part.text, in_table=in_table)}**")
        else:
            out.append(_md_plain(part, in_table=in_table))
    return "".join(out)


def _md_block(block: Block, level: int) -> str:
    if isinstance(block, Section):
        inner = [_md_block(b, level + 1) for b in block.blocks]
        return "\n\n".join([f"{'#' * level} {block.title}", *inner])
    if isinstance(block, Para):
        return _md_text(block.text)
    if isinstance(block, Callout):
        return "> " + _md_text(block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_md_text(item)}" for item in block.items)
    return _md_table(block)


def _md_table(table: Table) -> str:
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    for row in table.rows:
        lines.append("| " + " | ".join(_md_text(c, in_table=True) for c in row) + " |")
    return "\n".join(lines)


# --- HTML ---------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;"
    "padding:.3rem .6rem;text-align:left;vertical-align:top}code{background:#f4f4f4;"
    "padding:0 .2rem}aside{border-left:.3rem solid #d97706;background:#fff7ed;"
    "padding:.6rem 1rem;margin:1rem 0}"
)


def to_html(doc: Document) -> str:
    """The document as a standalone HTML page."""
    body = "\n".join(_html_block(b, 2) for b in doc.blocks)
    title = html.escape(doc.title)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    )


def _html_text(text: Text) -> str:
    out = []
    for part in text:
        if isinstance(part, Code):
            out.append(f"<code>{html.escape(one_line(part.text))}</code>")
        elif isinstance(part, Strong):
            out.append(f"<strong>{html.escape(part.text)}</strong>")
        else:
            out.append(html.escape(part))
    return "".join(out)


def _html_block(block: Block, level: int) -> str:
    if isinstance(block, Section):
        inner = "\n".join(_html_block(b, level + 1) for b in block.blocks)
        tag = f"h{min(level, 6)}"
        return f"<section>\n<{tag}>{html.escape(block.title)}</{tag}>\n{inner}\n</section>"
    if isinstance(block, Para):
        return f"<p>{_html_text(block.text)}</p>"
    if isinstance(block, Callout):
        return f"<aside><p>{_html_text(block.text)}</p></aside>"
    if isinstance(block, Bullets):
        items = "".join(f"<li>{_html_text(i)}</li>" for i in block.items)
        return f"<ul>{items}</ul>"
    return _html_table(block)


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{_html_text(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"


RENDERERS: dict[str, Callable[[Document], str]] = {"markdown": to_markdown, "html": to_html}


def iter_text(doc: Document) -> Iterator[str]:
    """Every piece of text in the document, in order (for tests and searches)."""
    yield doc.title
    yield from (t for b in doc.blocks for t in _block_text(b))


def _block_text(block: Block) -> Iterator[str]:
    if isinstance(block, Section):
        yield block.title
        yield from (t for b in block.blocks for t in _block_text(b))
    elif isinstance(block, Para | Callout):
        yield from (p if isinstance(p, str) else p.text for p in block.text)
    elif isinstance(block, Bullets):
        yield from (p if isinstance(p, str) else p.text for i in block.items for p in i)
    else:
        yield from (p if isinstance(p, str) else p.text for r in block.rows for c in r for p in c)
