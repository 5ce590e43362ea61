# The official MLflow image has no PostgreSQL driver; the tracking server needs
# one to use the postgres service as its backend store (a file store cannot
# ingest OTLP traces).
FROM ghcr.io/mlflow/mlflow:v3.17.2

RUN pip install --no-cache-dir psycopg2-binary
