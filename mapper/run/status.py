"""How a run or a command ended; the command line exits with these numbers."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """0 ok; 1 invalid mapping or failed test; 2 usage error; 3 records rejected;
    4 input/output problem; 130 interrupted."""

    OK = 0
    MAPPING_INVALID = 1
    USAGE = 2
    REJECTED = 3
    IO = 4
    INTERRUPTED = 130
