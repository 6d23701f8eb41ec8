"""One benchmark run per process: each module measures one case once and prints a JSON line."""
