"""Errors the core raises beyond the built-in ones the original raised.

Each subclasses the built-in it refines, so code written against the original
SavedModelEstimator (which raised ValueError and RuntimeError) keeps working.
"""

from __future__ import annotations


class SavedModelFormatError(ValueError):
    """A path is not a readable SavedModel: missing, not a SavedModel, or corrupt."""

    def __init__(self, path: str, problem: str, hint: str = '') -> None:
        self.path = path
        self.problem = problem
        message = f'SavedModel at {path!r}: {problem}'
        if hint:
            message += f' {hint}'
        super().__init__(message)


class ModeNotAvailableError(RuntimeError):
    """The SavedModel has no MetaGraph (or no signature) for the requested mode."""

    def __init__(self, mode: str, available: list[str]) -> None:
        self.mode = mode
        self.available = list(available)
        super().__init__(
            f'{mode} mode is not available in the SavedModel. Use saved_model_cli to check that '
            'the Metagraph for this mode has been exported.'
        )
