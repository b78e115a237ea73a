-- PostgreSQL roles for LGSP Gateway: the exchange log the application cannot rewrite.
--
-- Two roles (issue 17, "No silent resealing"):
--   lgsp_owner  owns the tables; runs the migrations (`lgsp db upgrade`) and nothing else.
--   lgsp_app    what `lgsp serve` and `lgsp worker` connect as (LGSP_AUTO_MIGRATE=false):
--               reads and writes the gateway's tables, but on the exchange log only reads,
--               appends and seals (sets seq, prev_hash, entry_hash of rows that have none);
--               the checkpoints and their RFC 3161 anchors it may only read and append.
-- The triggers of migrations 0012 and 0013 refuse every change to a sealed entry, a checkpoint
-- or an anchor whoever sends it; only the tables' owner can drop them (and a dropped trigger is
-- a DDL statement in PostgreSQL's log). lgsp_app owns nothing, is no superuser, and cannot set
-- session_replication_role: it cannot switch them off.
--
-- Run it as a superuser (or the database's owner) in the gateway's database, after
-- `lgsp db upgrade` ran as lgsp_owner, and again after each upgrade that adds tables (it is
-- idempotent); give the roles their passwords (or certificates) outside this file:
--   psql -v ON_ERROR_STOP=1 -d lgsp -f deploy/postgresql/roles.sql
--   ALTER ROLE lgsp_app PASSWORD '...';

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lgsp_owner') THEN
        CREATE ROLE lgsp_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lgsp_app') THEN
        CREATE ROLE lgsp_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO lgsp_app', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO lgsp_app;
REVOKE CREATE ON SCHEMA public FROM lgsp_app;

-- the ordinary tables: read and write
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lgsp_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO lgsp_app;
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM lgsp_app;

-- the migrations are the owner's
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM lgsp_app;

-- the exchange log: read, append, seal; never change or delete
REVOKE UPDATE, DELETE ON exchange_entries, checkpoints FROM lgsp_app;
GRANT UPDATE (seq, prev_hash, entry_hash) ON exchange_entries TO lgsp_app;

DO $$
BEGIN
    IF to_regclass('public.checkpoint_anchors') IS NOT NULL THEN
        REVOKE UPDATE, DELETE ON checkpoint_anchors FROM lgsp_app;
    END IF;
END
$$;

-- tables the owner creates in later migrations: the ordinary grants (run this file again
-- after an upgrade: a new table of the exchange log would need its own lines above)
ALTER DEFAULT PRIVILEGES FOR ROLE lgsp_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lgsp_app;
ALTER DEFAULT PRIVILEGES FOR ROLE lgsp_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO lgsp_app;
