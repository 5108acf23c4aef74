"""Stage: match."""
