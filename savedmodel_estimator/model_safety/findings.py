"""What the model safety scan refuses, and where: one `Finding` per problem."""

from __future__ import annotations

import dataclasses
import enum


class Kind(str, enum.Enum):
    """What a finding is about; whether naming the op type in `allowed_ops` accepts it."""

    OP = 'op'  # an op type the table refuses
    UNREVIEWED = 'unreviewed'  # an op type the table does not hold
    ATTRIBUTE = 'attribute'  # an allowed op with an attribute naming something outside
    SAVER = 'saver'  # a checkpoint op or node the MetaGraph's saver does not account for
    UNREGISTERED = 'unregistered'  # an op type this TensorFlow does not register
    DEVICE = 'device'  # a node pinned to a device of another process
    ASSET = 'asset'  # an asset whose file name leaves the SavedModel's assets/
    FILE = 'file'  # a file of the SavedModel that resolves outside it (a symbolic link)

    @property
    def allowable(self) -> bool:
        return self in (Kind.OP, Kind.UNREVIEWED, Kind.ATTRIBUTE, Kind.SAVER)


def describe_tags(tags: tuple[str, ...] | list[str]) -> str:
    """`MetaGraph ['serve', 'gpu']`: quoted, so no renderer mistakes the tags for markup."""
    return f'MetaGraph {list(tags)!r}' if tags else 'MetaGraph [] (no tags)'


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing the scan refuses: what, where, why, and what it expected instead.

    Attributes:
        op_type: The node's op type, or '' when the finding is about a file.
        node_name: The node (for an asset, its tensor), or the file's path in the SavedModel.
        tags: The tags of the MetaGraph that holds it (empty for a file).
        reason: What is wrong, worded to follow the subject.
        expected: What would have been accepted.
        function: The library function that holds the node, if not the graph itself.
        kind: What the finding is about (see `Kind`).
        subject: What the message leads with when it is not the op type (e.g. "asset 'x'").
    """

    op_type: str
    node_name: str
    tags: tuple[str, ...]
    reason: str
    expected: str = ''
    function: str | None = None
    kind: Kind = Kind.OP
    subject: str = ''

    @property
    def allowable(self) -> bool:
        """Whether naming `op_type` in the allowed ops would accept it."""
        return self.kind.allowable and bool(self.op_type)

    @property
    def where(self) -> str:
        if self.kind is Kind.FILE:
            return f'file {self.node_name!r} of the SavedModel'
        place = f'node {self.node_name!r} in {describe_tags(self.tags)}'
        if self.function:
            place += f', function {self.function!r}'
        return place

    def __str__(self) -> str:
        subject = self.subject or self.op_type
        expected = f'; expected {self.expected}' if self.expected else ''
        return f'{subject} ({self.where}): {self.reason}{expected}'


# Kept for callers of the denylist scan, whose findings were `UnsafeOp`s.
UnsafeOp = Finding
