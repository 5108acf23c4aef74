"""The asset graph, one folder per stage in the order data moves:
extract (Intercom -> DuckDB staging) -> quality (GX gates) -> mirror (Salesforce keys) ->
match (identity resolution) -> push (Bulk API 2.0 upserts)."""
