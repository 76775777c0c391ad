"""The compiled-mapping cache: a repeated `mapper run` on an unchanged mapping skips loading and
compiling it.

An entry is a frozen plan (`mapper.engine.cache`) in one file of the cache folder, named by a
hash of everything the plan depends on:
- the mapping file's bytes, its path as given and resolved, and the `--allow-path` folders;
- the mapper version and a fingerprint of its own source files (size and mtime of each);
- the Python version (code objects are kept with `marshal`) and the folders libraries are
  installed in, with their mtimes (installing or upgrading a library changes them).
The entry also lists every file the loader read while compiling (the `include:`d files) with a
hash of its bytes: a changed or missing include makes the entry stale, and it is compiled again.

Entries are written to a unique temporary file and renamed into place, so concurrent runs never
see half an entry; a reader that meets a torn, corrupt or foreign entry ignores it. The folder
is `MAPPER_CACHE_DIR`, else the user cache folder (`$XDG_CACHE_HOME/mapper`, by default
`~/.cache/mapper`); `MAPPER_NO_CACHE=1` turns the cache off.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from mapper import __version__

try:  # CPython's own sha256, as `random` takes its sha512: hashlib would load OpenSSL (~3 ms)
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # another Python (3.12 names it _sha2)
    from hashlib import sha256

MAGIC = b"mapper-plan-cache 1\n"
SUFFIX = ".plan"
MAX_BYTES = 2 * 1024 * 1024  # language.loader.MAX_MAPPING_BYTES (a larger mapping is refused)


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off (`MAPPER_NO_CACHE`)."""
    if os.environ.get("MAPPER_NO_CACHE", "").strip() not in ("", "0"):
        return None
    override = os.environ.get("MAPPER_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform in ("win32", "darwin"):  # platformdirs knows those; it costs ~7 ms to import
        try:
            import platformdirs
        except ImportError:
            pass
        else:
            return Path(platformdirs.user_cache_dir("mapper", appauthor=False))
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "mapper"


def open_cache() -> PlanCache | None:
    """The user's plan cache, or None when it is turned off."""
    where = cache_dir()
    return PlanCache(where) if where is not None else None


class PlanCache:
    """Frozen plans in a folder (`mapper.engine.cache.PlanStore`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._reads: dict[str, bytes] | None = None

    # -- the store protocol
    def lookup(self, path: str, allow: tuple[str, ...]) -> bytes | None:
        """The frozen plan kept for this mapping, if its key and every dependency still match."""
        try:
            raw = _regular_file_bytes(path)
            if raw is None:
                return None
            entry = self._entry(path, allow, raw)
            with entry.open("rb") as fh:
                if fh.read(len(MAGIC)) != MAGIC:
                    return None
                deps = pickle.load(fh)
                if not _current(deps):
                    return None
                return fh.read()
        except Exception:  # missing, torn, corrupt or foreign: compile instead
            return None

    def store(self, path: str, allow: tuple[str, ...], frozen: bytes) -> None:
        """Keep `frozen` for this mapping with the files read while it compiled; best effort."""
        reads = self._reads or {}
        top = reads.get(_resolved(path))
        if top is None or _regular_file_bytes(path) is None:
            return  # not read, or no regular file (a FIFO, /dev/stdin): nothing to key on
        deps = sorted(
            (name, sha256(data).hexdigest())
            for name, data in reads.items()
            if name != _resolved(path)
        )
        entry = self._entry(path, allow, top)
        body = MAGIC + pickle.dumps(deps, protocol=pickle.HIGHEST_PROTOCOL) + frozen
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_replace(entry, body)
            _prune(entry)

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Note the files the loader reads inside this block (the plan's dependencies)."""
        from mapper.language.loader import READS

        self._reads = {}
        token = READS.set(self._reads)
        try:
            yield
        finally:
            READS.reset(token)

    # -- naming
    def _entry(self, path: str, allow: tuple[str, ...], raw: bytes) -> Path:
        where = "\0".join((path, _resolved(path), *allow, *map(_resolved, allow)))
        place = sha256(where.encode()).hexdigest()[:16]
        key = sha256()
        key.update(_environment())
        key.update(where.encode())
        key.update(raw)
        return self.folder / f"{place}-{key.hexdigest()[:32]}{SUFFIX}"


def _regular_file_bytes(path: str) -> bytes | None:
    """The bytes of a regular file of at most 2 MiB (the loader's limit), else None: a FIFO
    or a device is never read here (the loader must get what it holds)."""
    try:
        info = Path(path).stat()  # before opening: opening a FIFO waits for a writer
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return None
        with Path(path).open("rb") as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError:
        return None


def _resolved(path: str) -> str:
    return str(Path(path).resolve())


def _current(deps: object) -> bool:
    """True when every recorded dependency still has the bytes it had."""
    if not isinstance(deps, list):
        return False
    for name, digest in deps:
        try:
            data = Path(name).read_bytes()
        except OSError:
            return False
        if sha256(data).hexdigest() != digest:
            return False
    return True


_ENVIRONMENT: list[bytes] = []


def environment_digest() -> str:
    """A digest of what a compiled mapping's behaviour depends on besides the mapping: mapper's
    version and source files, Python, the installed libraries (what every cache key includes)."""
    return str(sha256(_environment()).hexdigest())


def _environment() -> bytes:
    """What every key includes: mapper's version and source, Python, the installed libraries."""
    if not _ENVIRONMENT:
        parts = [__version__, sys.version, str(sys.implementation.cache_tag)]
        package = Path(__file__).resolve().parent.parent
        parts += _fingerprint(package)
        parts += _installed()
        _ENVIRONMENT.append("\0".join(parts).encode())
    return _ENVIRONMENT[0]


def _fingerprint(folder: Path) -> list[str]:
    """Name, size and mtime of every Python file of mapper: editing mapper invalidates."""
    found = []
    stack = [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    stack.append(entry.path)
                elif entry.name.endswith(".py"):
                    info = entry.stat()
                    found.append(f"{entry.path}:{info.st_size}:{info.st_mtime_ns}")
    return sorted(found)


def _installed() -> list[str]:
    """The folders libraries are installed in (site-packages) with their mtimes: installing,
    upgrading or removing a library (pydantic, jmespath, ...) adds or removes a folder there,
    which changes the mtime. Cheaper than asking each library its version (no import, no
    metadata); other folders of the import path (the current one) are left out, as writing a
    file there would change them."""
    found = []
    for entry in sys.path:
        if Path(entry).name not in ("site-packages", "dist-packages"):
            continue
        try:
            found.append(f"{entry}:{Path(entry).stat().st_mtime_ns}")
        except OSError:
            found.append(f"{entry}:-")
    return found


def _write_replace(entry: Path, body: bytes) -> None:
    """Write `body` to a unique temporary file beside `entry`, then rename it into place."""
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with tmp.open("xb") as fh:
            fh.write(body)
        os.replace(tmp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _prune(entry: Path) -> None:
    """Remove the older entries of the same mapping (same place, another key)."""
    place = entry.name.split("-", 1)[0]
    for old in entry.parent.glob(f"{place}-*{SUFFIX}"):
        if old.name != entry.name:
            with contextlib.suppress(OSError):
                old.unlink()
