"""html_to_text(): plain text from HTML and Confluence storage format, with the stdlib parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from jmespath.functions import signature

from mapper.functions.arguments import STRING_OR_NULL

MAX_HTML_LENGTH = 2_000_000  # characters; longer bodies give null rather than a slow run

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul",
    "ac:layout-section", "ac:layout-cell", "ac:task", "ac:structured-macro", "ac:rich-text-body",
})  # fmt: skip
# content that is not text: code, styling, and Confluence macro parameters (macro settings)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "ac:parameter"})
_SPACES = re.compile(r"\s+")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skip_depth = 0
        self.pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.pre_depth += tag == "pre"
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.pre_depth = max(0, self.pre_depth - (tag == "pre"))
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:  # keep the line breaks of preformatted text
            first, *rest = data.split("\n")
            self.lines[-1] += first
            self.lines.extend(rest)
        else:
            self.lines[-1] += _SPACES.sub(" ", data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):  # Confluence code macros keep their body in CDATA
            self.pre_depth += 1
            self.handle_data(data[len("CDATA[") :])
            self.pre_depth -= 1

    def text(self) -> str:
        lines = (_SPACES.sub(" ", line.replace("\xa0", " ")).strip() for line in self.lines)
        return "\n".join(line for line in lines if line)


def html_text(html: str) -> str | None:
    """The visible text of `html`, one line per block element; None if unparsable or too long."""
    if len(html) > MAX_HTML_LENGTH:
        return None
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:  # the stdlib parser asserts on unknown `<![keyword[` sections
        return None
    return parser.text()


class MarkupFunctions:
    """html_to_text()."""

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
