-- The Bulk query's CSV pages as _mirror_batch, every column text (Bulk CSVs quote every value).
-- $1 the files, $2 {column: 'VARCHAR'} in the pages' order.
CREATE OR REPLACE TEMP TABLE _mirror_batch AS
SELECT * FROM read_csv($1, header = true, columns = $2, auto_detect = false, quote = '"',
                       escape = '"')
