"""The HTML side of html_to_text(): the stdlib parser reading visible text (HTML, Confluence
storage format). A module of its own: `html.parser` is imported when a record first needs it,
not with the functions every run loads (`functions.markup`)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul",
    "ac:layout-section", "ac:layout-cell", "ac:task", "ac:structured-macro", "ac:rich-text-body",
})  # fmt: skip
# content that is not text: code, styling, and Confluence macro parameters (macro settings)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "ac:parameter"})
_SPACES = re.compile(r"\s+")
# Confluence references whose visible text is an attribute: a linked page's title, a file name
_REFERENCE_ATTRS = {
    "ri:page": "ri:content-title",
    "ri:blog-post": "ri:content-title",
    "ri:attachment": "ri:filename",
    "ri:url": "ri:value",
}
_KEPT_PARAMETERS = frozenset({"key", "title"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skip_depth = 0
        self.pre_depth = 0
        self.parameters: list[bool] = []  # open ac:parameter tags: kept (True) or skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "ac:parameter":
            kept = named.get("ac:name") in _KEPT_PARAMETERS  # a Jira macro's issue key is content
            self.parameters.append(kept)
            if kept:
                return
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _REFERENCE_ATTRS and not self.skip_depth:
            self.handle_data(named.get(_REFERENCE_ATTRS[tag]) or "")
        elif tag in _BLOCK_TAGS:
            self.pre_depth += tag == "pre"
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "ac:parameter" and self.parameters and self.parameters.pop():
            return  # a kept parameter (see handle_starttag)
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
    """The visible text of `html`, one line per block element; None if unparsable (the caller,
    `markup.html_text`, refuses one that is too long)."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:  # the stdlib parser asserts on unknown `<![keyword[` sections
        return None
    return parser.text()
