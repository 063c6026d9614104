from retrieval.encoders import spec_from_settings


def encoder_status(request) -> dict:
    """Every page knows whether the encoder has random weights (the storefront shows a banner)."""
    spec = spec_from_settings()
    return {
        "encoder_random_weights": spec.random_weights,
        "encoder_architecture": spec.architecture,
    }
