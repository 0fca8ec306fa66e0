# The one menu (`just` lists it). The README's two commands, scripts/run and scripts/test, work
# without `just`; every recipe here is a short line you can also type yourself.

# List the recipes.
default:
    @{{just_executable()}} --list --unsorted --justfile {{justfile()}}

# Build, provision PostgreSQL, migrate, seed and serve on :8080 (scripts/run).
run:
    scripts/run

# Every test, against a real PostgreSQL (scripts/test; arguments go to `cargo test`).
test *args:
    scripts/test {{args}}

# Format and lint gates, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# (Arguments go to scripts/bench-webhook: `just bench --help`, `just bench --no-peer`.)
# Criterion benchmarks, then the inbound-webhook load benchmark: Conversa, the FastAPI peer, pgbench's limit.
bench *args:
    cargo bench --locked -p domain --bench closure
    cargo bench --locked -p adapters-twilio --bench signature
    scripts/bench-webhook {{args}}

# The API tour against a running service (`just run` in another terminal).
examples:
    scripts/examples.sh

# (The database `just run` uses: `conversa` on DATABASE_URL's server, else on .data/pg.)
# Apply pending migrations as the schema owner.
migrate: build
    scripts/with-db {{just_executable()}} --justfile {{justfile()}} _in-conversa-db target/release/conversa migrate

# (Same database and token encryption key as `just run`; prints the demo API key if new.)
# Create the demo data unless it exists.
seed: build
    scripts/with-db {{just_executable()}} --justfile {{justfile()}} _in-conversa-db target/release/conversa seed

# The release binary `run`, `migrate` and `seed` use.
build:
    cargo build --locked --release -p app-http --bin conversa

# Container image (needs a Docker engine).
docker-build:
    docker build -f docker/Dockerfile -t conversa .

# (Needs a Docker engine and a .env: copy .env.example, fill in the passwords and the key.)
# PostgreSQL, migrations, the API on :8080 and pgAdmin on :5050 (docker/README.md).
docker-up:
    docker compose -f docker/docker-compose.yml --env-file .env up --build

# Stop the containers (the data stays in the named volumes).
docker-down:
    docker compose -f docker/docker-compose.yml --env-file .env down

# Runs a command inside scripts/with-db against the database scripts/run uses: `conversa` on the
# same server (created when DATABASE_URL names the maintenance database `postgres`), with the
# development token encryption key of .data/ unless CONVERSA_TOKEN_ENCRYPTION_KEY is set.
_in-conversa-db +command:
    #!/usr/bin/env bash
    set -euo pipefail
    : "${DATABASE_URL:?run through scripts/with-db}"
    if [ "$(psql "$DATABASE_URL" -Atqc 'select current_database()')" = postgres ]; then
        exists=$(psql "$DATABASE_URL" -Atqc "select 1 from pg_database where datname = 'conversa'")
        [ "$exists" = 1 ] || psql "$DATABASE_URL" -qc 'create database conversa'
        export DATABASE_URL="${DATABASE_URL%/postgres}/conversa"
    fi
    if [ -z "${CONVERSA_TOKEN_ENCRYPTION_KEY:-}" ]; then
        key_file=.data/token-encryption-key
        mkdir -p .data
        [ -s "$key_file" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$key_file"
        CONVERSA_TOKEN_ENCRYPTION_KEY=$(cat "$key_file")
        export CONVERSA_TOKEN_ENCRYPTION_KEY
    fi
    exec {{command}}
