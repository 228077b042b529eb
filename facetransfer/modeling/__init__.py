"""The modeling stage: networks, precision, fit (callbacks, resume), checkpoints, attribute
training (one device or a `tf.distribute` strategy), transfer, predict and export."""
