"""The one error type of the mapping package, so callers catch a single class."""

from __future__ import annotations


class MappingError(ValueError):
    """A mapping file that cannot be used; ``problems`` holds one line per problem.

    Each problem reads ``<file>:<line>: <field path>: <message>`` so it can be fixed without
    searching the file.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))
