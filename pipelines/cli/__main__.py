"""`python -m pipelines.cli`, as `sme`."""

from pipelines.cli import main

main()
