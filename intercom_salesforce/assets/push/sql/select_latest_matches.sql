-- Each record's newest match in the window from the match table {table}.
-- $1 first day, $2 last day.
SELECT {id} AS id, arg_max(rule, partition_date) AS rule,
       arg_max({sf_object}, partition_date) AS sf_object,
       arg_max({sf_id}, partition_date) AS sf_id,
       arg_max({account_id}, partition_date) AS account_id
FROM {table} WHERE partition_date BETWEEN $1 AND $2
GROUP BY 1
