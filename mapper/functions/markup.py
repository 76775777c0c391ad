"""html_to_text(), adf_to_text(): plain text from HTML and Confluence storage format (the stdlib
parser, in `functions.htmltext`) and from Atlassian Document Format."""

from __future__ import annotations

import re

from jmespath.functions import signature

from mapper.functions.arguments import STRING_OR_NULL

MAX_HTML_LENGTH = 2_000_000  # characters; longer bodies give null rather than a slow run
_SPACES = re.compile(r"\s+")


def html_text(html: str) -> str | None:
    """The visible text of `html`, one line per block element; None if unparsable or too long
    (`functions.htmltext`, imported on first use)."""
    if len(html) > MAX_HTML_LENGTH:
        return None
    from mapper.functions.htmltext import html_text as parsed

    return parsed(html)


_ADF_BLOCKS = frozenset({
    "paragraph", "heading", "blockquote", "codeBlock", "listItem", "tableRow", "panel", "rule",
    "mediaSingle", "mediaGroup", "decisionItem", "taskItem", "expand", "nestedExpand",
})  # fmt: skip
_ADF_INLINE_ATTRS = {
    "mention": "text",
    "emoji": "text",
    "inlineCard": "url",
    "status": "text",
    "date": "timestamp",
}
MAX_ADF_NODES = 200_000


def adf_text(doc: object) -> str | None:
    """The text of an Atlassian Document Format tree, one line per block; None if not ADF."""
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        return None
    lines: list[str] = [""]
    stack: list[object] = [doc]
    budget = MAX_ADF_NODES
    while stack and budget:  # iterative: deep documents cannot exhaust the Python stack
        budget -= 1
        node = stack.pop()
        if node == "\n":
            lines.append("")
            continue
        if not isinstance(node, dict):
            continue
        _adf_node(node, lines, stack)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in lines)
    return "\n".join(line for line in text.split("\n") if line)


def _adf_node(node: dict[str, object], lines: list[str], stack: list[object]) -> None:
    kind = node.get("type")
    kind = kind if isinstance(kind, str) else ""
    attrs = node.get("attrs")
    text = node.get("text")
    if kind == "text" and isinstance(text, str):
        lines[-1] += text
    elif kind == "hardBreak":
        lines.append("")
    elif kind in _ADF_INLINE_ATTRS and isinstance(attrs, dict):
        value = attrs.get(_ADF_INLINE_ATTRS[kind])
        lines[-1] += str(value) if value is not None else ""
    content = node.get("content")
    children: list[object] = list(content) if isinstance(content, list) else []
    if kind in _ADF_BLOCKS:
        lines.append("")
        children.append("\n")
    stack.extend(reversed(children))


class MarkupFunctions:
    """html_to_text(), adf_to_text()."""

    @signature({"types": []})
    def _func_adf_to_text(self, doc: object) -> str | None:
        """Plain text from an Atlassian Document Format tree (Jira v3 descriptions, comments).

        Text nodes are joined; paragraphs, headings, list items, table rows and other blocks
        start new lines; mentions, emoji, statuses and inline cards give their text or URL.
        Anything that is not an ADF node (a string, null, an object without `type`) gives null, so
        `coalesce(adf_to_text(d), d)` reads both REST v3 (ADF) and v2 (text) descriptions.

        Signature: adf_to_text(doc: any) -> string|null

        Examples:
            adf_to_text(d) | data: {"d": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Fix "}, {"type": "mention", "attrs": {"id": "5b10", "text": "@Dana"}}]}, {"type": "bulletList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "MAP-17"}]}]}]}]}} => "Fix @Dana\\nMAP-17"
            adf_to_text(d) | data: {"d": {"content": []}} => null
            adf_to_text('wiki *text*') => null
            adf_to_text(missing) => null
        """
        return adf_text(doc)

    @signature({"types": STRING_OR_NULL})
    def _func_html_to_text(self, html: str | None) -> str | None:
        """Plain text from HTML or Confluence storage format (for `content.text`, descriptions).

        Tags are dropped and entities decoded; each block element (p, div, li, br, h1, tr, ...)
        starts a new line; runs of whitespace become one space and blank lines are dropped.
        Scripts, styles and Confluence macro parameters are skipped; CDATA bodies (code macros)
        are kept. Inputs over 2,000,000 characters, or that the parser rejects, give null.

        Signature: html_to_text(html: string|null) -> string|null

        Examples:
            html_to_text('<p>Hello <b>Dana</b> &amp; co</p><p>Bye</p>') => "Hello Dana & co\\nBye"
            html_to_text('<ul><li>one</li><li>two</li></ul>') => "one\\ntwo"
            html_to_text('a<br/>b<script>x()</script>') => "a\\nb"
            html_to_text('plain text') => "plain text"
            html_to_text(missing) => null
        """
        return None if html is None else html_text(html)
