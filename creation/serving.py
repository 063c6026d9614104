"""Generated images leave the server only here: private, for their own merchant."""

from django.http import FileResponse

from catalog.models import GeneratedImage


def generated_image_response(image: GeneratedImage) -> FileResponse:
    response = FileResponse(image.file.open("rb"), content_type="image/png")
    # The merchant's browser may cache it; shared caches and CDNs must not.
    response["Cache-Control"] = "private, max-age=3600"
    return response
