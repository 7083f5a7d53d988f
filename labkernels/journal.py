"""An append-only journal for long measurements: what was measured so far survives a crash.

A GPU sweep takes minutes to hours; a kernel that faults, a machine's time
limit or a Ctrl-C should cost the point being measured, not the sweep. So each
outcome is written the moment it is known, as one JSON object per line, flushed
and ``fsync``'d: a line is on disk before the next measurement starts, and a
kill mid-write can tear only the last line (which :func:`open_journal` drops).

The first line records the settings the sweep was started with. Resuming with
other settings is refused, naming each difference: points measured on another
GPU, shape or number of timed calls do not belong to one experiment.

    j = open_journal("out/journal.jsonl", {"gpu": "H100", "N": 8192}, resume=True)
    j.entries            # what earlier runs wrote (empty for a new journal)
    j.append({"kernel": "fp16/v02_naive", "M": 1, "status": "measured", ...})
    j.close()
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

VERSION = 1


class Journal:
    """An open journal: ``header`` (its first line), ``entries`` (the lines after it, read when
    resuming) and :meth:`append`."""

    def __init__(self, path: Path, header: dict, entries: list, resumed: bool):
        self.path, self.header, self.entries, self.resumed = path, header, entries, resumed
        self._f = open(path, "a", encoding="utf-8")

    def append(self, entry: dict) -> None:
        """Write one entry and make it durable before returning."""
        self._f.write(json.dumps(entry, default=str) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def differences(old: dict, new: dict) -> list[str]:
    """``"key: journal X, now Y"`` for every setting that differs."""
    return [f"{k}: journal {old.get(k)!r}, now {new.get(k)!r}"
            for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]


def open_journal(path, settings: dict, *, resume: bool, what: str = "sweep") -> Journal:
    """Open ``path`` to continue it (``resume`` and it exists) or start it afresh.

    Starting afresh over an existing journal keeps the old one as ``<name>.prev<suffix>``.
    A ``ValueError`` when resuming a journal of other settings, or one that is damaged.
    """
    path = Path(path)
    settings = json.loads(json.dumps(settings))  # as it will read back: tuples become lists
    if resume and path.exists():
        header, entries = _read(path)
        if header.get("settings") != settings:
            diff = "; ".join(differences(header.get("settings") or {}, settings))
            raise ValueError(f"cannot resume the {what} in {str(path)!r}: it was started with other settings "
                             f"({diff}); run without --resume to start over, or give another --out")
        return Journal(path, header, entries, resumed=True)
    if path.exists():
        os.replace(path, path.with_name(f"{path.stem}.prev{path.suffix}"))
    header = {"journal": f"labkernels {what}", "version": VERSION,
              "started": _dt.datetime.now().isoformat(timespec="seconds"), "settings": settings}
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(header) + "\n")
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(path.parent)  # the new file's name is durable too
    return Journal(path, header, [], resumed=False)


def _read(path: Path) -> tuple[dict, list]:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        # The process died in the middle of writing its last line: that point was not finished.
        cut = data.rfind(b"\n") + 1
        with open(path, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    lines = data.decode("utf-8").splitlines()
    out = []
    for i, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise ValueError(f"the journal {str(path)!r} is damaged at line {i} ({e}); run without --resume to "
                             f"start over") from None
        out.append(obj)
    if not out or out[0].get("version") != VERSION or "settings" not in out[0]:
        raise ValueError(f"{str(path)!r} is not a labkernels journal (version {VERSION}); run without --resume "
                         f"to start over")
    return out[0], out[1:]


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
