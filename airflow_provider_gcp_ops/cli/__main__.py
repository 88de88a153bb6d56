"""``python -m airflow_provider_gcp_ops.cli``: the same as the ``gcp-operations`` console script."""

from airflow_provider_gcp_ops.cli.main import main

raise SystemExit(main())
