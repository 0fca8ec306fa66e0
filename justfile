# The one menu. The README's two commands (scripts/run, scripts/test) work without `just`.

# Build, provision PostgreSQL, migrate, seed and serve on :8080.
run:
    scripts/run

# Every test, against a real PostgreSQL.
test *args:
    scripts/test {{args}}

# Format and lint gates, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
    cargo fmt --all

# Criterion benchmarks, then the inbound-webhook load benchmark against pgbench (options go to it).
bench *args:
    cargo bench -p domain --bench closure
    cargo bench -p adapters-twilio --bench signature
    scripts/bench-webhook {{args}}

# The API tour, against a running service (`just run` in another terminal).
examples:
    scripts/examples.sh

# Apply migrations to DATABASE_URL (or a private cluster).
migrate:
    cargo build --locked -p app-http --bin conversa
    scripts/with-db target/debug/conversa migrate

# Seed demo data.
seed:
    cargo build --locked -p app-http --bin conversa
    scripts/with-db target/debug/conversa seed

# Container image (needs a Docker engine).
docker-build:
    docker build -f docker/Dockerfile -t conversa .

# PostgreSQL + API + pgAdmin (needs a Docker engine and a .env).
docker-up:
    docker compose -f docker/docker-compose.yml --env-file .env up --build
