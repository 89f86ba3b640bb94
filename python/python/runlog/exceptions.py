"""runlog's errors, as MLflow raises them: ``MlflowException`` with MLflow's
``error_code``, one subclass per code (catch ``MlflowException`` to catch
them all)."""

from __future__ import annotations


class MlflowException(Exception):
    """An error with MLflow's error code (``INVALID_PARAMETER_VALUE``,
    ``RESOURCE_DOES_NOT_EXIST``, ``RESOURCE_ALREADY_EXISTS``,
    ``INVALID_STATE``, or ``INTERNAL_ERROR`` for a storage error)."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, message, error_code=None):
        super().__init__(message)
        self.message = str(message)
        if error_code is not None:
            self.error_code = error_code

    def __str__(self):
        return self.message


class InvalidParameterValue(MlflowException):
    """A value MLflow's rules refuse (``INVALID_PARAMETER_VALUE``)."""

    error_code = "INVALID_PARAMETER_VALUE"


class ResourceDoesNotExist(MlflowException):
    """No such run, experiment or artifact (``RESOURCE_DOES_NOT_EXIST``)."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceAlreadyExists(MlflowException):
    """An experiment name taken (``RESOURCE_ALREADY_EXISTS``)."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidState(MlflowException):
    """Not allowed now, e.g. a run already active (``INVALID_STATE``)."""

    error_code = "INVALID_STATE"


class StoreError(MlflowException):
    """The store or the tracking server failed, not the request
    (``INTERNAL_ERROR``): I/O, damage on disk, a server out of reach, a
    full spool."""

    error_code = "INTERNAL_ERROR"


_BY_CODE = {
    cls.error_code: cls
    for cls in (InvalidParameterValue, ResourceDoesNotExist, ResourceAlreadyExists, InvalidState)
}


def exception_for(message, error_code):
    """The exception for an error of the engine (called by the native module)."""
    return _BY_CODE.get(error_code, StoreError)(message, error_code)
