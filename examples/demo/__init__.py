"""A demo of the litellm instrumentation: a mock litellm app traced into a local MLflow server
or the console. Not part of the installed package; run it with ``bash scripts/dev.sh demo``.

- ``app``: the litellm app (no API key: ``mock_response``).
- ``mlflow_server``: starts and stops a local ``mlflow server``.
- ``progress``: the status line shown while MLflow starts.
- ``__main__``: the command line.
"""
