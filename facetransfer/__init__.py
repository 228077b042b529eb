"""facetransfer: a CelebA attribute CNN, transferred to recognise one person from a few photos."""

__version__ = "0.1.0"
