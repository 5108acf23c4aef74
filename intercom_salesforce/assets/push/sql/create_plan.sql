-- A push's plan while its transaction is open: one row per record and action.
-- {plan} the plan's temp table.
CREATE OR REPLACE TEMP TABLE {plan} (
    sobject     VARCHAR NOT NULL,
    external_id VARCHAR NOT NULL,
    sf_id       VARCHAR,
    action      VARCHAR NOT NULL,
    changes     STRUCT(field VARCHAR, old_value VARCHAR, new_value VARCHAR)[],
    detail      VARCHAR
)
