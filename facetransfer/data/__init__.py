"""The data stage: CelebA's label files, reading photos, face detection and alignment, the user's
photo folders, near-duplicates, the uint8 image cache and the tf.data pipeline."""
