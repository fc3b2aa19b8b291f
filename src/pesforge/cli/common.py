"""Shared pieces of the command-line modules: friendly error reporting."""

from __future__ import annotations

import functools
import os
import warnings

import typer

#: Warning categories meant for developers, not for someone running a command.
_QUIET = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _one_line(err: BaseException) -> str:
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def friendly(fn):
    """Run a command, turning bad-input exceptions into a one-line message and exit code 1,
    and library warnings into one-line ``warning:`` messages on stderr."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                return fn(*args, **kwargs)
            except (ValueError, KeyError, OSError) as err:
                if os.environ.get("PESFORGE_DEBUG"):
                    raise
                typer.echo(f"error: {_one_line(err)}", err=True)
                raise typer.Exit(code=1) from None
            finally:
                for w in caught:
                    if not issubclass(w.category, _QUIET):
                        typer.echo(f"warning: {_one_line(Exception(str(w.message)))}", err=True)

    return wrapper
