"""Thin, typed clients for the services the pipeline talks to: Intercom, Salesforce, DuckDB."""
