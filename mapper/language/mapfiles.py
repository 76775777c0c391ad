"""Language stage, load step: reading a mapping file's bytes as text, or saying why not.

Every mapping and included file is read here, within the size limit; with READS set, the bytes
read are noted for the compiled-mapping cache.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from mapper.errors import Diagnostic, SourceSpan

MAX_MAPPING_BYTES = 2 * 1024 * 1024
READS: ContextVar[dict[str, bytes] | None] = ContextVar("mapper_reads", default=None)
"""When set, every mapping file read is noted here (resolved path -> bytes): the compiled-
mapping cache keeps a plan with the files it came from (`mapper.io.plancache`)."""


UNREADABLE = "spec.unreadable"  # a mapping file that cannot be read: an I/O problem (exit 4)


def read_mapping_file(path: Path) -> tuple[str | None, Diagnostic | None]:
    """Read a mapping file as UTF-8 text, or say why it cannot be read.

    The size limit counts the bytes actually read (never stat: /dev/zero or a FIFO says 0).
    """
    where = SourceSpan(str(path), 1, 1)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_MAPPING_BYTES + 1)
        reads = READS.get()
        if reads is not None:
            reads[str(path.resolve())] = raw
    except FileNotFoundError:
        whole = SourceSpan.whole_file(str(path))
        return None, Diagnostic(UNREADABLE, "cannot read mapping: not found", span=whole)
    except OSError as err:
        whole = SourceSpan.whole_file(str(path))
        return None, Diagnostic(
            UNREADABLE, f"cannot read mapping: {err.strerror or err}", span=whole
        )
    if len(raw) > MAX_MAPPING_BYTES:
        limit = MAX_MAPPING_BYTES // (1024 * 1024)
        return None, Diagnostic("yaml.too-large", f"mapping is larger than {limit} MiB", span=where)
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        return None, Diagnostic(
            "yaml.encoding", f"mapping is not UTF-8 text (byte {err.start})", span=where
        )
