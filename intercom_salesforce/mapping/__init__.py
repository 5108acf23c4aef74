"""Declarative Intercom -> Salesforce field mapping: one YAML file per deployment.

``load_mapping`` reads and checks the file, ``check_against_describe`` checks it against the
org at run start, and ``compile_select`` turns it into one DuckDB SELECT per Salesforce object.
The file format is documented in ``docs/mapping.md``.
"""

from .compile import compile_select, output_fields, review_fields, routing_references
from .errors import MappingError
from .loader import load_mapping, parse_mapping
from .model import FieldMapping, Mapping, ObjectMapping, ScopeRule
from .policies import field_policies
from .references import resolve_references
from .validate import check_against_describe

__all__ = [
    "FieldMapping",
    "Mapping",
    "MappingError",
    "ObjectMapping",
    "ScopeRule",
    "check_against_describe",
    "compile_select",
    "field_policies",
    "load_mapping",
    "output_fields",
    "parse_mapping",
    "resolve_references",
    "review_fields",
    "routing_references",
]
