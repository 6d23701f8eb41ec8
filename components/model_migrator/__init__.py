"""ModelMigrator: an Estimator export's Model artifact into a TF2-native, trainable Model."""

from components.model_migrator.component import ModelMigrator

__all__ = ['ModelMigrator']
