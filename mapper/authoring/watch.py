"""`--watch`: which files a preview or an explanation depends on, and when one of them changes.

Polling with `stat` (every `INTERVAL_S`): the files are few (a mapping, what it includes, its
lookup tables, the inputs), so a poll costs a few system calls, works on every file system
(network mounts and containers included, where change notifications often do not arrive) and
needs no compiled dependency. An editor that saves by writing a new file and renaming it is
seen too: the inode is part of what is compared.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from mapper.io.inputs import STDIN, expand_inputs
from mapper.io.lookups import lookup_files
from mapper.language.plan import Plan

INTERVAL_S = 0.25
"""How often the watched files are looked at."""
MAPPING_SUFFIXES = (".yaml", ".yml")
MAX_FILES = 5_000
"""At most this many files of a folder tree are watched (a mapping in a huge folder)."""

Stamp = tuple[int, int, int] | None  # (inode, size, mtime in ns); None: the file is missing


def watched_files(
    mapping: Path, inputs: Iterable[str], plan: Plan | None, allow: Iterable[Path] = ()
) -> list[str]:
    """The files a run of `mapping` over `inputs` reads: the mapping, the YAML files of its
    folder tree and of the `allow` folders (where its includes come from), the input files and
    the lookup tables found for them (when the mapping compiled)."""
    files = [str(mapping)]
    for folder in (mapping.parent, *allow):
        files += _tree(folder, MAPPING_SUFFIXES)
    paths, _ = expand_inputs(list(inputs))
    files += [p for p in paths if p != STDIN]
    if plan is not None and plan.lookups:
        for found in lookup_files(plan.lookups, paths, {}).values():
            files += found
    return list(dict.fromkeys(files))


def _tree(folder: Path, suffixes: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [str(Path(root) / n) for n in sorted(names) if n.endswith(suffixes)]
        if len(found) >= MAX_FILES:
            return found[:MAX_FILES]
    return found


def stamps(files: Iterable[str]) -> dict[str, Stamp]:
    """What `changes` compares: each file's inode, size and modification time."""
    out: dict[str, Stamp] = {}
    for path in files:
        try:
            st = Path(path).stat()
        except OSError:
            out[path] = None
        else:
            out[path] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def changes(
    files: Callable[[], Iterable[str]],
    *,
    wait: Callable[[float], None] = time.sleep,
    interval: float = INTERVAL_S,
) -> Iterator[list[str]]:
    """An empty list at once (draw the first time), then the changed files each time one of
    `files()` changes, is created or goes away; never ends (the caller stops on Ctrl-C).

    `files` is asked once at the start and again after each redraw (when the caller asks for
    the next change): an edited mapping may include other files. A file that changes while the
    caller draws is seen at the next poll: its stamp was taken before. `wait` is injectable, so
    a test can change files between polls without sleeping.
    """
    seen = stamps(files())  # before the first draw: a change while it draws is not lost
    yield []
    while True:
        wait(interval)
        now = stamps(seen)
        changed = [p for p in seen if now[p] != seen[p]]
        if changed:
            yield changed
            watched = list(files())
            fresh = stamps(p for p in watched if p not in now)
            seen = {p: now[p] if p in now else fresh[p] for p in watched}
