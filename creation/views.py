"""Merchant create pages: a form, a job page with a live progress bar, private image files."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog.models import ProductImage
from creation import selectors, services
from creation.bounds import FIDELITY, MAX_PROMPT, NUM_IMAGES, SEED, STEPS
from creation.permissions import merchant_required
from creation.serving import generated_image_response


class CreateForm(forms.Form):
    prompt = forms.CharField(max_length=MAX_PROMPT, widget=forms.Textarea(attrs={"rows": 3}))
    negative_prompt = forms.CharField(max_length=MAX_PROMPT, required=False)
    seed = SEED.form_field(required=False)
    steps = STEPS.form_field(initial=20)
    num_images = NUM_IMAGES.form_field(label="Images", initial=1)
    source_image = forms.ModelChoiceField(
        queryset=ProductImage.objects.none(),
        required=False,
        label="Start from a product (optional)",
    )
    fidelity = FIDELITY.form_field(
        initial=0.7,
        required=False,
        widget=forms.NumberInput(attrs={"type": "range", "step": "0.05"}),
        help_text="1 keeps the product as it is; 0 ignores it.",
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_image"].queryset = ProductImage.objects.filter(
            product__merchant=merchant
        ).select_related("product")
        self.fields["source_image"].label_from_instance = lambda image: image.product.title


@merchant_required
def create_page(request, merchant):
    form = CreateForm(request.POST or None, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        if data.get("source_image") is None:
            data.pop("fidelity", None)
        elif data.get("fidelity", 0) >= 1:
            messages.info(request, "Fidelity 1 keeps the real product itself: nothing generated.")
            return redirect(request.path)
        try:
            job = services.create_job_submit(
                merchant=merchant, user=request.user, request=services.CreateRequest(**data)
            )
        except (ValidationError, services.QuotaExceeded) as err:
            form.add_error(None, err.messages[0] if hasattr(err, "messages") else str(err))
        else:
            return redirect("creation:job", pk=job.pk)
    jobs = selectors.create_jobs_of(merchant=merchant)[:10]
    return render(request, "creation/create.html", {"form": form, "jobs": jobs})


@merchant_required
def job_page(request, merchant, pk: int):
    job = selectors.create_job_get(merchant=merchant, pk=pk)
    context = {
        "job": job,
        "concepts": selectors.job_concepts(job=job),
        "boards": selectors.boards_of(merchant=merchant),
    }
    return render(request, "creation/job.html", context)


@require_POST
@merchant_required
def job_cancel(request, merchant, pk: int):
    job = selectors.create_job_get(merchant=merchant, pk=pk)
    try:
        services.create_job_cancel(job=job)
    except ValidationError as err:
        messages.info(request, err.messages[0])
    return redirect("creation:job", pk=pk)


@merchant_required
def image_file(request, merchant, pk: int):
    """A generated image, only for its own merchant: never a public media URL."""
    return generated_image_response(selectors.concept_get(merchant=merchant, pk=pk))
