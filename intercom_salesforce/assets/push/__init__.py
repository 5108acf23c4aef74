"""Stage: push."""
