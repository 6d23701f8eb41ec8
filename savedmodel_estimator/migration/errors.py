"""Why an export cannot be migrated: `MigrationError`, carrying every problem found."""

from __future__ import annotations

from collections.abc import Sequence


class MigrationError(ValueError):
    """The export cannot be turned into a faithful TF2 SavedModel; nothing was written.

    Attributes:
        export_dir: The export that was refused.
        problems: One sentence per problem: what, where, and why it cannot be migrated.
        hint: What to do about it, or ''.
    """

    def __init__(self, export_dir: str, problems: Sequence[str], hint: str = '') -> None:
        self.export_dir = str(export_dir)
        self.problems = list(problems)
        self.hint = hint
        listing = '\n'.join(f'  - {problem}' for problem in self.problems)
        message = f'Cannot migrate the SavedModel at {self.export_dir!r}:\n{listing}'
        if hint:
            message += f'\n{hint}'
        super().__init__(message)
