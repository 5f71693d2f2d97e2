-- Run once, when the PostgreSQL volume is first initialised: one database per service, and one
-- for the front end's Better Auth tables, owned by POSTGRES_USER. Each creates its own tables
-- with its migrations.
CREATE DATABASE auth;
CREATE DATABASE tasks;
CREATE DATABASE frontend;
