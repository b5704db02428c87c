"""A stand-in for a user's project: the code an image built on kasset's carries."""
