-- highwater schema, version 4 (PostgreSQL): a server's daily digest.

-- The Discord channel a daily digest goes to (`/alerts digest on`); NULL: no digest.
ALTER TABLE servers ADD COLUMN digest_channel TEXT;
