"""The report stage: metrics beside their baselines, figures, Grad-CAM and TensorBoard logs."""
