"""Errors about user input. Each names the option, field or row at fault."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input; ``loc`` is where it is (e.g. ``("body", "model")`` or ``("rows", 17, "title")``)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.loc)
        return f"{where}: {self.message}" if where else self.message


class NotFound(LookupError):
    pass
