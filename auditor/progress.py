"""Progress output for people watching a pass: objects read per source.

A person at a terminal wants to see that a 20,000-object directory read is moving; a cron job,
the systemd service and a pipe into `jq` want nothing at all on their streams. So `progress_for`
returns a rich progress display only when the stream is a terminal, and a silent reporter with the
same API otherwise. The pipeline never has to ask which one it has:

    reporter = progress_for()
    with reporter.source("directory") as tick:
        for record in source.collect():
            tick(1)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from auditor.terminal import printable

__all__ = ["ProgressReporter", "RichProgressReporter", "Tick", "progress_for"]

Tick = Callable[[int], None]
"""Called with the number of objects just read (not a running total)."""


class ProgressReporter:
    """The silent reporter: counts, shows nothing. Also the interface of the visible one."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def source(self, name: str) -> Iterator[Tick]:
        """Report objects read from source `name` inside the block through the yielded `tick`."""
        with self._lock:
            self.counts.setdefault(name, 0)

        def tick(n_objects: int) -> None:
            with self._lock:
                self.counts[name] += n_objects

        yield tick


class RichProgressReporter(ProgressReporter):
    """One line per source (spinner, objects so far, elapsed time), drawn while any source runs."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            TextColumn("[bold]{task.completed:>8,.0f}[/] objects"),
            TimeElapsedColumn(),
            console=Console(file=stream),
        )
        self._active = 0

    @contextmanager
    def source(self, name: str) -> Iterator[Tick]:
        with self._lock:
            if self._active == 0:
                self._progress.start()
            self._active += 1
        # A source name comes from the config: shown as text, never as Rich markup or a control code.
        label = escape(printable(name))
        task: TaskID = self._progress.add_task(label, total=None)
        failed = False
        try:
            with super().source(name) as count:

                def tick(n_objects: int) -> None:
                    count(n_objects)
                    self._progress.advance(task, n_objects)

                yield tick
        except BaseException:
            failed = True
            raise
        finally:
            description = f"{label} [red](failed)" if failed else label
            self._progress.update(task, description=description, total=self.counts[name])
            self._progress.stop_task(task)
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._progress.stop()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def progress_for(stream: IO[str] | None = None) -> ProgressReporter:
    """A visible reporter when `stream` (default stderr) is a terminal, a silent one otherwise."""
    out = sys.stderr if stream is None else stream
    return RichProgressReporter(out) if _is_terminal(out) else ProgressReporter()
