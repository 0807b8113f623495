"""MIRROR STAGE twin service: the live state of every host, pushed to browsers."""
