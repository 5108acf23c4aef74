-- The rows of an uploaded CSV ({csv}) with the Intercom id each key stands for ({keys}).
SELECT c.*, k.ext
FROM read_csv({csv}, header=true, all_varchar=true, hive_partitioning=false) c
JOIN read_parquet({keys}) k ON k.key = c.{key}
