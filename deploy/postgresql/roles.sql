-- PostgreSQL roles for LGSP Gateway: an exchange log the application cannot rewrite.
--
-- Two roles (issue 17, "No silent resealing"):
--   lgsp_owner  owns the tables; runs the migrations (`lgsp db upgrade`, the Helm chart's
--               migration Job) and nothing else.
--   lgsp_app    what `lgsp serve` and `lgsp worker` connect as, with LGSP_AUTO_MIGRATE=false:
--               reads and writes the gateway's ordinary tables; on the exchange log it may
--               only read, append and seal (UPDATE of seq, prev_hash, entry_hash: what
--               gateway.core.log.audit.seal_pending sets on rows that have none); the
--               checkpoints and their RFC 3161 anchors it may only read and append; the
--               migrations' own table (alembic_version) only read.
-- The triggers of migrations 0012 and 0013 refuse every change to a sealed entry, a checkpoint
-- or an anchor, whoever sends it; only the tables' owner (or a superuser) can drop or disable
-- them, and doing so is a DDL statement in PostgreSQL's log (log_statement = 'ddl'). lgsp_app
-- owns nothing, is no superuser, cannot create objects, and cannot set
-- session_replication_role: it cannot switch them off. The grants below are a second wall:
-- lgsp_app is refused an UPDATE of an entry's content or a DELETE even before a trigger runs,
-- and no role but the owner gets TRUNCATE, REFERENCES or TRIGGER on any table.
--
-- How to run it: as a superuser, in the gateway's database, in one transaction (the file has
-- its own BEGIN and COMMIT: other sessions never see a half-applied set of grants):
--   psql -v ON_ERROR_STOP=1 -d lgsp -f deploy/postgresql/roles.sql    # 1. roles, schema
--   LGSP_DATABASE_URL=postgresql+asyncpg://lgsp_owner:...@db/lgsp lgsp db upgrade   # 2.
--   psql -v ON_ERROR_STOP=1 -d lgsp -f deploy/postgresql/roles.sql    # 3. the tables' grants
-- It is idempotent: run it again after every `lgsp db upgrade` (step 3). Tables a migration
-- adds get the ordinary grants at once (the default privileges below), which is right for an
-- ordinary table; a table of the exchange log must be listed here, and is protected by its
-- own triggers in the meantime. Passwords (or certificates) are given outside this file:
--   ALTER ROLE lgsp_owner PASSWORD '...';  ALTER ROLE lgsp_app PASSWORD '...';
-- Other names: replace lgsp_owner and lgsp_app throughout (tests/audit/test_pg_roles.py does).

BEGIN;

-- --- the roles ------------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lgsp_owner') THEN
        CREATE ROLE lgsp_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lgsp_app') THEN
        CREATE ROLE lgsp_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;
    -- lgsp_app must hold none of the owner's powers: no membership, no table of its own (a
    -- gateway that ran as one role before: ALTER TABLE ... OWNER TO lgsp_owner first)
    IF pg_has_role('lgsp_app', 'lgsp_owner', 'MEMBER') THEN
        RAISE EXCEPTION 'lgsp_app is a member of lgsp_owner: revoke that membership first';
    END IF;
    IF EXISTS (SELECT FROM pg_class WHERE relowner = 'lgsp_app'::regrole
               AND relnamespace = 'public'::regnamespace) THEN
        RAISE EXCEPTION 'lgsp_app owns tables in schema public: give them to lgsp_owner first';
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO lgsp_owner, lgsp_app', current_database());
END
$$;

-- --- the schema: only the owner creates in it -----------------------------------------------

-- PostgreSQL 14 and older let every role create in "public" (CVE-2018-1058); 15 no longer does
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO lgsp_owner;
GRANT USAGE ON SCHEMA public TO lgsp_app;
REVOKE CREATE ON SCHEMA public FROM lgsp_app;

-- --- tables the owner creates from now on (the migrations): the ordinary grants ---------------

ALTER DEFAULT PRIVILEGES FOR ROLE lgsp_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lgsp_app;
ALTER DEFAULT PRIVILEGES FOR ROLE lgsp_owner IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO lgsp_app;

-- --- the tables there are ---------------------------------------------------------------------

-- Every table of the schema: the core's (gateway/core/store/db.py: api_clients, attempt_links,
-- outbox, idempotency_keys, event_subscriptions, maintenance_windows, events, event_cursors)
-- and the connectors' (connectors/*/tables.py: portal_dossiers, portal_attachments,
-- portal_items, payments, payment_transitions, refunds, esign_signatures, officers,
-- officer_events, governance_alerts, shipments, shipment_events), whatever a later migration
-- adds; the exchange log's tables and alembic_version are narrowed again just below.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lgsp_app;
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM lgsp_app;
-- the ids (bigserial): nextval on INSERT
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO lgsp_app;

-- The exchange log and the migrations' table, where they exist (before the first
-- `lgsp db upgrade` there is nothing yet: step 3 above does it).
DO $$
BEGIN
    IF to_regclass('public.alembic_version') IS NOT NULL THEN
        REVOKE ALL ON alembic_version FROM lgsp_app;
        GRANT SELECT ON alembic_version TO lgsp_app;
    END IF;
    -- the entries: read, append, seal. A table-level REVOKE takes the column grants with it,
    -- so the sealer's columns are granted again after it.
    IF to_regclass('public.exchange_entries') IS NOT NULL THEN
        REVOKE ALL ON exchange_entries FROM lgsp_app;
        GRANT SELECT, INSERT ON exchange_entries TO lgsp_app;
        GRANT UPDATE (seq, prev_hash, entry_hash) ON exchange_entries TO lgsp_app;
    END IF;
    -- the signed checkpoints (migration 0012) and their RFC 3161 anchors (0013): append-only
    IF to_regclass('public.checkpoints') IS NOT NULL THEN
        REVOKE ALL ON checkpoints FROM lgsp_app;
        GRANT SELECT, INSERT ON checkpoints TO lgsp_app;
    END IF;
    IF to_regclass('public.checkpoint_anchors') IS NOT NULL THEN
        REVOKE ALL ON checkpoint_anchors FROM lgsp_app;
        GRANT SELECT, INSERT ON checkpoint_anchors TO lgsp_app;
    END IF;
    IF to_regclass('public.exchange_entries') IS NULL THEN
        RAISE NOTICE 'no tables yet: run `lgsp db upgrade` as lgsp_owner, then this file again';
    END IF;
END
$$;

COMMIT;
