"""Document typing: mime_category() (MIME type -> TWG document category) and file_extension()."""

from __future__ import annotations

import re

from jmespath.functions import signature

from mapper.functions.arguments import STRING_OR_NULL

_GOOGLE = "application/vnd.google-apps."
_OOXML = "application/vnd.openxmlformats-officedocument."
_OPENDOC = "application/vnd.oasis.opendocument."
_MIME_TYPES: dict[str, tuple[str, ...]] = {
    "FOLDER": (_GOOGLE + "folder", "inode/directory", "application/x-directory"),
    "DOCUMENT": (
        _GOOGLE + "document", _GOOGLE + "kix", "application/msword",
        _OOXML + "wordprocessingml.document", _OOXML + "wordprocessingml.template",
        "application/vnd.ms-word.document.macroenabled.12", _OPENDOC + "text",
        "application/rtf", "text/rtf", "application/vnd.apple.pages", "application/epub+zip",
        "text/plain", "text/markdown", "text/x-markdown", "text/html",
    ),
    "SPREADSHEET": (
        _GOOGLE + "spreadsheet", "application/vnd.ms-excel", _OOXML + "spreadsheetml.sheet",
        _OOXML + "spreadsheetml.template", "application/vnd.ms-excel.sheet.macroenabled.12",
        _OPENDOC + "spreadsheet", "application/vnd.apple.numbers",
        "text/csv", "text/tab-separated-values",
    ),
    "PRESENTATION": (
        _GOOGLE + "presentation", "application/vnd.ms-powerpoint",
        _OOXML + "presentationml.presentation", _OOXML + "presentationml.slideshow",
        _OPENDOC + "presentation", "application/vnd.apple.keynote",
    ),
    "PDF": ("application/pdf", "application/x-pdf"),
    "IMAGE": (_GOOGLE + "drawing", _GOOGLE + "photo"),
    "VIDEO": (_GOOGLE + "video",),
    "AUDIO": (_GOOGLE + "audio",),
    "ARCHIVE": (
        "application/zip", "application/x-zip-compressed", "application/x-tar",
        "application/gzip", "application/x-gzip", "application/x-7z-compressed",
        "application/vnd.rar", "application/x-rar-compressed", "application/x-bzip2",
        "application/x-xz", "application/zstd", "application/java-archive",
    ),
    "CODE": (
        _GOOGLE + "script", "application/json", "application/xml", "text/xml",
        "application/javascript", "text/javascript", "application/typescript",
        "application/x-sh", "application/x-httpd-php", "application/sql",
        "application/x-yaml", "application/yaml", "text/yaml", "text/css",
    ),
}  # fmt: skip
_EXACT = {mime: category for category, mimes in _MIME_TYPES.items() for mime in mimes}
# checked in order after the exact table
_PREFIXES = (
    ("image/", "IMAGE"), ("video/", "VIDEO"), ("audio/", "AUDIO"),
    ("text/x-", "CODE"), ("text/", "DOCUMENT"),
)  # fmt: skip
_SUFFIXES = (("+json", "CODE"), ("+xml", "CODE"), ("+zip", "ARCHIVE"))
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,16}")
_PATH_SEPARATOR = re.compile(r"[/\\]")


def category_of(mime: str) -> str:
    """The document category of a MIME type (parameters and case ignored); OTHER if unknown."""
    base = mime.split(";", 1)[0].strip().lower()
    if base in _EXACT:
        return _EXACT[base]
    for prefix, category in _PREFIXES:
        if base.startswith(prefix):
            return category
    return next((category for suffix, category in _SUFFIXES if base.endswith(suffix)), "OTHER")


class DocumentFunctions:
    """mime_category(), file_extension()."""

    @signature({"types": STRING_OR_NULL})
    def _func_mime_category(self, mime: str | None) -> str | None:
        """The `atlassian:document` category of a MIME type, upper case; OTHER if unknown.

        One of DOCUMENT, SPREADSHEET, PRESENTATION, FOLDER, PDF, IMAGE, VIDEO, AUDIO, ARCHIVE,
        CODE, OTHER. Knows Google Workspace types (`application/vnd.google-apps.*`), Microsoft
        Office (OOXML and legacy), OpenDocument and Apple iWork; `image/*`, `video/*`, `audio/*`;
        zip, tar, gzip, 7z, rar, bzip2, xz; source code (`text/x-*`, JavaScript, JSON, XML,
        YAML, SQL, CSS). Other `text/*` (plain, markdown, html) is DOCUMENT, CSV SPREADSHEET.
        Parameters such as `; charset=utf-8` and letter case are ignored.

        Signature: mime_category(mime: string|null) -> string|null

        Examples:
            mime_category('application/vnd.google-apps.document') => "DOCUMENT"
            mime_category('application/vnd.google-apps.spreadsheet') => "SPREADSHEET"
            mime_category('application/vnd.google-apps.presentation') => "PRESENTATION"
            mime_category('application/vnd.google-apps.folder') => "FOLDER"
            mime_category('application/vnd.openxmlformats-officedocument.wordprocessingml.document')
                => "DOCUMENT"
            mime_category('application/pdf') => "PDF"
            mime_category('image/png') => "IMAGE"
            mime_category('video/mp4') => "VIDEO"
            mime_category('audio/mpeg') => "AUDIO"
            mime_category('application/x-7z-compressed') => "ARCHIVE"
            mime_category('text/x-python') => "CODE"
            mime_category('text/markdown; charset=UTF-8') => "DOCUMENT"
            mime_category('application/octet-stream') => "OTHER"
            mime_category(missing) => null
        """
        return None if mime is None else category_of(mime)

    @signature({"types": STRING_OR_NULL})
    def _func_file_extension(self, name: str | None) -> str | None:
        """The lower-case extension of a file name or path, without the dot; null if none.

        Only the last path segment counts. An extension is 1-16 letters or digits after the
        last dot, so `v1.5 notes`, `.bashrc` and `name.` have none.

        Signature: file_extension(name: string|null) -> string|null

        Examples:
            file_extension('Q2 plan.DOCX') => "docx"
            file_extension('backup.tar.gz') => "gz"
            file_extension('docs/v1.5/README') => null
            file_extension('.bashrc') => null
        """
        if name is None:
            return None
        stem, _, extension = _PATH_SEPARATOR.split(name)[-1].rpartition(".")
        return extension.lower() if stem and _EXTENSION.fullmatch(extension) else None
