"""nabla's errors as Python exceptions.

Every error the library reports is raised as one of these classes, with the library's own
message (the same text the command line prints). Each is a :class:`NablaError`, and also
the built-in exception it is a kind of, so ``except ValueError`` and ``except OSError``
work as they do with numpy and the standard library.
"""

__all__ = [
    "NablaError",
    "AutodiffError",
    "OperatorError",
    "PointsError",
    "DataError",
    "ExpressionError",
    "ConfigError",
    "InputError",
    "FileError",
    "RanksError",
]


class NablaError(Exception):
    """Base class of every error raised by nabla."""


class AutodiffError(NablaError, RuntimeError):
    """The automatic-differentiation core refused a computation (shapes that do not fit)."""


class OperatorError(NablaError, ValueError):
    """An operator that does not apply to the field's shape (``curl`` of a scalar, ...)."""


class PointsError(NablaError, ValueError):
    """Points that cannot be used (wrong dimension, empty, not finite)."""


class DataError(NablaError, ValueError):
    """Data that cannot be reconstructed (too few samples, NaN values, missing arrays)."""


class ExpressionError(NablaError, ValueError):
    """An expression that does not parse or uses a name that does not exist (with its column)."""


class ConfigError(NablaError, ValueError):
    """A setting or argument outside what is allowed (a degree of 7, an unknown operator)."""


class InputError(NablaError, ValueError):
    """A file whose content is wrong, at its line and column (a case file, an OpenFOAM dictionary)."""


class FileError(NablaError, OSError):
    """A file that cannot be read or written (missing, malformed, too large), named."""


class RanksError(NablaError, RuntimeError):
    """An error of another MPI rank, or of the ranks together."""
