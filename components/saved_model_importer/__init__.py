"""SavedModelImporter: brings an exported SavedModel into a pipeline as a `Model` artifact."""

from savedmodel_estimator_tfx.components.saved_model_importer.component import SavedModelImporter

__all__ = ['SavedModelImporter']
