"""Exceptions and warnings raised by heatseq.

A user's mistake (a bad file, a design that cannot be fitted) raises a subclass of
:class:`HeatseqError`; the CLI prints its message as ``Error: ...`` and exits 2. Anything
else is a bug in heatseq and keeps its traceback.

::

    HeatseqError
    ├── InputError      a file or table that cannot be read as given
    └── DesignError     a design formula, contrast or sample sheet that cannot be fitted

    HeatseqWarning (UserWarning)
    └── InputWarning    something was changed or guessed while reading; the message says what
"""

from __future__ import annotations

__all__ = ["DesignError", "HeatseqError", "HeatseqWarning", "InputError", "InputWarning"]


class HeatseqError(Exception):
    """Base class of the errors that a user can fix; the message says how."""


class InputError(HeatseqError, ValueError):
    """A file, table or argument that cannot be used as given."""


class DesignError(HeatseqError, ValueError):
    """A design formula, contrast or sample table that cannot be fitted."""


class HeatseqWarning(UserWarning):
    """Base class of heatseq's warnings."""


class InputWarning(HeatseqWarning):
    """Something in the input was changed or guessed while reading it."""
