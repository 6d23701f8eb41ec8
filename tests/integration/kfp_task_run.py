"""What one task of the native kfp pipeline left behind, however it was run.

`kfp_local_host` (kfp's own local runner) and `kfp_launcher` (the hand-written stand-in for kfp's
launcher, where kfp.local runs no pipelines) both report a task's run as a `TaskRun`, so the tests
check either the same way.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any


@dataclasses.dataclass
class TaskRun:
    """One executor run: what kfp records of it, and what it printed.

    Attributes:
        outputs: Each output artifact's local path (its URI: local URIs are their own paths).
        parameters: The output parameters, e.g. log_evaluation_metrics' `blessed`.
        metadata: Each output artifact's metadata (for `dsl.Metrics`: the logged values).
        returncode: 0 if the task succeeded.
        log: The task's stdout and stderr.
    """

    outputs: dict[str, str]
    parameters: dict[str, Any]
    metadata: dict[str, dict[str, Any]]
    returncode: int
    log: str

    def properties(self) -> dict[str, Any]:
        """The JSON `sme` prints after its progress lines (TensorFlow may log after it)."""
        match = re.search(r'^\{$', self.log, re.MULTILINE)
        assert match, f'No JSON in the output:\n{self.log}'
        return json.JSONDecoder().raw_decode(self.log, match.start())[0]
