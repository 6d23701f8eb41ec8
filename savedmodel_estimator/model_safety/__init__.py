"""Refusing untrusted SavedModels by construction: what a model may run, checked before it runs.

A SavedModel built outside this project is data from a stranger: loading it runs its restore
op, its init ops and whatever they depend on, and serving it runs its graphs. The scan here
accepts a model only when every op it holds is one TensorFlow's reviewed table allows (an
allowlist, `op_policy`), its saver is exactly a saver (`saver_check`), its assets stay inside
the SavedModel (`assets`) and nothing is pinned to another process; every refusal names what,
where (MetaGraph tags, node, library function) and what was expected (`findings`).

* `scan.scan_saved_model`: the whole check, what `SavedModelImporter` and `sme inspect` run.
* `assets.asset_path`: the one place an asset's file name is joined to a SavedModel directory.

This package's `__init__` imports nothing, so `saved_model_reader` can use `assets` without an
import cycle; import the modules themselves.
"""
