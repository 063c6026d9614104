from django.core import checks

from retrieval.encoders import spec_from_settings


@checks.register()
def encoder_profile_check(app_configs, **kwargs):
    try:
        spec = spec_from_settings()
    except ValueError as err:
        return [checks.Error(str(err), id="fidelis.E001")]
    if spec.random_weights:
        return [
            checks.Warning(
                f"Encoder {spec.architecture} runs with RANDOM weights: search results are not "
                "meaningful for quality.",
                hint="Set FIDELIS_ENCODER and FIDELIS_ENCODER_WEIGHTS to use real CLIP weights.",
                id="fidelis.W001",
            )
        ]
    return []
