-- The notifications table's columns (none before the file has one).
SELECT name FROM pragma_table_info('notifications')
