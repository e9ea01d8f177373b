"""Errors raised by ``pitwall.ml``.

Every error message names the field (column, parameter, file) and the problem, so that
API handlers can turn them into HTTP 4xx answers without a stack trace.
"""

from __future__ import annotations


class PitwallMLError(Exception):
    """Base class of all ``pitwall.ml`` errors."""


class MLInputError(PitwallMLError, ValueError):
    """Bad input: a missing column, an unknown algorithm, a wrong parameter value, ..."""


class ArtifactIntegrityError(PitwallMLError):
    """A model artifact or bundle failed verification.

    Raised for a checksum mismatch, a missing or unexpected file, an unsafe file name
    (absolute, ``..``, symlink), a pickle file, an unknown serialisation type, or a
    malformed ``metadata.json``. Nothing is deserialised before this check passes.
    """
