-- Run once, when the PostgreSQL volume is first initialised: one database per service, owned
-- by POSTGRES_USER. Each service creates its own tables with its migrations.
CREATE DATABASE auth;
CREATE DATABASE tasks;
