"""ModelMigrator: an Estimator export's Model artifact into a TF2-native, trainable Model."""

from savedmodel_estimator_tfx.components.model_migrator.component import ModelMigrator

__all__ = ['ModelMigrator']
