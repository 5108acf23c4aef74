"""Stage: mirror."""
