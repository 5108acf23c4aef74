-- A job in the ledger as soon as Salesforce created it, before its data is uploaded.
-- $1 job id, $2 sObject, $3 operation, $4 key field, $5 CSV path, $6 rows, $7 bytes, $8 now,
-- $9 run id.
INSERT INTO sync.bulk_jobs (job_id, sobject, operation, external_id_field, csv_path,
                            rows_uploaded, bytes_uploaded, state, created_at, run_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'Open', $8, $9)
