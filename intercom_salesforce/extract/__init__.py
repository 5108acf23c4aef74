"""What the extraction reads from Intercom, as data: the entity table (``entities``).

Nothing here imports Dagster or the assets, so the warehouse and the mapping can read the table
without reaching up into the asset layer.
"""
