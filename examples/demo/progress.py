"""One status line that redraws in place on a terminal and leaves nothing behind."""

from __future__ import annotations

from typing import TextIO

_CLEAR_LINE = "\r\x1b[K"  # back to column 0, erase to the end of the line
_SPINNER = "|/-\\"


class StatusLine:
    """``update()`` redraws the line (terminals only); ``done()`` replaces it with a final
    line; ``clear()`` erases it. Elsewhere (a log file, a pipe) only ``done()`` writes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._interactive = stream.isatty()
        self._ticks = 0
        self._drawn = False

    def update(self, text: str) -> None:
        if not self._interactive:
            return
        spinner = _SPINNER[self._ticks % len(_SPINNER)]
        self._ticks += 1
        self._stream.write(f"{_CLEAR_LINE}{text} {spinner}")
        self._stream.flush()
        self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            self._stream.write(_CLEAR_LINE)
            self._stream.flush()
            self._drawn = False

    def done(self, text: str) -> None:
        self.clear()
        self._stream.write(f"{text}\n")
        self._stream.flush()
