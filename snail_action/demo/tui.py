"""The demo's terminal output: marks, colour when the stream is a terminal, indented sync output."""

from __future__ import annotations

import io
from typing import TextIO


class Ui:
    def __init__(self, stream: TextIO):
        self.stream = stream
        color = getattr(stream, "isatty", lambda: False)()
        utf8 = (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8"
        self.tick, self.cross = ("\u2714", "\u2718") if utf8 else ("ok", "FAIL")
        self._bold, self._dim, self._green, self._red, self._reset = (
            ("\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[0m") if color else ("",) * 5)

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def heading(self, text: str) -> None:
        self.line()
        self.line(f"{self._bold}{text}{self._reset}")

    def dim(self, text: str) -> str:
        return f"{self._dim}{text}{self._reset}"

    def mark(self, ok: bool) -> str:
        return f"{self._green}{self.tick}{self._reset}" if ok else f"{self._red}{self.cross}{self._reset}"


class Indented(io.TextIOBase):
    """Lines written to it go to the demo's output, indented under the push they belong to."""

    def __init__(self, ui: Ui, prefix: str = "    "):
        self.ui, self.prefix, self._buf = ui, prefix, ""

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.ui.line(self.ui.dim(self.prefix + line))
        return len(text)
