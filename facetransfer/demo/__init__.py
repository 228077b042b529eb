"""The embedded default: drawn CelebA-format faces and a drawn person, so everything runs without
CelebA; and the choice between the user's real data and these (`sources`)."""
