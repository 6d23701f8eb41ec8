"""The package layout (and a setup file for Beam runners that want one: Dataflow --setup_file).

The repository keeps the design's top-level folders `components/`, `pipelines/` and `schemas/`;
installed, they live under the project's own name, `savedmodel_estimator_tfx`, so nothing generic
lands in a user's site-packages (a TFX project's own `components` or `pipelines` stay theirs).
The TF-only core installs as `savedmodel_estimator`.
"""

from setuptools import find_packages, setup

NAMESPACE = 'savedmodel_estimator_tfx'
FOLDERS = ('components', 'pipelines', 'schemas')

packages = find_packages(include=['savedmodel_estimator', 'savedmodel_estimator.*'])
package_dir = {}
for folder in FOLDERS:
    package_dir[f'{NAMESPACE}.{folder}'] = folder
    packages += [f'{NAMESPACE}.{name}' for name in find_packages(include=[folder, f'{folder}.*'])]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={f'{NAMESPACE}.schemas': ['*.schema.json']},
)
