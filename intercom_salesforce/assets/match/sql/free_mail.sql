-- The free-mail/ISP domains (free_mail_domains.txt) as the temp table _free_mail(domain), which
-- the match rules never match on. $1 the domains (a list).
CREATE OR REPLACE TEMP TABLE _free_mail AS SELECT DISTINCT unnest($1::VARCHAR[]) AS domain
